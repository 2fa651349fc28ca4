"""Broadcast marks wait a moment for the next change, and are never lost.

A mark followed by a journalled change within the delay costs no write of its
own (that write carries it); one that stays alone is written after the delay,
or at once when the operator closes. The journal is a real SQLite file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from core_factories import make_attempt, make_tx

from chainops.core.journal import SqliteJournal
from chainops.core.operation import Operation
from chainops.core.transaction import Transaction, TxState
from chainops.operators.evm.marks import DeferredMarks
from chainops.operators.group_commit import GroupCommitter


class CountingJournal(SqliteJournal):
    """The SQLite journal, counting the operations written."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.writes: list[str] = []

    def save(self, operation: Operation[Any]) -> None:
        self.writes.append(str(operation.client_id))
        super().save(operation)

    def save_many(self, operations: Iterable[Operation[Any]]) -> None:
        group = list(operations)
        self.writes += [str(op.client_id) for op in group]
        super().save_many(group)


async def _until(done: Callable[[], bool]) -> None:
    """Poll for up to a second: a timer-driven write lands within its delay."""
    for _ in range(100):
        await asyncio.sleep(0.01)
        if done():
            return


def marks_on_a_journal(
    tmp_path: Path, delay: float
) -> tuple[CountingJournal, GroupCommitter, DeferredMarks]:
    """A counting journal, its group committer, and marks written after ``delay``."""
    journal = CountingJournal(tmp_path / "j.sqlite")
    commits = GroupCommitter(journal)
    return journal, commits, DeferredMarks(commits, delay=delay)


def broadcast_tx(client_id: str, seed: int = 0) -> Transaction:
    tx = make_tx(client_id)
    tx.add_attempt(make_attempt(0, seed=seed))
    tx.mark_broadcast(0)
    return tx


async def test_a_change_journalled_within_the_delay_carries_the_mark(tmp_path: Path) -> None:
    journal, commits, marks = marks_on_a_journal(tmp_path, 0.05)
    tx = broadcast_tx("tx1")
    marks.soon(tx)
    marks.covered(tx)  # the receipt's change is journalled first
    commits.save_soon(tx)
    await asyncio.sleep(0.1)
    await commits.drain()
    assert journal.writes == ["tx1"] and len(marks) == 0
    stored = journal.load("tx1", Transaction)
    assert stored is not None and stored.state is TxState.BROADCAST


async def test_a_mark_alone_is_written_after_the_delay(tmp_path: Path) -> None:
    journal, commits, marks = marks_on_a_journal(tmp_path, 0.02)
    for seed, cid in enumerate(("tx1", "tx2")):
        marks.soon(broadcast_tx(cid, seed))
    await asyncio.sleep(0)
    assert journal.writes == []  # not yet: a change may still come
    await _until(lambda: len(journal.writes) == 2)
    await commits.drain()
    assert sorted(journal.writes) == ["tx1", "tx2"]
    stored = journal.load("tx2", Transaction)
    assert stored is not None and stored.state is TxState.BROADCAST


async def test_closing_flushes_every_waiting_mark_at_once(tmp_path: Path) -> None:
    journal, commits, marks = marks_on_a_journal(tmp_path, 3600)
    marks.soon(broadcast_tx("tx1"))
    marks.flush()
    await commits.drain()
    assert journal.writes == ["tx1"] and len(marks) == 0


async def test_each_mark_waits_its_own_delay(tmp_path: Path) -> None:
    """A mark made just before the timer of an older one fires still waits the whole
    delay for its change: in a burst, the receipts of later waves come in time."""
    # A delay long enough that the drain's commit (an fsync on a busy machine) cannot
    # outlast what is left of the late mark's.
    journal, commits, marks = marks_on_a_journal(tmp_path, 0.3)
    early, late = broadcast_tx("early", 1), broadcast_tx("late", 2)
    marks.soon(early)
    await asyncio.sleep(0.2)
    marks.soon(late)
    await asyncio.sleep(0.15)  # the early mark's delay is over; the late one's is not
    await commits.drain()
    assert journal.writes == ["early"] and len(marks) == 1
    marks.covered(late)  # its receipt's change is journalled, carrying the mark
    commits.save_soon(late)
    await asyncio.sleep(0.1)
    await commits.drain()
    assert journal.writes == ["early", "late"] and len(marks) == 0


async def test_a_second_mark_keeps_the_first_ones_deadline(tmp_path: Path) -> None:
    journal, commits, marks = marks_on_a_journal(tmp_path, 0.1)
    tx = broadcast_tx("tx1")
    marks.soon(tx)
    await asyncio.sleep(0.06)
    marks.soon(tx)  # another unjournalled step: it does not push the first one back
    await asyncio.sleep(0.06)
    await commits.drain()
    assert journal.writes == ["tx1"]


async def test_a_mark_made_again_after_it_was_covered_waits_its_own_delay(
    tmp_path: Path,
) -> None:
    """Covered, then a new unjournalled step: the new mark is not written on the old
    mark's deadline, but a whole delay after it was made."""
    journal, commits, marks = marks_on_a_journal(tmp_path, 0.1)
    tx = broadcast_tx("tx1")
    marks.soon(tx)
    await asyncio.sleep(0.06)
    marks.covered(tx)  # its change was journalled (that write is not counted here)
    marks.soon(tx)  # a later step, e.g. a replacement's broadcast
    await asyncio.sleep(0.07)  # past the first mark's deadline, not the second's
    await commits.drain()
    assert journal.writes == [] and len(marks) == 1
    await _until(lambda: bool(journal.writes))
    await commits.drain()
    assert journal.writes == ["tx1"] and len(marks) == 0


def test_marks_survive_a_new_event_loop(tmp_path: Path) -> None:
    """An operator used from a second ``asyncio.run`` still writes its marks."""
    journal, _, marks = marks_on_a_journal(tmp_path, 0.01)

    async def mark_and_leave() -> None:
        marks.soon(broadcast_tx("tx1"))  # the loop closes before its timer fires

    async def mark_and_wait() -> None:
        marks.soon(broadcast_tx("tx2", 1))
        await _until(lambda: "tx2" in journal.writes)
        await marks.commits.drain()

    asyncio.run(mark_and_leave())
    asyncio.run(mark_and_wait())
    assert "tx2" in journal.writes
