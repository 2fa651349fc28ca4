"""Several workers on one account: PostgreSQL journal against SQLite in one process.

1. journal writes/s: one signed attempt journalled per call (the write before each
   broadcast), SQLite with FULL sync against PostgreSQL on loopback;
2. transfers/s on one Anvil account, every transfer waited to CONFIRMED: one process
   through SQLite, one process through PostgreSQL, four processes sharing the account
   through one PostgreSQL journal (nonces leased in the database);
3. nonce lease cycles/s (reserve, confirm before broadcast, done: what each transfer
   costs the allocator), 16 in flight: leases in PostgreSQL against the in-process
   allocator of the SQLite journal.

Needs PostgreSQL (``CHAINOPS_TEST_POSTGRES_URL``, default the local ``test`` database);
without it the rows are skipped. ``CHAINOPS_BENCH_WORKERS_N`` sets the transfer count
(default 400, split evenly between the workers).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.bench_journal import _signed_transactions
from bench.harness import Result
from chainops.core.journal import Journal, SqliteJournal

N = int(os.environ.get("CHAINOPS_BENCH_WORKERS_N", "400"))
WRITES = 300
CYCLES = 800
VALUE_WEI = 10**12
PG_URL = os.environ.get("CHAINOPS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_answers() -> bool:
    try:
        import psycopg

        psycopg.connect(PG_URL, connect_timeout=3).close()
    except Exception:  # missing driver or no server: the PostgreSQL rows are skipped
        return False
    return True


def _drop(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")  # type: ignore[arg-type]


async def _zero() -> int:
    return 0


async def _cycles_per_s(journal: Journal, leased: bool) -> float:
    from chainops.operators.evm.nonce_leases import shared_allocator
    from chainops.operators.evm.nonces import NonceAllocator

    address = "0x00000000000000000000000000000000000000b1"
    nonces = (
        shared_allocator(31337, address, journal, _zero, 16, 10.0)
        if leased
        else NonceAllocator(31337, address, journal, _zero, window=16)
    )
    assert nonces is not None

    async def cycle() -> None:
        nonce = await nonces.reserve()
        await nonces.confirm(nonce)
        await nonces.done(nonce)

    start = time.perf_counter()
    for _ in range(CYCLES // 16):
        await asyncio.gather(*(cycle() for _ in range(16)))
    return CYCLES // 16 * 16 / (time.perf_counter() - start)


def _writes_per_s(journal: Journal) -> float:
    txs = _signed_transactions(WRITES)
    start = time.perf_counter()
    for tx in txs:
        journal.record_attempt(tx)
    return WRITES / (time.perf_counter() - start)


async def _send(
    rpc_url: str,
    key: str,
    journal: str,
    n: int,
    to: str,
    window: int = 16,
    ready: Any = None,
    go: Any = None,
) -> float:
    """Start an operator, send ``n`` transfers and wait for each; the wall-clock end time.

    With ``ready``/``go`` (a worker process): signal once started, send on the go signal.
    """
    import chainops.operators.evm  # noqa: F401  (registers the EVM operator)
    from chainops.operators.base import OperatorFactory

    evm = OperatorFactory.create(
        "devnet",
        cache=False,
        rpc_url=rpc_url,
        private_key=key,
        track_finality=False,
        journal_path=journal,
        max_in_flight=window,
    )

    async def one() -> None:
        tx = await evm.send(to=to, value=Decimal(VALUE_WEI) / 10**18)
        await tx.wait(timeout=300)

    async with evm:
        if ready is not None:
            ready.release()
            await asyncio.to_thread(go.wait)
        await asyncio.gather(*(one() for _ in range(n)))
        return time.time()


def _worker(args: tuple[str, str, str, int, str, int], ready: Any, go: Any, out: Any) -> None:
    out.put(asyncio.run(_send(*args, ready=ready, go=go)))


def _one_process(rpc_url: str, key: str, journal: str, n: int, to: str) -> float:
    start = time.time()
    return n / (asyncio.run(_send(rpc_url, key, journal, n, to)) - start)


def _processes(
    rpc_url: str, key: str, journal: str, n: int, to: str, workers: int, window: int = 16
) -> float:
    """Transfers/s of ``workers`` processes on one account, from the go signal to the last."""
    ctx = multiprocessing.get_context("spawn")
    ready, go, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    each = n // workers
    procs = [
        ctx.Process(
            target=_worker, args=((rpc_url, key, journal, each, to, window), ready, go, out)
        )
        for _ in range(workers)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    start = time.time()
    go.set()
    ends = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    return each * workers / (max(ends) - start)


def run() -> list[Result]:
    if not _pg_answers():
        print(f"[bench_workers] no PostgreSQL at {PG_URL}: skipped")
        return []
    from chainops.core.journal.postgres import PostgresJournal
    from chainops.devnet.world import World

    folder = Path(tempfile.mkdtemp(prefix="chainops-bench-"))
    schemas = [f"bench_{uuid.uuid4().hex[:10]}" for _ in range(4)]
    try:
        with SqliteJournal(folder / "w.sqlite") as sq:
            sqlite_writes = _writes_per_s(sq)
            sqlite_cycles = asyncio.run(_cycles_per_s(sq, leased=False))
        with PostgresJournal(PG_URL, schema=schemas[0]) as pg:
            pg_writes = _writes_per_s(pg)
            pg_cycles = asyncio.run(_cycles_per_s(pg, leased=True))
        base = World.start()
        try:
            to = base.book.accounts[9].address
            key = base.book.accounts[3].private_key
            with base.fork() as fork:
                sqlite_one = _one_process(fork.rpc_url, key, str(folder / "t.sqlite"), N, to)
            with base.fork() as fork:
                pg_one = _one_process(fork.rpc_url, key, f"{PG_URL}#{schemas[1]}", N, to)
            with base.fork() as fork:
                pg_four = _processes(fork.rpc_url, key, f"{PG_URL}#{schemas[2]}", N, to, 4)
            with base.fork() as fork:  # the window is the account's: 4 x 16 = what 4 had alone
                journal = f"{PG_URL}#{schemas[3]}"
                pg_four_wide = _processes(fork.rpc_url, key, journal, N, to, 4, window=64)
        finally:
            base.stop()
    finally:
        for schema in schemas:
            _drop(schema)
    details = {"n": N, "writes": WRITES}
    return [
        Result(
            "nonce_lease_cycles_postgres",
            "cycles/s",
            pg_cycles,
            sqlite_cycles,
            "in-process allocator, SQLite journal (reserve, confirm, done; 16 in flight)",
            True,
            {"cycles": CYCLES},
        ),
        Result(
            "journal_writes_postgres",
            "writes/s",
            pg_writes,
            sqlite_writes,
            "SQLite journal, FULL sync, one attempt per commit",
            True,
            details,
        ),
        Result(
            "workers_1_postgres",
            "tx/s",
            pg_one,
            sqlite_one,
            "one process, SQLite journal, transfers to CONFIRMED",
            True,
            details,
        ),
        Result(
            "workers_4_postgres",
            "tx/s",
            pg_four,
            sqlite_one,
            "one process, SQLite journal, transfers to CONFIRMED",
            True,
            details,
        ),
        Result(
            "workers_4_postgres_window_64",
            "tx/s",
            pg_four_wide,
            sqlite_one,
            "one process, SQLite journal, transfers to CONFIRMED",
            True,
            details | {"window": 64},
        ),
    ]
