"""Work put during one event-loop turn, flushed together: the basis of every batching here.

Concurrent coroutines each ``await queue.put(item)``; the first put schedules one
flush for the end of the turn, which hands all the items to one batch call (one
HTTP request, one SQLite transaction) and gives each caller its own result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

_Pending = tuple[Any, "asyncio.Future[Any]"]


def settle(future: asyncio.Future[Any], result: Any) -> None:
    """Hand a waiting caller its result (raised there if it is an exception);
    a caller that gave up (cancelled) is skipped."""
    if future.done():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


class TurnQueue:
    """Items put during one event-loop turn, flushed together by one batch call.

    ``flush`` receives every item queued since the last flush and returns one
    result per item (an exception instance fails that item's caller only).
    """

    def __init__(
        self, flush: Callable[[list[Any]], Awaitable[Sequence[Any]]], max_batch: int
    ) -> None:
        self._flush_batch = flush
        self._max = max_batch
        self._items: list[_Pending] = []
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    def put(self, item: Any) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._items.append((item, future))
        if not self._scheduled:
            self._scheduled = True
            # A task's first step runs on the next turn, after what this turn still does:
            # started here, not from a callback, the flush leaves one turn sooner.
            task = loop.create_task(self._flush())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return future

    async def _flush(self) -> None:
        self._scheduled = False
        pending, self._items = self._items, []
        for start in range(0, len(pending), self._max):
            chunk = pending[start : start + self._max]
            futures = [future for _, future in chunk]
            try:
                results = await self._flush_batch([item for item, _ in chunk])
            except asyncio.CancelledError:
                for future in futures:
                    future.cancel()
                raise
            except Exception as exc:  # the whole request failed: every caller learns why
                results = [exc] * len(chunk)
            else:
                if len(results) != len(chunk):
                    results = [RuntimeError("batch returned a wrong number of results")] * len(
                        chunk
                    )
            for future, result in zip(futures, results, strict=True):
                settle(future, result)

    async def drain(self) -> None:
        """Return once everything queued so far is flushed (also what waits for its turn)."""
        while self._tasks or self._items:
            if self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
            else:
                await asyncio.sleep(0)  # queued this turn: the flush is spawned on the next
