"""Broadcast marks journalled a moment later, so that one write often records two steps.

restore() treats SIGNED and BROADCAST alike: the mark only informs readers of the
journal (``tx status``). On a fast chain the receipt follows within one monitor
poll; when the change it brings is journalled first, that write carries the mark
too (the history keeps every step) and the separate write is skipped. Each mark
waits its own ``delay`` (the marks share one loop timer); the marks then due are
written together, in one group commit.
"""

from __future__ import annotations

import asyncio
from collections import deque

from chainops.core.transaction import Transaction
from chainops.operators.group_commit import GroupCommitter

# A few monitor polls on a local chain (a burst is mined in parts); a reader of the
# journal sees BROADCAST a quarter of a second late at worst.
MARK_DELAY = 0.25
# A timer may fire this early (uvloop counts in milliseconds): a deadline that close is due.
_SLACK = 1e-3


class DeferredMarks:
    """Transactions whose latest change may wait ``delay`` seconds to be journalled.

    Every mark waits the same delay, so marks fall due in the order they were made: a
    queue of ``(deadline, client id)`` and one loop timer serve them all, with no
    object per mark for the collector to walk while a burst is in flight.
    """

    def __init__(self, commits: GroupCommitter, delay: float = MARK_DELAY) -> None:
        self.commits = commits
        self.delay = delay
        # client id -> the transaction, and the deadline of its oldest unwritten mark
        self._waiting: dict[str, Transaction] = {}
        self._due: dict[str, float] = {}
        # every mark made, oldest first (a covered one stays until its deadline, then is skipped)
        self._queue: deque[tuple[float, str]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __len__(self) -> int:
        return len(self._waiting)

    def soon(self, tx: Transaction) -> None:
        """Journal ``tx`` within ``delay`` seconds, unless :meth:`covered` says it was."""
        cid = str(tx.client_id)
        if cid in self._waiting:
            return  # already waiting: written at the older mark's deadline, with this one
        loop = asyncio.get_running_loop()
        when = loop.time() + self.delay
        self._waiting[cid] = tx
        self._due[cid] = when
        self._queue.append((when, cid))
        if self._timer is None or loop is not self._loop:  # none armed on this loop yet
            self._arm(loop)

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._timer = loop.call_at(self._queue[0][0], self._fire, loop)

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop is not self._loop:
            return  # a timer of a loop left behind; the current one has its own
        self._timer = None
        now = loop.time() + _SLACK
        queue, due = self._queue, self._due
        ready: list[Transaction] = []
        while queue and queue[0][0] <= now:
            when, cid = queue.popleft()
            if due.get(cid) == when:  # not covered (nor covered and marked again since)
                del due[cid]
                ready.append(self._waiting.pop(cid))
        if queue:
            self._arm(loop)
        for tx in ready:
            self.commits.save_soon(tx)  # the marks due together share the next group commit

    def covered(self, tx: Transaction) -> None:
        """A write of ``tx`` is queued: it records what was waiting."""
        cid = str(tx.client_id)
        if self._waiting.pop(cid, None) is not None:
            del self._due[cid]

    def flush(self) -> None:
        """Queue every write still waiting (when the operator closes)."""
        waiting = self._waiting
        self._waiting, self._due = {}, {}
        self._queue.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for tx in waiting.values():
            self.commits.save_soon(tx)
