"""Many timeouts, one loop timer: the deadlines of thousands of concurrent waits.

A burst of a thousand ``tx.wait(timeout=...)`` calls, each with a timer of its
own, pays for a thousand ``TimerHandle`` objects pushed into the loop's heap
(compared in Python on asyncio's default loop) and cancelled a moment later,
when the transactions confirm. Here every deadline is a tuple in one heap
(compared in C) and the loop holds one timer, for the earliest of them.
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


class Deadline:
    """One scheduled call; :meth:`cancel` before it runs and it never does."""

    __slots__ = ("alive", "args", "callback")

    def __init__(self, callback: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.callback = callback
        self.args = args
        self.alive = True


class Deadlines:
    """Calls ``callback(*args)`` at loop time ``when``, for many deadlines on one timer."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()  # ties run in the order they were added
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._cancelled = 0

    def __len__(self) -> int:
        return len(self._heap) - self._cancelled

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any) -> Deadline:
        """Schedule ``callback(*args)`` at ``when`` (the running loop's ``time()``)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop: what was scheduled on the old one is moot
            self._reset(loop)
        entry = Deadline(callback, args)
        heapq.heappush(self._heap, (when, next(self._order), entry))
        if self._timer is None or when < self._timer_at:
            self._arm(when)
        return entry

    def cancel(self, entry: Deadline) -> None:
        """Drop ``entry`` (a no-op once it ran or was cancelled)."""
        if not entry.alive:
            return
        entry.alive = False
        entry.args = ()  # what it would have been called with is not held until it is dropped
        self._cancelled += 1
        heap = self._heap
        if self._cancelled >= _COMPACT_AT and 2 * self._cancelled >= len(heap):
            self._heap = [item for item in heap if item[2].alive]
            heapq.heapify(self._heap)
            self._cancelled = 0
        if not self._heap and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _reset(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None and not self._timer.cancelled():
            self._timer.cancel()
        self._loop = loop
        self._timer = None
        for _, _, entry in self._heap:
            entry.alive = False
        self._heap = []
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
        heap = self._heap
        due: list[Deadline] = []
        while heap and heap[0][0] <= now:
            entry = heapq.heappop(heap)[2]
            if entry.alive:
                entry.alive = False
                due.append(entry)
            else:
                self._cancelled -= 1
        while heap and not heap[0][2].alive:  # the next timer is for a live deadline
            heapq.heappop(heap)
            self._cancelled -= 1
        if heap:
            self._arm(heap[0][0])
        for entry in due:  # after re-arming: a callback may add or cancel deadlines
            try:
                entry.callback(*entry.args)
            except Exception as exc:  # one failing callback must not stop the others
                self._loop.call_exception_handler(
                    {"message": "deadline callback failed", "exception": exc}
                )
