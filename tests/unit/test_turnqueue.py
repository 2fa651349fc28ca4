"""TurnQueue and the group commit on it: one flush per loop turn, nothing lost on drain."""

from __future__ import annotations

from collections.abc import Sequence

from core_factories import make_tx

from chainops.core.journal import SqliteJournal
from chainops.core.transaction import Transaction
from chainops.operators.group_commit import GroupCommitter
from chainops.operators.turnqueue import TurnQueue


async def test_items_of_one_turn_share_one_flush() -> None:
    flushed: list[list[int]] = []

    async def flush(items: Sequence[int]) -> list[int]:
        flushed.append(list(items))
        return [i * 2 for i in items]

    queue = TurnQueue(flush, max_batch=10)
    futures = [queue.put(i) for i in range(3)]
    assert [await f for f in futures] == [0, 2, 4]
    assert flushed == [[0, 1, 2]]


async def test_drain_flushes_what_was_queued_in_this_very_turn() -> None:
    flushed: list[int] = []

    async def flush(items: Sequence[int]) -> list[None]:
        flushed.extend(items)
        return [None] * len(items)

    queue = TurnQueue(flush, max_batch=10)
    queue.put(1)  # not awaited: its flush is not even spawned yet
    await queue.drain()
    assert flushed == [1]


async def test_save_soon_is_durable_once_drained() -> None:
    journal = SqliteJournal(":memory:")
    commits = GroupCommitter(journal)
    tx = make_tx("tx-soon")
    commits.save_soon(tx)
    await commits.drain()  # what close() does: nothing queued is lost
    assert journal.load("tx-soon", Transaction) == tx
