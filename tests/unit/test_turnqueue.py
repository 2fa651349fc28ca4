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


async def test_put_nowait_shares_the_flush_and_reports_failures_to_unawaited() -> None:
    flushed: list[list[int]] = []
    failed: list[tuple[int, str]] = []

    async def flush(items: Sequence[int]) -> list[object]:
        flushed.append(list(items))
        return [ValueError(f"odd {i}") if i % 2 else i for i in items]

    queue = TurnQueue(flush, max_batch=10, unawaited=lambda i, e: failed.append((i, str(e))))
    queue.put_nowait(1)
    awaited = queue.put(2)
    queue.put_nowait(3)
    queue.put_nowait(4)
    assert await awaited == 2
    await queue.drain()
    assert flushed == [[1, 2, 3, 4]]
    assert failed == [(1, "odd 1"), (3, "odd 3")]  # the items that succeeded say nothing


async def test_put_nowait_items_of_a_failed_flush_are_each_reported() -> None:
    failed: list[int] = []

    async def flush(items: Sequence[int]) -> list[None]:
        raise ConnectionError("down")

    queue = TurnQueue(flush, max_batch=2, unawaited=lambda i, e: failed.append(i))
    for i in range(3):
        queue.put_nowait(i)
    await queue.drain()
    assert failed == [0, 1, 2]


async def test_a_failed_save_soon_is_logged_with_its_client_id(caplog) -> None:
    journal = SqliteJournal(":memory:")
    commits = GroupCommitter(journal)
    journal.close()  # every write now fails
    commits.save_soon(make_tx("tx-lost"))
    with caplog.at_level("ERROR", logger="chainops.journal"):
        await commits.drain()
    assert "journal write of tx-lost failed" in caplog.text
    assert "closed" in caplog.text  # the journal's own reason comes with it


async def test_put_many_is_one_future_for_items_flushed_with_the_turn() -> None:
    """Several items, one future: their results in order, failures as exception objects,
    the same flush as single puts of the turn, across the batch limit too."""
    flushed: list[list[int]] = []

    async def flush(items: Sequence[int]) -> list[object]:
        flushed.append(list(items))
        return [ValueError(i) if i == 3 else i * 10 for i in items]

    queue = TurnQueue(flush, max_batch=4)
    single = queue.put(0)
    many = queue.put_many([1, 2, 3, 4, 5])
    empty = queue.put_many([])
    assert await single == 0
    results = await many
    assert results[:2] == [10, 20] and results[3:] == [40, 50]
    assert isinstance(results[2], ValueError)
    assert await empty == []
    assert flushed == [[0, 1, 2, 3], [4, 5]]


async def test_put_many_of_a_failed_flush_holds_the_failure_for_each_item() -> None:
    async def flush(items: Sequence[int]) -> list[int]:
        raise RuntimeError("down")

    queue = TurnQueue(flush, max_batch=10)
    results = await queue.put_many([1, 2])
    assert [type(r) for r in results] == [RuntimeError, RuntimeError]


async def test_put_many_given_up_is_skipped() -> None:
    async def flush(items: Sequence[int]) -> list[int]:
        return list(items)

    queue = TurnQueue(flush, max_batch=10)
    gone = queue.put_many([1, 2])
    gone.cancel()
    kept = queue.put(3)
    assert await kept == 3
    await queue.drain()
    assert gone.cancelled()
