"""Nonce allocators of several processes on one PostgreSQL journal never share a nonce.

Each allocator has its own connection and runs on its own thread and event loop, as
separate worker processes would; the chain's count is a settable stand-in.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Iterator

import pytest
from pg_helpers import pg_url, schema_fixture

from chainops.operators.evm.nonces import NonceAllocator

pytest.importorskip("psycopg", reason="pip install -e '.[postgres]'")

from chainops.core.journal.postgres import PostgresJournal

ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


@pytest.fixture
def schema() -> Iterator[str]:
    yield from schema_fixture()


async def _zero() -> int:
    return 0


class Worker:
    """Reserves, keeps or gives back nonces at random, like sends that succeed or fail."""

    def __init__(self, schema: str, seed: int) -> None:
        self.journal = PostgresJournal(pg_url(), schema=schema)
        self.nonces = NonceAllocator(31337, ADDRESS, self.journal, _zero, window=1000)
        self.kept: list[int] = []
        self.rng = random.Random(seed)
        self.error: BaseException | None = None

    async def work(self) -> None:
        for _ in range(60):
            taken = await asyncio.gather(*(self.nonces.reserve() for _ in range(3)))
            for nonce in taken:
                if self.rng.random() < 0.4:
                    await self.nonces.release(nonce)  # the send failed before broadcast
                else:
                    self.kept.append(nonce)

    def run(self) -> None:
        try:
            asyncio.run(self.work())
        except BaseException as exc:  # pragma: no cover - reported by the test
            self.error = exc


def test_processes_racing_for_freed_nonces_never_share_one(schema: str) -> None:
    workers = [Worker(schema, seed) for seed in range(4)]
    threads = [threading.Thread(target=w.run) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [w.error for w in workers] == [None] * 4
    kept = [n for w in workers for n in w.kept]
    assert len(kept) == len(set(kept))  # no nonce handed to two workers
    # every nonce below the high-water mark is kept by one worker or waits, freed, in the
    # allocator that gave it back (it hands that one out first): no gap, no double
    freed = [n for w in workers for n in w.nonces._released]
    high = workers[0].nonces.high_water()
    assert sorted(kept + freed) == list(range(high))
    for w in workers:
        w.journal.close()
