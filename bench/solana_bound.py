"""The least an operator with the issue's guarantees can cost on the in-process SVM.

A deliberately bare operator, for scale only (it is not the product): each of N
concurrent transfers is admitted in waves of 500 like the real one, takes the
blockhash, is simulated, priced and signed exactly like the native floor, is
journalled (one row, SQLite WAL at FULL sync, one commit per loop turn) before it
is sent, and is then waited to *confirmed*, which is journalled too. What it leaves
out is everything else the real operator keeps: typed records and their history,
events, the re-send schedule, expiry, fees read back, claims.

    .venv/bin/python bench/solana_bound.py      # four rounds against the floor

``bench_solana`` prints its ratio beside the operator's, so the gap between the two
is the price of the operator's own model, not of the guarantees.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `bench.*` as a script

from chainops.devnet.solana import LiteSvmTransport, LocalChain
from chainops.operators.solana import SolanaSigner, programs
from chainops.operators.solana.messages import build_message, sign_message, unsigned_bytes

WAVE = 500  # the real operator's in-process wave
POLL_S = 0.005  # how often the bare monitor asks for statuses


class _Journal:
    """One table, one row a transfer: inserted before the send, updated once confirmed."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute(
            "CREATE TABLE transfers (id TEXT PRIMARY KEY, signature TEXT NOT NULL,"
            " raw BLOB NOT NULL, confirmed INTEGER NOT NULL)"
        )
        self._rows: list[tuple[str, str, bytes]] = []
        self._waiting: list[asyncio.Future[None]] = []

    def save(self, row: tuple[str, str, bytes]) -> asyncio.Future[None]:
        """Durable once the returned future is done: one commit for the loop turn's rows."""
        loop = asyncio.get_running_loop()
        if not self._rows:
            loop.call_soon(self._commit)
        done = loop.create_future()
        self._rows.append(row)
        self._waiting.append(done)
        return done

    def _commit(self) -> None:
        rows, waiting = self._rows, self._waiting
        self._rows, self._waiting = [], []
        self._write("INSERT INTO transfers VALUES (?, ?, ?, 0)", rows)
        for done in waiting:
            done.set_result(None)

    def confirmed(self, ids: list[str]) -> None:
        self._write("UPDATE transfers SET confirmed = 1 WHERE id = ?", [(i,) for i in ids])

    def _write(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """One transaction (autocommit mode: without BEGIN every row would be its own)."""
        self.db.execute("BEGIN")
        self.db.executemany(sql, rows)
        self.db.execute("COMMIT")


async def bare_operator(chain: LocalChain, n: int) -> tuple[float, float]:
    """(transfers/s, CPU µs per transfer) of N concurrent transfers to *confirmed*."""
    transport = LiteSvmTransport(chain)
    payer = SolanaSigner.generate()
    chain.airdrop(str(payer.pubkey), 10**13)
    to = SolanaSigner.generate().solders_pubkey
    folder = tempfile.mkdtemp(prefix="chainops-bench-bound-")
    journal = _Journal(Path(folder) / "journal.sqlite")
    loop = asyncio.get_running_loop()
    wave = asyncio.Semaphore(WAVE)
    numbers = itertools.count()
    in_flight: dict[str, tuple[str, asyncio.Future[None]]] = {}

    async def monitor() -> None:
        while True:
            await asyncio.sleep(POLL_S)
            signatures = list(in_flight)
            if not signatures:
                continue
            statuses = await transport.signature_statuses(signatures)
            landed = [
                s
                for s, status in zip(signatures, statuses, strict=True)
                if status is not None and status.commitment != "processed"
            ]
            if landed:
                journal.confirmed([in_flight[s][0] for s in landed])
                for signature in landed:
                    in_flight.pop(signature)[1].set_result(None)

    async def transfer() -> None:
        async with wave:
            client_id = f"bound-{next(numbers)}"
            blockhash = (await transport.latest_blockhash()).blockhash
            payer_key = payer.solders_pubkey
            body = [programs.transfer(payer_key, to, 1_000_000), programs.memo(client_id)]
            trial = build_message(
                payer_key,
                [
                    programs.set_compute_unit_limit(programs.MAX_COMPUTE_UNIT_LIMIT),
                    programs.set_compute_unit_price(0),
                    *body,
                ],
                blockhash,
            )
            simulation = await transport.simulate(unsigned_bytes(trial))
            assert simulation.err is None and simulation.units_consumed is not None
            limit = simulation.units_consumed + 1_000
            final = [programs.set_compute_unit_limit(limit), programs.set_compute_unit_price(0)]
            signed = sign_message(build_message(payer_key, [*final, *body], blockhash), [payer])
            await journal.save((client_id, signed.signature, signed.raw))
        await transport.send_raw(signed.raw)
        confirmed = loop.create_future()
        in_flight[signed.signature] = (client_id, confirmed)
        await confirmed

    watcher = asyncio.create_task(monitor())
    gc.collect()  # as the floor and the operator: a collected heap to start from
    cpu = time.process_time()
    start = time.perf_counter()
    await asyncio.gather(*[transfer() for _ in range(n)])
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    watcher.cancel()
    journal.db.close()
    shutil.rmtree(folder, ignore_errors=True)
    assert chain.balance(str(to)) == n * 1_000_000
    return n / elapsed, 1e6 * cpu / n


def run_bound(n: int, slot_time: float) -> tuple[float, float]:
    return asyncio.run(bare_operator(LocalChain(slot_time=slot_time), n))


if __name__ == "__main__":
    from bench.bench_solana import SLOT_TIME, N, _guarantee_floor

    ratios = []
    for _ in range(4):
        floor, floor_cpu = _guarantee_floor(N)
        bound, bound_cpu = run_bound(N, SLOT_TIME)
        ratios.append(bound / floor)
        print(
            f"floor {floor:,.0f} tx/s ({floor_cpu:.0f} µs CPU a transfer), bare operator "
            f"{bound:,.0f} tx/s ({bound_cpu:.0f} µs): {bound / floor:.2f}x"
        )
    print(f"median {statistics.median(ratios):.2f}x the floor")
