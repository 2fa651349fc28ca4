"""Many timeouts, one loop timer: the deadlines of thousands of concurrent waits.

A burst of a thousand ``tx.wait(timeout=...)`` calls, each with a timer of its
own, pays for a thousand ``TimerHandle`` objects pushed into the loop's heap
(compared in Python on asyncio's default loop) and cancelled a moment later,
when the transactions confirm. Here every deadline is a ``(when, ticket)`` tuple
in one heap (compared in C; a float and an int, which the collector does not
track), its item sits in a dict under the ticket until it runs or is cancelled,
and the loop holds one timer, for the earliest of them. Every deadline of one
:class:`Deadlines` runs the same callback: the waits it serves all time out alike.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from typing import Any

# A timer may fire this early (uvloop counts in milliseconds): a deadline that close is due.
_SLACK = 1e-3
# Cancelled entries are dropped in one pass once they are this many and half of the heap.
_COMPACT_AT = 256


class Deadlines:
    """Calls ``callback(item)`` at loop time ``when``, for many deadlines on one timer."""

    def __init__(self, callback: Callable[[Any], object]) -> None:
        self._callback = callback
        self._heap: list[tuple[float, int]] = []
        self._items: dict[int, Any] = {}  # ticket -> item, while the deadline is live
        self._order = itertools.count()  # ties run in the order they were added
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._cancelled = 0  # heap entries whose ticket was cancelled

    def __len__(self) -> int:
        return len(self._items)

    def call_at(self, when: float, item: Any) -> int:
        """Schedule ``callback(item)`` at ``when`` (the running loop's ``time()``); the
        ticket returned cancels it."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop: what was scheduled on the old one is moot
            self._reset(loop)
        ticket = next(self._order)
        self._items[ticket] = item
        heapq.heappush(self._heap, (when, ticket))
        if self._timer is None or when < self._timer_at:
            self._arm(when)
        return ticket

    def pending(self, ticket: int) -> bool:
        """Whether ``ticket``'s deadline has neither run nor been cancelled."""
        return ticket in self._items

    def cancel(self, ticket: int) -> None:
        """Drop ``ticket``'s deadline (a no-op once it ran or was cancelled); its item
        is let go at once."""
        if self._items.pop(ticket, _GONE) is _GONE:
            return
        self._cancelled += 1
        heap = self._heap
        if self._cancelled >= _COMPACT_AT and 2 * self._cancelled >= len(heap):
            items = self._items
            self._heap = [entry for entry in heap if entry[1] in items]
            heapq.heapify(self._heap)
            self._cancelled = 0
        if not self._items and self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._heap.clear()
            self._cancelled = 0

    def _reset(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None and not self._timer.cancelled():
            self._timer.cancel()
        self._loop = loop
        self._timer = None
        self._heap = []
        self._items = {}
        self._cancelled = 0

    def _arm(self, when: float) -> None:
        assert self._loop is not None
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        self._timer = self._loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._timer = None
        assert self._loop is not None
        now = self._loop.time() + _SLACK
        heap, items = self._heap, self._items
        due: list[Any] = []
        while heap and heap[0][0] <= now:
            item = items.pop(heapq.heappop(heap)[1], _GONE)
            if item is _GONE:
                self._cancelled -= 1
            else:
                due.append(item)
        while heap and heap[0][1] not in items:  # the next timer is for a live deadline
            heapq.heappop(heap)
            self._cancelled -= 1
        if heap:
            self._arm(heap[0][0])
        callback = self._callback
        for item in due:  # after re-arming: a callback may add or cancel deadlines
            try:
                callback(item)
            except Exception as exc:  # one failing callback must not stop the others
                self._loop.call_exception_handler(
                    {"message": "deadline callback failed", "exception": exc}
                )


_GONE = object()  # a ticket no longer live (ran, or cancelled)
