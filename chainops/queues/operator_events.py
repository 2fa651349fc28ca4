"""An operator's events on a queue: the messages, and the forwarder from its ``EventBus``.

:class:`EventForwarder` subscribes to the in-process bus (orders, fills,
transactions, connector status) and publishes each event, in order, as a
message; after a fill or a finished order it also publishes the account's
balances when it was given a way to read them. Bus callbacks are synchronous,
so events are queued and one task publishes them, all that waits in one request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from chainops.core.bus import EventBus, Subscription
from chainops.core.events import Event, OrderEvent, OrderFilled, TxEvent
from chainops.core.order import Fill, Order
from chainops.operators.exchanges.market_events import ConnectorStatus as BusConnectorStatus
from chainops.operators.exchanges.types import Balance
from chainops.queues.actor import Publisher
from chainops.queues.errors import QueueUnavailable
from chainops.queues.message import Message, MessageCodec
from chainops.queues.transport import Transport

__all__ = [
    "BalancesChanged",
    "ConnectorStatus",
    "EventForwarder",
    "OrderEventMessage",
    "TxEventMessage",
    "message_for",
]

log = logging.getLogger(__name__)


class OrderEventMessage(Message, frozen=True):
    """An order event: its class name (``OrderFilled``, ``OrderCanceled``, ...) and the order."""

    event: str
    client_id: str
    platform: str
    state: str
    previous: str | None
    order: str  # Order.to_json() when the event was made
    fill: str | None = None  # Fill.to_dict() as JSON, for OrderFilled
    reason: str | None = None
    error: str | None = None  # the typed error's class name
    error_message: str | None = None

    def to_order(self) -> Order:
        return Order.from_json(self.order)

    def to_fill(self) -> Fill | None:
        return None if self.fill is None else Fill.from_dict(json.loads(self.fill))


class TxEventMessage(Message, frozen=True):
    """A transaction event: its class name (``TxBroadcast``, ``TxConfirmed``, ...)."""

    event: str
    client_id: str
    platform: str
    state: str
    previous: str | None
    tx_hash: str | None = None
    reason: str | None = None
    error: str | None = None
    error_message: str | None = None


class BalancesChanged(Message, frozen=True):
    """The account's free and locked amount per asset (decimal strings)."""

    platform: str
    balances: dict[str, tuple[str, str]]


class ConnectorStatus(Message, frozen=True):
    """A stream of the operator's venue connected, dropped or came back."""

    platform: str
    stream: str
    status: str


OperatorEvent = OrderEventMessage | TxEventMessage | BalancesChanged | ConnectorStatus
OPERATOR_EVENTS: MessageCodec[OperatorEvent] = MessageCodec(
    [OrderEventMessage, TxEventMessage, BalancesChanged, ConnectorStatus]
)


def balances_map(balances: Mapping[str, Balance]) -> dict[str, tuple[str, str]]:
    return {a: (str(b.free), str(b.locked)) for a, b in balances.items()}


def message_for(event: Event) -> Message | None:
    """The queue message for a bus event (None for events not forwarded)."""
    if isinstance(event, OrderEvent):
        err = event.error
        return OrderEventMessage(
            event=type(event).__name__,
            client_id=str(event.client_id),
            platform=event.platform,
            state=event.state.name,
            previous=None if event.previous is None else event.previous.name,
            order=event.order.to_json(),
            fill=json.dumps(event.fill.to_dict()) if isinstance(event, OrderFilled) else None,
            reason=event.reason,
            error=None if err is None else err.kind,
            error_message=None if err is None else err.message,
        )
    if isinstance(event, TxEvent):
        err = event.error
        tx_hash = event.transaction.hash
        return TxEventMessage(
            event=type(event).__name__,
            client_id=str(event.client_id),
            platform=event.platform,
            state=event.state.name,
            previous=None if event.previous is None else event.previous.name,
            tx_hash=None if tx_hash is None else str(tx_hash),
            reason=event.reason,
            error=None if err is None else err.kind,
            error_message=None if err is None else err.message,
        )
    if isinstance(event, BusConnectorStatus):
        return ConnectorStatus(platform=event.platform, stream=event.stream, status=event.status)
    return None


class EventForwarder:
    """Publishes an operator's bus events to ``stream`` until closed."""

    def __init__(
        self,
        bus: EventBus,
        transport: Transport,
        stream: str,
        *,
        codec: MessageCodec[Any] = OPERATOR_EVENTS,
        balances: Callable[[], Awaitable[Mapping[str, Balance]]] | None = None,
        platform: str = "",
    ) -> None:
        self._publisher = Publisher(transport, stream, codec)
        self._balances, self._platform = balances, platform
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._subs: list[Subscription] = [
            bus.subscribe(cls, self._on_event) for cls in (OrderEvent, TxEvent, BusConnectorStatus)
        ]
        self._task = asyncio.create_task(self._pump())
        self._balances_queued = 0
        self._closing = False
        self.published = 0

    def _on_event(self, event: Event) -> None:
        message = message_for(event)
        if message is None:
            return
        ends = isinstance(event, OrderFilled) or (
            isinstance(event, OrderEvent) and event.order.is_terminal
        )
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._put(message, ends)
        else:  # published from another thread
            self._loop.call_soon_threadsafe(self._put, message, ends)

    def _put(self, message: Message, ends: bool) -> None:
        self._queue.put_nowait(message)
        if ends and self._balances is not None:
            self._balances_queued += 1
            self._queue.put_nowait(_BALANCES)

    async def _pump(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():  # everything that waits goes out in one request
                batch.append(self._queue.get_nowait())
            try:
                await self._publish(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()
            if None in batch:
                return

    async def _publish(self, batch: list[Message | None]) -> None:
        messages: list[Message] = []
        for item in batch:
            if item is None:
                break
            if item is _BALANCES:
                self._balances_queued -= 1
                found = await self._balances_message()
                if found is not None:
                    messages.append(found)
            else:
                messages.append(item)
        if not messages:
            return
        delay = 0.1
        while True:
            try:
                await self._publisher.publish_many(messages)
                self.published += len(messages)
                return
            except QueueUnavailable as exc:
                if self._closing:
                    log.error("queue down while closing: %d events dropped: %s", len(messages), exc)
                    return
                # Kept and retried in order: a restarting server loses none of them.
                log.warning(
                    "queue down, retrying %d events in %.1f s: %s", len(messages), delay, exc
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            except Exception:  # a bug in one batch must not stop the ones after it
                log.exception("could not publish %d events", len(messages))
                return

    async def _balances_message(self) -> BalancesChanged | None:
        if self._balances is None or self._balances_queued > 0:
            return None  # a later balances read is queued: that one is fresher
        try:
            found = await self._balances()
        except Exception as exc:
            log.warning("balances not published: %s", exc)
            return None
        return BalancesChanged(platform=self._platform, balances=balances_map(found))

    async def flush(self) -> None:
        """Wait until every event queued so far has been published."""
        await self._queue.join()

    async def close(self) -> None:
        """Stop listening, publish what is queued, end the task."""
        for sub in self._subs:
            sub.cancel()
        self._closing = True
        self._queue.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class _Marker(Message, frozen=True):
    """Stands in the queue for 'read and publish the balances now'."""


_BALANCES = _Marker(id="balances")
