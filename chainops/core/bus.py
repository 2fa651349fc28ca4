"""The typed publish/subscribe bus for operation events.

``EventBus.track(op)`` publishes the events of every change of ``op`` (see
``events.py``) as they happen.

Consumers either register a sync callback (``subscribe``; called in the
publisher's thread, must be quick) or iterate a bounded async stream
(``stream``). Subscribing to a base class receives its subclasses: ``Event``
gets everything, ``OrderEvent`` every order event, ``OrderUpdated`` also
``OrderOpened`` and ``OrderCancelRequested``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from chainops.core.events import Event, event_for, events_for
from chainops.core.history import HistoryEntry
from chainops.core.operation import Operation

__all__ = ["EventBus", "EventStream", "Subscription"]

log = logging.getLogger("chainops.events")


E = TypeVar("E", bound=Event)


class Subscription:
    """Handle returned by :meth:`EventBus.subscribe`; call it (or ``cancel``) to stop."""

    def __init__(self, bus: EventBus, event_type: type[Event], callback: Callable[[Any], object]):
        self._bus = bus
        self.event_type = event_type
        self.callback = callback

    @property
    def active(self) -> bool:
        """True until cancelled."""
        return self._bus._has(self)

    def cancel(self) -> None:
        """Stop delivery (idempotent)."""
        self._bus._remove(self)

    __call__ = cancel

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()


class EventStream(Generic[E]):
    """Async iterator over the events of one type, fed by :meth:`EventBus.stream`.

    The buffer holds at most ``maxsize`` events. When a slow consumer lets it
    fill up, the **oldest** event is discarded, ``dropped`` counts the loss
    and a warning is logged: publishers never block, so one slow consumer
    cannot stall the operators. Current state is always on the operations.
    """

    def __init__(self, bus: EventBus, event_type: type[E], maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self._loop = asyncio.get_running_loop()
        self._buffer: deque[E] = deque()
        self._maxsize = maxsize
        self._ready = asyncio.Event()
        self._closed = False
        self.dropped = 0
        self._subscription = bus.subscribe(event_type, self._push)

    def _push(self, event: E) -> None:
        try:
            same_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            same_loop = False
        if same_loop:
            self._put(event)
            return
        try:
            self._loop.call_soon_threadsafe(self._put, event)
        except RuntimeError:  # the consumer's loop is gone
            self._subscription.cancel()

    def _put(self, event: E) -> None:
        if self._closed:
            return
        if len(self._buffer) >= self._maxsize:
            self._buffer.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("event stream overflow: %d dropped (slow consumer)", self.dropped)
        self._buffer.append(event)
        self._ready.set()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> E:
        while not self._buffer:
            if self._closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        return self._buffer.popleft()

    def close(self) -> None:
        """Stop receiving; buffered events can still be read, then iteration ends."""
        self._subscription.cancel()
        self._closed = True
        try:
            same_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            same_loop = False
        if same_loop:
            self._ready.set()
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._ready.set)

    async def aclose(self) -> None:
        """Async spelling of :meth:`close`."""
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class EventBus:
    """Typed publish/subscribe. Thread-safe; delivery order is subscription order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: list[Subscription] = []
        self._streams: list[EventStream[Any]] = []
        # The one listener of every tracked operation: no closure per operation.
        self._listener = self._on_change

    def subscribe(self, event_type: type[E], callback: Callable[[E], object]) -> Subscription:
        """Call ``callback(event)`` for every published ``event_type`` (or subclass).

        Callbacks run synchronously in the publisher's thread; one that raises
        is logged and the others still run.
        """
        if inspect.iscoroutinefunction(callback):
            raise TypeError("callbacks are synchronous; use EventBus.stream() in async code")
        sub = Subscription(self, event_type, callback)
        with self._lock:
            self._subscriptions.append(sub)
        return sub

    def stream(self, event_type: type[E], *, maxsize: int = 1024) -> EventStream[E]:
        """An async iterator of ``event_type`` events, starting now (needs a running loop).

        Use ``async with bus.stream(T) as events: async for ev in events: ...``
        so that the subscription ends with the block.
        """
        stream = EventStream(self, event_type, maxsize)
        with self._lock:
            self._streams.append(stream)
        return stream

    def publish(self, event: Event) -> None:
        """Deliver ``event`` to every matching subscriber."""
        with self._lock:
            targets = [s for s in self._subscriptions if isinstance(event, s.event_type)]
        for sub in targets:
            try:
                sub.callback(event)
            except Exception:  # one broken subscriber must not starve the others
                log.exception("subscriber %r failed on %s", sub.callback, type(event).__name__)

    def track(self, operation: Operation[Any], *, announce: bool = True) -> Callable[[], None]:
        """Publish the events of every future change of ``operation``; returns a remover.

        With ``announce``, an operation still in its initial state also gets
        its Created event now (built only if someone subscribes: nobody else sees it).
        """
        if announce and self._subscriptions and operation.state is operation.machine.initial:
            self.publish(event_for(operation, None, operation.state, at=operation.created_at))
        return operation.add_listener(self._listener)

    def _on_change(self, operation: Operation[Any], entry: HistoryEntry) -> None:
        if not self._subscriptions:
            return  # nobody listens: building the events would be wasted work
        for event in events_for(operation, entry):
            self.publish(event)

    def close(self) -> None:
        """End every stream (their iterators finish after the buffered events)."""
        with self._lock:
            streams, self._streams = self._streams, []
        for stream in streams:
            stream.close()

    def _has(self, sub: Subscription) -> bool:
        with self._lock:
            return sub in self._subscriptions

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subscriptions:
                self._subscriptions.remove(sub)
