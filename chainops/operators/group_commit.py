"""Group commit: the journal writes of one event-loop turn share one SQLite transaction.

Five hundred concurrent sends each journalling their signed attempt cost one
commit (one fsync with ``synchronous=FULL``), not five hundred, and every
caller still returns only once its own write is durable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from chainops.core.journal import Journal
from chainops.core.operation import Operation
from chainops.operators.turnqueue import TurnQueue

log = logging.getLogger("chainops.journal")

# SQLite handles thousands of rows per transaction; bounding it keeps one turn's
# commit short enough not to stall the event loop noticeably.
MAX_GROUP = 1000


class GroupCommitter:
    """Coalesces ``Journal.save`` calls made in the same loop turn."""

    def __init__(self, journal: Journal, *, max_group: int = MAX_GROUP) -> None:
        self.journal = journal
        self._queue = TurnQueue(self._commit, max_group, unawaited=_log_failure)
        self._soon: list[Operation[Any]] = []  # save_soon writes not yet queued
        self.commits = 0

    def save(self, operation: Operation[Any]) -> asyncio.Future[Any]:
        """Journal ``operation``: the future is done once the write is committed.

        A future, not a coroutine: a burst's sends each wait on one, for a whole commit.
        """
        return self._queue.put(operation)

    def save_soon(self, operation: Operation[Any]) -> None:
        """Journal ``operation`` with the next group, without waiting for it.

        For state that ``restore()`` can rebuild from the chain (broadcast marks,
        receipts): losing it in a crash costs a lookup, never a double send. Queued
        at the start of the next turn: what this turn woke (the waiters of a thousand
        receipts) runs before that commit does, and no awaited save waits behind it.
        """
        if not self._soon:
            asyncio.get_running_loop().call_soon(self._queue_soon)
        self._soon.append(operation)

    def _queue_soon(self) -> None:
        waiting, self._soon = self._soon, []
        for operation in waiting:
            self._queue.put_nowait(operation)

    async def _commit(self, operations: Sequence[Operation[Any]]) -> list[None]:
        unique = {id(op): op for op in operations}  # the same object twice: write it once
        self.journal.save_many(unique.values())
        self.commits += 1
        return [None] * len(operations)

    async def drain(self) -> None:
        self._queue_soon()  # closing: the deferred writes go with this group
        await self._queue.drain()


def _log_failure(operation: Operation[Any], error: BaseException) -> None:
    log.error("journal write of %s failed", operation.client_id, exc_info=error)
