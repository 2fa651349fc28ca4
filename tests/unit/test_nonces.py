"""Nonce allocator: unique, contiguous, persisted, never backwards, bounded in flight."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainops.core.errors import NonceError, ValidationError
from chainops.core.journal import SqliteJournal
from chainops.operators.evm.nonces import NonceAllocator

ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


class ChainCount:
    """The chain's view of the account's nonce count, settable by the test."""

    def __init__(self, value: int = 0) -> None:
        self.value = value
        self.reads = 0

    async def __call__(self) -> int:
        self.reads += 1
        return self.value


def allocator(journal: SqliteJournal, chain: ChainCount, window: int = 1000) -> NonceAllocator:
    return NonceAllocator(31337, ADDRESS, journal, chain, window=window)


@pytest.fixture
def journal(tmp_path: Path) -> SqliteJournal:
    return SqliteJournal(tmp_path / "journal.sqlite", synchronous="NORMAL")


async def test_concurrent_reservations_are_unique_and_contiguous(journal: SqliteJournal) -> None:
    alloc = allocator(journal, ChainCount(7))
    nonces = await asyncio.gather(*(alloc.reserve() for _ in range(500)))
    assert sorted(nonces) == list(range(7, 507))
    assert alloc.high_water() == 507


async def test_seeded_from_the_higher_of_chain_and_journal(journal: SqliteJournal) -> None:
    journal.set_value(f"nonce:31337:{ADDRESS}", "12")
    assert await allocator(journal, ChainCount(3)).reserve() == 12
    assert await allocator(journal, ChainCount(40)).reserve() == 40


async def test_a_stale_chain_read_never_moves_backwards(journal: SqliteJournal) -> None:
    chain = ChainCount(10)
    alloc = allocator(journal, chain)
    assert await alloc.sync() == 10
    chain.value = 4  # a lagging node behind a load balancer
    assert await alloc.sync() == 10
    assert await alloc.reserve() == 10


async def test_release_of_the_last_nonce_steps_back(journal: SqliteJournal) -> None:
    alloc = allocator(journal, ChainCount())
    a, b = await alloc.reserve(), await alloc.reserve()
    await alloc.release(b)
    assert alloc.high_water() == 1
    assert await alloc.reserve() == b
    assert a == 0


async def test_release_in_the_middle_is_reused_first(journal: SqliteJournal) -> None:
    alloc = allocator(journal, ChainCount())
    first, middle, last = [await alloc.reserve() for _ in range(3)]
    await alloc.release(middle)
    assert await alloc.reserve() == middle
    assert await alloc.reserve() == last + 1
    with pytest.raises(NonceError, match="not reserved"):
        await alloc.release(99)
    assert first == 0


async def test_window_applies_back_pressure(journal: SqliteJournal) -> None:
    alloc = allocator(journal, ChainCount(), window=2)
    a, b = await alloc.reserve(), await alloc.reserve()
    third = asyncio.ensure_future(alloc.reserve())
    await asyncio.sleep(0.02)
    assert not third.done()
    await alloc.done(a)
    assert await asyncio.wait_for(third, 1) == 2
    assert alloc.in_flight == {b, 2}


async def test_chain_consumption_drops_released_nonces(journal: SqliteJournal) -> None:
    chain = ChainCount()
    alloc = allocator(journal, chain)
    n0, n1 = await alloc.reserve(), await alloc.reserve()
    await alloc.release(n0)
    chain.value = 2  # the key was used elsewhere: 0 and 1 are gone
    await alloc.sync()
    assert await alloc.reserve() == 2
    assert n1 == 1


async def test_two_allocators_on_one_journal_file_never_collide(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    one = allocator(SqliteJournal(path, synchronous="NORMAL"), ChainCount())
    two = allocator(SqliteJournal(path, synchronous="NORMAL"), ChainCount())
    got = await asyncio.gather(*(op.reserve() for _ in range(100) for op in (one, two)))
    assert sorted(got) == list(range(200))


async def test_reservations_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "restart.sqlite"
    first = allocator(SqliteJournal(path), ChainCount())
    assert [await first.reserve() for _ in range(3)] == [0, 1, 2]
    again = allocator(SqliteJournal(path), ChainCount(1))
    assert await again.reserve() == 3


def test_window_must_be_positive(journal: SqliteJournal) -> None:
    with pytest.raises(ValidationError):
        allocator(journal, ChainCount(), window=0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["reserve", "release", "done"]), min_size=1, max_size=60))
def test_no_gap_is_ever_left_behind(
    tmp_path_factory: pytest.TempPathFactory, ops: list[str]
) -> None:
    """Whatever the order of operations, the nonces in use plus the ones finished cover a
    contiguous range from the start, and none was handed out twice while live."""

    async def scenario() -> None:
        path = tmp_path_factory.mktemp("nonces") / "j.sqlite"
        alloc = allocator(SqliteJournal(path, synchronous="NORMAL"), ChainCount(5))
        live: list[int] = []
        finished: list[int] = []
        for i, op in enumerate(ops):
            if op == "reserve":
                nonce = await alloc.reserve()
                assert nonce not in live and nonce not in finished
                live.append(nonce)
            elif live and op == "release":
                await alloc.release(live.pop(i % len(live)))
            elif live:
                nonce = live.pop(i % len(live))
                await alloc.done(nonce)
                finished.append(nonce)
        # Hand out what was released so the picture is complete, then check contiguity.
        while len(live) + len(finished) < alloc.high_water() - 5:
            live.append(await alloc.reserve())
        used = sorted(live + finished)
        assert used == list(range(5, 5 + len(used)))

    asyncio.run(scenario())
