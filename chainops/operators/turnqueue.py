"""Work put during one event-loop turn, flushed together: the basis of every batching here.

Concurrent coroutines each ``await queue.put(item)``; the first put schedules one
flush for the end of the turn, which hands all the items to one batch call (one
HTTP request, one SQLite transaction) and gives each caller its own result.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

log = logging.getLogger("chainops.operators")

Unawaited = Callable[[Any, BaseException], None]


class _Many:
    """The results of one put_many: one future for all its items, settled by the last."""

    __slots__ = ("future", "left", "results")

    def __init__(self, future: asyncio.Future[list[Any]], n: int) -> None:
        self.future = future
        self.results: list[Any] = [None] * n
        self.left = n

    def settle(self, index: int, result: Any) -> None:
        self.results[index] = result
        self.left -= 1
        if not self.left and not self.future.done():
            self.future.set_result(self.results)


# An item and who waits for it: a caller's future, a put_many's slot, or nobody.
_Pending = tuple[Any, "asyncio.Future[Any] | tuple[_Many, int] | None"]


def _log_unawaited(item: Any, error: BaseException) -> None:
    log.error("a queued item nobody waits for failed: %r", item, exc_info=error)


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
        self,
        flush: Callable[[list[Any]], Awaitable[Sequence[Any]]],
        max_batch: int,
        *,
        unawaited: Unawaited = _log_unawaited,
    ) -> None:
        self._flush_batch = flush
        self._max = max_batch
        self._unawaited = unawaited  # told of each failed put_nowait item
        self._items: list[_Pending] = []
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    def put(self, item: Any) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._items.append((item, future))
        self._schedule(loop)
        return future

    def put_many(self, items: Sequence[Any]) -> asyncio.Future[list[Any]]:
        """Queue several items with this turn's flush; one future gives all their results,
        in order, a failure as its exception object (as ``gather(return_exceptions=True)``
        would, without a future and a callback per item)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Any]] = loop.create_future()
        if not items:
            future.set_result([])
            return future
        many = _Many(future, len(items))
        self._items += [(item, (many, i)) for i, item in enumerate(items)]
        self._schedule(loop)
        return future

    def put_nowait(self, item: Any) -> None:
        """Queue ``item`` with this turn's flush, nobody waiting for its result.

        No future per item (nor its callback and its handle): a failure goes to the
        queue's ``unawaited`` function instead.
        """
        self._items.append((item, None))
        self._schedule(asyncio.get_running_loop())

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._scheduled:
            self._scheduled = True
            # A task's first step runs on the next turn, after what this turn still does:
            # started here, not from a callback, the flush leaves one turn sooner.
            task = loop.create_task(self._flush())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _flush(self) -> None:
        self._scheduled = False
        pending, self._items = self._items, []
        for start in range(0, len(pending), self._max):
            chunk = pending[start : start + self._max]
            try:
                results = await self._flush_batch([item for item, _ in chunk])
            except asyncio.CancelledError:
                for _, waiter in chunk:
                    if isinstance(waiter, tuple):
                        waiter[0].future.cancel()
                    elif waiter is not None:
                        waiter.cancel()
                raise
            except Exception as exc:  # the whole request failed: every caller learns why
                results = [exc] * len(chunk)
            else:
                if len(results) != len(chunk):
                    results = [RuntimeError("batch returned a wrong number of results")] * len(
                        chunk
                    )
            for (item, waiter), result in zip(chunk, results, strict=True):
                if isinstance(waiter, tuple):
                    waiter[0].settle(waiter[1], result)
                elif waiter is not None:
                    settle(waiter, result)
                elif isinstance(result, BaseException):
                    self._unawaited(item, result)

    async def drain(self) -> None:
        """Return once everything queued so far is flushed (also what waits for its turn)."""
        while self._tasks or self._items:
            if self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
            else:
                await asyncio.sleep(0)  # queued this turn: the flush is spawned on the next
