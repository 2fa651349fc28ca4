"""Broadcast marks journalled a moment later, so that one write often records two steps.

restore() treats SIGNED and BROADCAST alike: the mark only informs readers of the
journal (``tx status``). On a fast chain the receipt follows within one monitor
poll; when the change it brings is journalled first, that write carries the mark
too (the history keeps every step) and the separate write is skipped. Each mark
waits its own ``delay``: one timer, for the oldest, writes every mark then due (one
group commit for all of them) and is set again for the next.
"""

from __future__ import annotations

import asyncio

from chainops.core.transaction import Transaction
from chainops.operators.group_commit import GroupCommitter

# A few monitor polls on a local chain (a burst is mined in parts); a reader of the
# journal sees BROADCAST a quarter of a second late at worst.
MARK_DELAY = 0.25


class DeferredMarks:
    """Transactions whose latest change may wait ``delay`` seconds to be journalled."""

    def __init__(self, commits: GroupCommitter, delay: float = MARK_DELAY) -> None:
        self.commits = commits
        self.delay = delay
        # client id -> (transaction, loop time its oldest unwritten mark is due), oldest first
        self._waiting: dict[str, tuple[Transaction, float]] = {}
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._waiting)

    def soon(self, tx: Transaction) -> None:
        """Journal ``tx`` within ``delay`` seconds, unless :meth:`covered` says it was."""
        cid = str(tx.client_id)
        if cid in self._waiting:
            return  # already waiting: written by the older mark's deadline, with this one
        loop = asyncio.get_running_loop()
        due = loop.time() + self.delay
        self._waiting[cid] = (tx, due)
        if self._timer is None:
            self._timer = loop.call_at(due, self._write_due)

    def _write_due(self) -> None:
        """Queue the writes of every mark whose delay is over; wait again for the rest."""
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time() + 1e-3  # a timer may fire a little early (uvloop counts in ms)
        waiting = self._waiting
        due: list[Transaction] = []
        for tx, when in waiting.values():  # oldest first: stop at the first not due
            if when > now:
                break
            due.append(tx)
        for tx in due:
            del waiting[str(tx.client_id)]
            self.commits.save_soon(tx)
        if waiting:
            self._timer = loop.call_at(next(iter(waiting.values()))[1], self._write_due)

    def covered(self, tx: Transaction) -> None:
        """A write of ``tx`` is queued: it records what was waiting."""
        self._waiting.pop(str(tx.client_id), None)

    def flush(self) -> None:
        """Queue every write still waiting (on the timer, and when the operator closes)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiting, self._waiting = self._waiting, {}
        for tx, _ in waiting.values():
            self.commits.save_soon(tx)
