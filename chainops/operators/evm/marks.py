"""Broadcast marks journalled a moment later, so that one write often records two steps.

restore() treats SIGNED and BROADCAST alike: the mark only informs readers of the
journal (``tx status``). On a fast chain the receipt follows within one monitor
poll; when the change it brings is journalled first, that write carries the mark
too (the history keeps every step) and the separate write is skipped. Each mark
waits its own ``delay`` (the marks share one loop timer: ``operators.deadlines``); the
marks then due are written together, in one group commit.
"""

from __future__ import annotations

import asyncio

from chainops.core.transaction import Transaction
from chainops.operators.deadlines import Deadline, Deadlines
from chainops.operators.group_commit import GroupCommitter

# A few monitor polls on a local chain (a burst is mined in parts); a reader of the
# journal sees BROADCAST a quarter of a second late at worst.
MARK_DELAY = 0.25


class DeferredMarks:
    """Transactions whose latest change may wait ``delay`` seconds to be journalled."""

    def __init__(self, commits: GroupCommitter, delay: float = MARK_DELAY) -> None:
        self.commits = commits
        self.delay = delay
        # client id -> the transaction and the deadline of its oldest unwritten mark
        self._waiting: dict[str, tuple[Transaction, Deadline]] = {}
        self._deadlines = Deadlines()

    def __len__(self) -> int:
        return len(self._waiting)

    def soon(self, tx: Transaction) -> None:
        """Journal ``tx`` within ``delay`` seconds, unless :meth:`covered` says it was."""
        cid = str(tx.client_id)
        if cid in self._waiting:
            return  # already waiting: written at the older mark's deadline, with this one
        when = asyncio.get_running_loop().time() + self.delay
        self._waiting[cid] = (tx, self._deadlines.call_at(when, self._write, cid))

    def _write(self, cid: str) -> None:
        tx, _ = self._waiting.pop(cid)
        self.commits.save_soon(tx)  # the marks due together share the next group commit

    def covered(self, tx: Transaction) -> None:
        """A write of ``tx`` is queued: it records what was waiting."""
        waiting = self._waiting.pop(str(tx.client_id), None)
        if waiting is not None:
            self._deadlines.cancel(waiting[1])

    def flush(self) -> None:
        """Queue every write still waiting (when the operator closes)."""
        waiting, self._waiting = self._waiting, {}
        for tx, deadline in waiting.values():
            self._deadlines.cancel(deadline)
            self.commits.save_soon(tx)
