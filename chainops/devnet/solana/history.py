"""Account states behind the tip: what the confirmed and finalized views of an account are.

Each write to an account in a block is remembered with the state before it.
The view at a commitment whose newest block is slot ``s`` is the state before
the first write after ``s`` (or the current state when there is none); the writes
of abandoned blocks are undone from the same record. Writes at or below the
finalized slot are forgotten as new ones arrive, so the record stays small.
"""

from __future__ import annotations

from solders.account import Account

__all__ = ["AccountHistory"]

Write = tuple[int, Account | None]  # (slot of the write, state before it)


class AccountHistory:
    """Per account, the states its writes replaced, in slot order."""

    def __init__(self) -> None:
        self._writes: dict[str, list[Write]] = {}

    def record(self, key: str, slot: int, before: Account | None, finalized: int) -> None:
        """Note that a transaction in ``slot`` changed ``key`` from ``before``."""
        writes = self._writes.setdefault(key, [])
        if writes and writes[0][0] <= finalized:
            writes[:] = [w for w in writes if w[0] > finalized]
        writes.append((slot, before))

    def before(self, key: str, cutoff: int) -> tuple[bool, Account | None]:
        """(found, state) of ``key`` as of slot ``cutoff``: found is False when unchanged since."""
        for slot, state in self._writes.get(key, ()):
            if slot > cutoff:
                return True, state
        return False, None

    def undo(self, cutoff: int) -> dict[str, Account | None]:
        """Forget every write after ``cutoff``; returns the states to restore, per key."""
        restore: dict[str, Account | None] = {}
        for key, writes in self._writes.items():
            undone = [state for slot, state in writes if slot > cutoff]
            if undone:
                restore[key] = undone[0]
                writes[:] = [w for w in writes if w[0] <= cutoff]
        return restore
