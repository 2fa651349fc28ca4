"""The event classes published for operations (see ``events`` for the bus)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chainops.core.ids import ClientId
from chainops.core.operation import Operation
from chainops.core.orders import Fill, Order, OrderState
from chainops.core.records import ErrorInfo, utcnow
from chainops.core.transactions import Transaction
from chainops.core.txtypes import TxAttempt, TxState

__all__ = [
    "Event",
    "OperationEvent",
    "OrderCancelRequested",
    "OrderCanceled",
    "OrderCompleted",
    "OrderCreated",
    "OrderEvent",
    "OrderExpired",
    "OrderFailed",
    "OrderFilled",
    "OrderOpened",
    "OrderUnknown",
    "OrderUpdated",
    "TxAttemptAdded",
    "TxAttemptBroadcast",
    "TxAttemptFailed",
    "TxBroadcast",
    "TxConfirmed",
    "TxCreated",
    "TxDropped",
    "TxEvent",
    "TxExpired",
    "TxFinalized",
    "TxIncluded",
    "TxRejected",
    "TxReorged",
    "TxReplaced",
    "TxReverted",
    "TxSigned",
]


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every event."""

    at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, kw_only=True)
class OperationEvent(Event, ABC):
    """Something happened to an operation.

    The scalar fields are the values when the event was made; ``operation``
    is the live object and may have moved on by the time a slow consumer
    looks at it.
    """

    client_id: ClientId
    platform: str
    reason: str | None = None
    error: ErrorInfo | None = None

    @property
    @abstractmethod
    def operation(self) -> Operation[Any]:
        """The operation concerned (live object)."""


@dataclass(frozen=True, kw_only=True)
class OrderEvent(OperationEvent):
    """An order changed."""

    order: Order
    previous: OrderState | None
    state: OrderState

    @property
    def operation(self) -> Order:
        return self.order


class OrderCreated(OrderEvent):
    """A new order exists locally (PENDING_CREATE): it is journalled, about to be sent."""


class OrderUpdated(OrderEvent):
    """A non-final state change (e.g. -> PARTIALLY_FILLED)."""


class OrderOpened(OrderUpdated):
    """The venue accepted the order (-> OPEN)."""


class OrderCancelRequested(OrderUpdated):
    """A cancel was requested (-> PENDING_CANCEL)."""


@dataclass(frozen=True, kw_only=True)
class OrderFilled(OrderEvent):
    """A new fill was recorded (published once per fill id)."""

    fill: Fill


class OrderCompleted(OrderEvent):
    """Fully filled (-> FILLED)."""


class OrderCanceled(OrderEvent):
    """Canceled (-> CANCELED)."""


class OrderFailed(OrderEvent):
    """Refused or failed without executing (-> FAILED); see ``error``."""


class OrderExpired(OrderEvent):
    """Expired by its time in force (-> EXPIRED)."""


class OrderUnknown(OrderEvent):
    """The outcome is not known (-> UNKNOWN): it must be reconciled."""


@dataclass(frozen=True, kw_only=True)
class TxEvent(OperationEvent):
    """A transaction changed."""

    transaction: Transaction
    previous: TxState | None
    state: TxState

    @property
    def operation(self) -> Transaction:
        return self.transaction


class TxCreated(TxEvent):
    """A new transaction exists locally (CREATED)."""


class TxSigned(TxEvent):
    """The first attempt was signed and journalled (-> SIGNED)."""


class TxBroadcast(TxEvent):
    """Handed to the network (-> BROADCAST)."""


class TxIncluded(TxEvent):
    """Mined in a block (-> INCLUDED)."""


class TxConfirmed(TxEvent):
    """Enough confirmations (-> CONFIRMED)."""


class TxFinalized(TxEvent):
    """Final (-> FINALIZED)."""


class TxReorged(TxEvent):
    """A reorg moved the transaction back (e.g. INCLUDED -> BROADCAST)."""


class TxReverted(TxEvent):
    """Mined and failed (-> REVERTED); ``error`` holds the reason."""


class TxReplaced(TxEvent):
    """Another transaction took the nonce (-> REPLACED)."""


class TxDropped(TxEvent):
    """Gone from the mempool (-> DROPPED)."""


class TxExpired(TxEvent):
    """The blockhash expired (-> EXPIRED)."""


class TxRejected(TxEvent):
    """The network refused it (-> REJECTED)."""


@dataclass(frozen=True, kw_only=True)
class TxAttemptAdded(TxEvent):
    """A new attempt was signed and journalled (first send, speed-up, cancel)."""

    attempt: TxAttempt


@dataclass(frozen=True, kw_only=True)
class TxAttemptBroadcast(TxEvent):
    """One attempt was handed to the network."""

    attempt: TxAttempt


@dataclass(frozen=True, kw_only=True)
class TxAttemptFailed(TxEvent):
    """One attempt was refused (the transaction may still succeed by another)."""

    attempt: TxAttempt
