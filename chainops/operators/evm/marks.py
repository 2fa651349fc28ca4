"""Broadcast marks journalled a moment later, so that one write often records two steps.

restore() treats SIGNED and BROADCAST alike: the mark only informs readers of the
journal (``tx status``). On a fast chain the receipt follows within one monitor
poll; when the change it brings is journalled first, that write carries the mark
too (the history keeps every step) and the separate write is skipped; a timer
writes the marks still waiting after ``delay`` (one group commit for all of them).
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
        self._waiting: dict[str, Transaction] = {}
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._waiting)

    def soon(self, tx: Transaction) -> None:
        """Journal ``tx`` within ``delay`` seconds, unless :meth:`covered` says it was."""
        self._waiting[str(tx.client_id)] = tx
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.delay, self.flush)

    def covered(self, tx: Transaction) -> None:
        """A write of ``tx`` is queued: it records what was waiting."""
        self._waiting.pop(str(tx.client_id), None)

    def flush(self) -> None:
        """Queue every write still waiting (on the timer, and when the operator closes)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiting, self._waiting = self._waiting, {}
        for tx in waiting.values():
            self.commits.save_soon(tx)
