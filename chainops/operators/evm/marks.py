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

from chainops.core.transaction import Transaction
from chainops.operators.deadlines import Deadlines
from chainops.operators.group_commit import GroupCommitter

# A few monitor polls on a local chain (a burst is mined in parts); a reader of the
# journal sees BROADCAST a quarter of a second late at worst.
MARK_DELAY = 0.25


class DeferredMarks:
    """Transactions whose latest change may wait ``delay`` seconds to be journalled.

    The marks share one loop timer (:class:`Deadlines`, whose deadlines the collector
    does not track); transactions and tickets sit in two dicts, so a mark in flight
    adds no object for the collector to walk.
    """

    def __init__(self, commits: GroupCommitter, delay: float = MARK_DELAY) -> None:
        self.commits = commits
        self.delay = delay
        # client id -> the transaction, and the ticket of its oldest unwritten mark
        self._waiting: dict[str, Transaction] = {}
        self._tickets: dict[str, int] = {}
        self._deadlines = Deadlines(self._write)

    def __len__(self) -> int:
        return len(self._waiting)

    def soon(self, tx: Transaction) -> None:
        """Journal ``tx`` within ``delay`` seconds, unless :meth:`covered` says it was."""
        cid = str(tx.client_id)
        if cid in self._waiting:
            return  # already waiting: written at the older mark's deadline, with this one
        when = asyncio.get_running_loop().time() + self.delay
        self._waiting[cid] = tx
        self._tickets[cid] = self._deadlines.call_at(when, cid)

    def _write(self, cid: str) -> None:
        del self._tickets[cid]
        self.commits.save_soon(self._waiting.pop(cid))  # the marks due together share a commit

    def covered(self, tx: Transaction) -> None:
        """A write of ``tx`` is queued: it records what was waiting."""
        cid = str(tx.client_id)
        if self._waiting.pop(cid, None) is not None:
            self._deadlines.cancel(self._tickets.pop(cid))

    def flush(self) -> None:
        """Queue every write still waiting (when the operator closes)."""
        waiting, tickets = self._waiting, self._tickets
        self._waiting, self._tickets = {}, {}
        for cid, tx in waiting.items():
            self._deadlines.cancel(tickets[cid])
            self.commits.save_soon(tx)
