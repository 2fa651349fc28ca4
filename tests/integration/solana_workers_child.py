"""A worker process for the Solana several-workers test: send this worker's transfers.

Usage: python solana_workers_child.py RPC_URL SECRET_KEY JOURNAL TO WORKER COUNT LEASE_EXPIRY
Transfer ``i`` of worker ``w`` carries ``lamports(w, i)``, so every transfer can be found
on the cluster. A restarted worker restores what no live worker claims, waits until every
transfer of its own that the journal holds is settled (another worker may be finishing
it), then sends only those that neither landed nor are on their way. Prints READY once
started and sends when a line arrives on stdin; prints DONE (and the sends it took over
from dead workers) at the end. A send refused with LeaseLost (nothing left) is sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from decimal import Decimal

from worker_process import unsettled

from chainops.core.errors import ChainopsError, LeaseLost
from chainops.core.transaction import TxState
from chainops.operators.solana import SolanaOperator

BATCH = 10  # transfers in flight per worker at a time
LANDED = {TxState.INCLUDED, TxState.CONFIRMED, TxState.FINALIZED}
FAILED = {TxState.REJECTED, TxState.EXPIRED, TxState.REVERTED}


def lamports(worker: int, i: int) -> int:
    return 1_000_000 + worker * 10_000 + i


async def main(
    rpc_url: str, key: str, journal: str, to: str, worker: int, count: int, expiry: float
) -> None:
    sol = SolanaOperator.from_options(
        "solana-local",
        rpc_url=rpc_url,
        secret_key=key,
        journal_path=journal,
        track_finality=False,
        lease_expiry=expiry,
    )
    async with sol:
        assert sol.claims is not None, "a PostgreSQL journal coordinates the workers"
        for tx in sol.restored:
            with contextlib.suppress(ChainopsError):  # a failed one is sent again below
                await tx.wait(timeout=60)
        values = [lamports(worker, i) for i in range(count)]
        todo = await unsettled(
            sol.journal, sol.owner, values, done=LANDED, failed=FAILED, timeout=60
        )
        print("READY", len(todo), flush=True)
        await asyncio.to_thread(sys.stdin.readline)

        async def one(i: int) -> None:
            while True:
                try:
                    tx = await sol.transfer(to, Decimal(lamports(worker, i)) / 10**9)
                    break
                except LeaseLost:
                    continue  # nothing was broadcast: send again
            print("SENT", i, flush=True)
            await tx.wait(timeout=60)

        for start in range(0, len(todo), BATCH):
            await asyncio.gather(*(one(i) for i in todo[start : start + BATCH]))
    print("DONE", sol.claims.taken_over, flush=True)


if __name__ == "__main__":
    if os.environ.get("CHAINOPS_WORKER_LOG"):  # diagnostics: the workers' logs on stderr
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    rpc, k, j, dest, w, n, e = sys.argv[1:8]
    asyncio.run(main(rpc, k, j, dest, int(w), int(n), float(e)))
