"""The events published for operations, and which change stands for which event.

Every change of an operation maps to events (:func:`events_for`): one per
state transition (:func:`event_for`), one per new fill, one per signed or
broadcast attempt. A state event class names the state it ``enters``; the
state -> event tables are derived from the classes. The bus that delivers
them is in ``bus.py``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from chainops.core.attempt import TxAttempt
from chainops.core.history import Change, ErrorInfo, HistoryEntry, utcnow
from chainops.core.ids import ClientId
from chainops.core.operation import Operation
from chainops.core.order import Fill, Order, OrderState
from chainops.core.transaction import TX_STATES, Transaction, TxState

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
    "event_for",
    "events_for",
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
    enters: ClassVar[OrderState | None] = None  # the state this event stands for, if one

    @property
    def operation(self) -> Order:
        return self.order


class OrderCreated(OrderEvent):
    """A new order exists locally (PENDING_CREATE): it is journalled, about to be sent."""

    enters = OrderState.PENDING_CREATE


class OrderUpdated(OrderEvent):
    """A non-final state change (e.g. -> PARTIALLY_FILLED)."""

    enters = OrderState.PARTIALLY_FILLED


class OrderOpened(OrderUpdated):
    """The venue accepted the order (-> OPEN)."""

    enters = OrderState.OPEN


class OrderCancelRequested(OrderUpdated):
    """A cancel was requested (-> PENDING_CANCEL)."""

    enters = OrderState.PENDING_CANCEL


@dataclass(frozen=True, kw_only=True)
class OrderFilled(OrderEvent):
    """A new fill was recorded (published once per fill id)."""

    fill: Fill


class OrderCompleted(OrderEvent):
    """Fully filled (-> FILLED)."""

    enters = OrderState.FILLED


class OrderCanceled(OrderEvent):
    """Canceled (-> CANCELED)."""

    enters = OrderState.CANCELED


class OrderFailed(OrderEvent):
    """Refused or failed without executing (-> FAILED); see ``error``."""

    enters = OrderState.FAILED


class OrderExpired(OrderEvent):
    """Expired by its time in force (-> EXPIRED)."""

    enters = OrderState.EXPIRED


class OrderUnknown(OrderEvent):
    """The outcome is not known (-> UNKNOWN): it must be reconciled."""

    enters = OrderState.UNKNOWN


@dataclass(frozen=True, kw_only=True)
class TxEvent(OperationEvent):
    """A transaction changed."""

    transaction: Transaction
    previous: TxState | None
    state: TxState
    enters: ClassVar[TxState | None] = None  # the state this event stands for, if one

    @property
    def operation(self) -> Transaction:
        return self.transaction


class TxCreated(TxEvent):
    """A new transaction exists locally (CREATED)."""

    enters = TxState.CREATED


class TxSigned(TxEvent):
    """The first attempt was signed and journalled (-> SIGNED)."""

    enters = TxState.SIGNED


class TxBroadcast(TxEvent):
    """Handed to the network (-> BROADCAST)."""

    enters = TxState.BROADCAST


class TxIncluded(TxEvent):
    """Mined in a block (-> INCLUDED)."""

    enters = TxState.INCLUDED


class TxConfirmed(TxEvent):
    """Enough confirmations (-> CONFIRMED)."""

    enters = TxState.CONFIRMED


class TxFinalized(TxEvent):
    """Final (-> FINALIZED)."""

    enters = TxState.FINALIZED


class TxReorged(TxEvent):
    """A reorg moved the transaction back (e.g. INCLUDED -> BROADCAST)."""


class TxReverted(TxEvent):
    """Mined and failed (-> REVERTED); ``error`` holds the reason."""

    enters = TxState.REVERTED


class TxReplaced(TxEvent):
    """Another transaction took the nonce (-> REPLACED)."""

    enters = TxState.REPLACED


class TxDropped(TxEvent):
    """Gone from the mempool (-> DROPPED)."""

    enters = TxState.DROPPED


class TxExpired(TxEvent):
    """The blockhash expired (-> EXPIRED)."""

    enters = TxState.EXPIRED


class TxRejected(TxEvent):
    """The network refused it (-> REJECTED)."""

    enters = TxState.REJECTED


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


_V = TypeVar("_V", OrderEvent, TxEvent)


def _by_state(base: type[_V], states: Iterable[Any]) -> dict[Any, type[_V]]:
    """State -> event class, from the classes' ``enters`` (each state named once)."""
    table: dict[Any, type[_V]] = {}
    pending: list[type[_V]] = list(base.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        state = cls.enters
        if state is not None:
            if state in table:
                raise TypeError(f"{cls.__name__} and {table[state].__name__} enter one state")
            table[state] = cls
    missing = set(states) - set(table)
    if missing:
        raise TypeError(f"no {base.__name__} enters {sorted(s.name for s in missing)}")
    return table


_ORDER_EVENTS: dict[OrderState, type[OrderEvent]] = _by_state(OrderEvent, OrderState)
_TX_EVENTS: dict[TxState, type[TxEvent]] = _by_state(TxEvent, TxState)


def event_for(
    operation: Operation[Any],
    previous: Any,
    state: Any,
    *,
    reason: str | None = None,
    at: datetime | None = None,
) -> OperationEvent:
    """The event for ``operation`` moving ``previous -> state`` (None: just created)."""
    if not isinstance(operation, Order | Transaction):
        raise TypeError(f"no events for {type(operation).__name__}")
    common: dict[str, Any] = {
        "client_id": operation.client_id,
        "platform": operation.platform,
        "reason": reason,
        "error": operation.error,
        "at": utcnow() if at is None else at,
    }
    if isinstance(operation, Order):
        target = OrderState(state)
        return _ORDER_EVENTS[target](
            order=operation,
            previous=None if previous is None else OrderState(previous),
            state=target,
            **common,
        )
    tx_target = TxState(state)
    tx_source = None if previous is None else TxState(previous)
    cls = _TX_EVENTS[tx_target]
    if tx_source is not None and TX_STATES.is_backwards(tx_source, tx_target):
        cls = TxReorged
    return cls(transaction=operation, previous=tx_source, state=tx_target, **common)


def events_for(operation: Operation[Any], entry: HistoryEntry) -> list[OperationEvent]:
    """The events that one history entry of ``operation`` stands for (maybe none)."""
    if entry.change is Change.CREATED:
        return [event_for(operation, None, entry.state, at=entry.at)]
    if entry.change is Change.TRANSITION:
        return [event_for(operation, entry.previous, entry.state, reason=entry.reason, at=entry.at)]
    common: dict[str, Any] = {
        "client_id": operation.client_id,
        "platform": operation.platform,
        "error": operation.error,
        "at": entry.at,
    }
    if isinstance(operation, Order) and entry.change is Change.FILL and entry.ref is not None:
        now = OrderState(entry.state)
        fill = operation.fills[entry.ref]
        return [OrderFilled(order=operation, previous=now, state=now, fill=fill, **common)]
    attempt_events: dict[Change, type[TxAttemptAdded | TxAttemptBroadcast | TxAttemptFailed]] = {
        Change.ATTEMPT: TxAttemptAdded,
        Change.BROADCAST: TxAttemptBroadcast,
        Change.ATTEMPT_ERROR: TxAttemptFailed,
    }
    cls = attempt_events.get(entry.change)
    if isinstance(operation, Transaction) and cls is not None and entry.ref is not None:
        tx_now = TxState(entry.state)
        attempt = operation.attempts[int(entry.ref)]
        return [
            cls(transaction=operation, previous=tx_now, state=tx_now, attempt=attempt, **common)
        ]
    return []  # venue id, receipt and fee changes are visible on the next state event
