"""Nonce leases in the PostgreSQL journal: window, confirmation, death and takeover.

Each ``PostgresJournal`` is its own database session, as each worker process is; a
holder "dies" by closing its journal (its session ends) or by missing its expiry.

Needs a server: ``CHAINOPS_TEST_POSTGRES_URL`` (default postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Iterator

import pytest
from pg_helpers import pg_url, schema_fixture, until

from chainops.core.errors import ValidationError
from chainops.core.journal.leases import LeaseState

psycopg = pytest.importorskip("psycopg", reason="pip install -e '.[postgres]'")

from pg_sessions import Session, opener, sessions  # noqa: E402

from chainops.core.journal import postgres  # noqa: E402
from chainops.core.journal.leases_pg import PostgresLeases  # noqa: E402
from chainops.core.journal.postgres import SCHEMA_VERSION, PostgresJournal  # noqa: E402

CHAIN, ADDR = 31337, "0x00000000000000000000000000000000000000aa"
KEY = f"nonce:{CHAIN}:{ADDR}"


@pytest.fixture
def schema() -> Iterator[str]:
    yield from schema_fixture()


class Worker(Session):
    """One worker's session: a journal and its lease store."""

    @property
    def leases(self) -> PostgresLeases:
        return self.store

    def take(self, count: int, window: int = 16, floor: int = 0) -> list[int]:
        return self.leases.take(CHAIN, ADDR, KEY, floor, count, window)


@pytest.fixture
def workers(schema: str) -> Iterator[list[Worker]]:
    yield from sessions()


spawn = opener(Worker)


def test_fresh_nonces_are_contiguous_and_never_shared(schema: str, workers: list[Worker]) -> None:
    a, b = spawn(workers, schema), spawn(workers, schema)
    got = a.take(3) + b.take(2) + a.take(1)
    assert got == list(range(6))
    assert a.leases.leased(CHAIN, ADDR) == {
        **{n: a.leases.holder for n in (0, 1, 2, 5)},
        **{n: b.leases.holder for n in (3, 4)},
    }
    # the high-water mark never goes below the chain's count
    assert a.take(1, floor=10) == [10]


def test_the_window_counts_every_workers_leases(schema: str, workers: list[Worker]) -> None:
    a, b = spawn(workers, schema), spawn(workers, schema)
    assert len(a.take(3, window=4)) == 3
    assert b.take(3, window=4) == [3]  # one slot left for anybody
    assert b.take(1, window=4) == []
    a.leases.drop(CHAIN, ADDR, [0])
    assert b.take(1, window=4) == [4]


def test_step_back_only_for_the_last_nonce_out(schema: str, workers: list[Worker]) -> None:
    a = spawn(workers, schema)
    a.take(3)
    assert not a.leases.step_back(CHAIN, ADDR, KEY, 1)  # 2 is out after it
    assert a.leases.step_back(CHAIN, ADDR, KEY, 2)
    assert a.take(1) == [2]


def test_confirm_answers_only_for_our_own_leases(schema: str, workers: list[Worker]) -> None:
    a, b = spawn(workers, schema), spawn(workers, schema)
    a.take(2)
    b.take(1)
    assert a.leases.confirm(CHAIN, ADDR, [0, 1, 2]) == {0, 1}
    states = a.journal._exec("SELECT nonce, state FROM nonce_leases ORDER BY nonce")
    assert [tuple(r) for r in states] == [(0, "sent"), (1, "sent"), (2, "reserved")]


def test_a_holder_whose_session_ended_is_dead_at_once(schema: str, workers: list[Worker]) -> None:
    a, b = spawn(workers, schema), spawn(workers, schema)
    a.take(3)
    a.leases.confirm(CHAIN, ADDR, [1])
    assert not b.leases.has_dead(CHAIN, ADDR)
    assert b.leases.take_over(CHAIN, ADDR, KEY) == []  # a is alive: nothing moves
    a.close()  # the process died: its session is gone long before its expiry
    assert until(lambda: b.leases.has_dead(CHAIN, ADDR))  # the server notices in ms
    taken = b.leases.take_over(CHAIN, ADDR, KEY)
    assert [(t.nonce, t.state) for t in taken] == [
        (0, LeaseState.RESERVED),
        (1, LeaseState.SENT),
        (2, LeaseState.RESERVED),
    ]
    assert {t.previous_holder for t in taken} == {a.leases.holder}
    assert set(b.leases.leased(CHAIN, ADDR).values()) == {b.leases.holder}
    assert not b.leases.has_dead(CHAIN, ADDR)


def test_an_expired_holder_loses_its_leases_and_cannot_confirm(
    schema: str, workers: list[Worker]
) -> None:
    # alive, connected, but its heartbeat stops; long enough that a loaded host
    # checks "alive" well inside it
    a = spawn(workers, schema, expiry=2.0)
    b = spawn(workers, schema)
    a.take(2)
    assert b.leases.take_over(CHAIN, ADDR, KEY) == []
    time.sleep(2.2)
    assert [t.nonce for t in b.leases.take_over(CHAIN, ADDR, KEY)] == [0, 1]
    # back from its pause, a finds nothing of its own to broadcast at
    assert a.leases.confirm(CHAIN, ADDR, [0, 1]) == set()
    # and adopting them again does not steal them back
    assert a.leases.hold(CHAIN, ADDR, [0, 1], LeaseState.SENT) == set()
    assert a.leases.hold(CHAIN, ADDR, [7], LeaseState.SENT) == {7}


def test_a_heartbeat_keeps_the_leases(schema: str, workers: list[Worker]) -> None:
    a, b = spawn(workers, schema, expiry=2.0), spawn(workers, schema)
    a.take(1)
    for _ in range(4):  # 2.4 s in all: past the expiry, renewed every 0.6 s
        time.sleep(0.6)
        a.leases.heartbeat()
    assert b.leases.take_over(CHAIN, ADDR, KEY) == []


def test_a_retired_holder_is_taken_over_at_once(schema: str, workers: list[Worker]) -> None:
    a, b = spawn(workers, schema), spawn(workers, schema)
    a.take(1)
    a.leases.retire()
    assert [t.nonce for t in b.leases.take_over(CHAIN, ADDR, KEY)] == [0]


def test_racing_takers_of_a_freed_nonce_exactly_one_wins(
    schema: str, workers: list[Worker]
) -> None:
    dead = spawn(workers, schema)
    dead.take(5)
    takers = [spawn(workers, schema) for _ in range(4)]
    dead.close()
    assert until(lambda: takers[0].leases.has_dead(CHAIN, ADDR))
    start = threading.Barrier(len(takers))
    won: dict[str, list[int]] = {}

    def take_over(w: Worker) -> None:
        start.wait()
        won[w.leases.holder] = [t.nonce for t in w.leases.take_over(CHAIN, ADDR, KEY)]

    threads = [threading.Thread(target=take_over, args=(w,)) for w in takers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    every = sorted(n for nonces in won.values() for n in nonces)
    assert every == [0, 1, 2, 3, 4]  # each nonce to exactly one taker
    assert sum(1 for nonces in won.values() if nonces) == 1  # one transaction took them all
    winner = next(h for h, nonces in won.items() if nonces)
    assert set(takers[0].leases.leased(CHAIN, ADDR).values()) == {winner}


def test_racing_fresh_takes_never_share_a_nonce(schema: str, workers: list[Worker]) -> None:
    takers = [spawn(workers, schema) for _ in range(4)]
    start = threading.Barrier(len(takers))
    got: list[int] = []
    lock = threading.Lock()

    def take(w: Worker) -> None:
        start.wait()
        for _ in range(10):
            nonces = w.take(2, window=1000)
            with lock:
                got.extend(nonces)

    threads = [threading.Thread(target=take, args=(w,)) for w in takers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(got) == list(range(80))


def test_expiry_must_be_positive(schema: str, workers: list[Worker]) -> None:
    journal = PostgresJournal(pg_url(), schema=schema)
    try:
        with pytest.raises(ValidationError, match="lease expiry"):
            PostgresLeases(journal, expiry=0)
    finally:
        journal.close()


def test_a_version_2_schema_gains_the_lease_tables(schema: str) -> None:
    PostgresJournal(pg_url(), schema=schema).close()
    with psycopg.connect(pg_url(), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("DROP TABLE nonce_leases, lease_holders, operation_claims, history_runs")
        conn.execute(postgres._MIGRATIONS[1][0])  # type: ignore[arg-type]  # schema 2's history
        conn.execute("UPDATE schema_version SET version = 2")  # before the lease step
    with PostgresJournal(pg_url(), schema=schema) as j:
        assert j.schema_version() == SCHEMA_VERSION == 5
        leases = PostgresLeases(j)
        assert leases.take(CHAIN, ADDR, KEY, 0, 1, 16) == [0]


class AllocatorWorker:
    """A leased allocator on its own thread, loop and session: sends that succeed (the
    nonce is confirmed and later done), fail before broadcast (released) or stay in flight."""

    def __init__(self, schema: str, seed: int, window: int) -> None:
        from chainops.operators.evm.nonce_leases import LeasedNonceAllocator

        self.journal = PostgresJournal(pg_url(), schema=schema)
        self.nonces = LeasedNonceAllocator(
            CHAIN, ADDR, self.journal, _zero, PostgresLeases(self.journal), window=window
        )
        self.rng = random.Random(seed)
        self.kept: list[int] = []  # confirmed and done: used on the chain
        self.error: BaseException | None = None
        self.most_leased = 0

    async def work(self) -> None:
        async def one() -> None:
            nonce = await self.nonces.reserve()
            leased = len(self.nonces.leases.leased(CHAIN, str(self.nonces.address)))
            self.most_leased = max(self.most_leased, leased)
            await asyncio.sleep(0)
            if self.rng.random() < 0.3:
                await self.nonces.release(nonce)  # failed before broadcast
            else:
                await self.nonces.confirm(nonce)
                await self.nonces.done(nonce)
                self.kept.append(nonce)

        for _ in range(25):
            await asyncio.gather(*(one() for _ in range(3)))

    def run(self) -> None:
        try:
            asyncio.run(self.work())
        except BaseException as exc:  # pragma: no cover - reported by the test
            self.error = exc


async def _zero() -> int:
    return 0


@pytest.mark.parametrize("seed", [0, 1])
def test_leased_allocators_of_four_processes_share_window_and_nonces(
    schema: str, seed: int
) -> None:
    window = 8
    workers = [AllocatorWorker(schema, seed * 10 + n, window) for n in range(4)]
    threads = [threading.Thread(target=w.run) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    try:
        assert [w.error for w in workers] == [None] * 4
        kept = [n for w in workers for n in w.kept]
        assert len(kept) == len(set(kept))  # no nonce used by two workers
        most = max(w.most_leased for w in workers)
        assert 0 < most <= window  # one window for all of them
        # below the high-water mark: used once, or freed and still leased by the worker
        # that hands it out first; nothing else is leased (done ended every other lease)
        freed = [n for w in workers for n in w.nonces._released]
        high = workers[0].nonces.high_water()
        assert sorted(kept + freed) == list(range(high))
        address = str(workers[0].nonces.address)  # checksummed, as every operator writes it
        assert sorted(workers[0].nonces.leases.leased(CHAIN, address)) == sorted(freed)
    finally:
        for w in workers:
            w.journal.close()
