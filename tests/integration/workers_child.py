"""A worker process for the several-workers tests: send this worker's transfers, some at a time.

Usage: python workers_child.py RPC_URL PRIVATE_KEY JOURNAL TO WORKER COUNT [LEASE_EXPIRY]
Transfer ``i`` of worker ``w`` carries ``value_wei(w, i)`` wei, so every transfer can be
found on the chain. A restarted worker restores what its journal left open (with a shared
journal: what no live worker holds), waits until every transfer of its own that the journal
holds is settled (another worker may be finishing it), then sends only the transfers that
are not mined or on their way. Prints READY once started and sends when a line arrives on
stdin; prints DONE at the end. A send refused with LeaseLost (nothing left) is sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from decimal import Decimal

from worker_process import unsettled

import chainops.operators.evm  # noqa: F401  (registers the EVM operator)
from chainops.core.errors import ChainopsError, LeaseLost
from chainops.core.transaction import TxState
from chainops.operators.base import OperatorFactory
from chainops.operators.evm import EvmOperator
from chainops.operators.evm.nonce_leases import LeasedNonceAllocator

BATCH = 10  # transfers in flight per worker at a time


def value_wei(worker: int, i: int) -> int:
    return 10**12 + worker * 10_000 + i


FAILED = {TxState.REJECTED, TxState.REPLACED, TxState.DROPPED, TxState.EXPIRED}
MINED = {TxState.INCLUDED, TxState.CONFIRMED, TxState.FINALIZED}


async def main(
    rpc_url: str, key: str, journal: str, to: str, worker: int, count: int, expiry: float
) -> None:
    evm = OperatorFactory.create(
        "devnet",
        cache=False,
        rpc_url=rpc_url,
        private_key=key,
        journal_path=journal,
        track_finality=False,
        lease_expiry=expiry,
    )
    assert isinstance(evm, EvmOperator)
    async with evm:
        for tx in evm.restored:
            with contextlib.suppress(ChainopsError):  # a failed one is sent again below
                await tx.wait(timeout=120)
        values = [value_wei(worker, i) for i in range(count)]
        todo = await unsettled(
            evm.journal, evm.owner, values, done=MINED, failed=FAILED, timeout=90
        )
        print("READY", len(todo), flush=True)
        await asyncio.to_thread(sys.stdin.readline)

        async def one(i: int) -> None:
            while True:
                try:
                    tx = await evm.send(to=to, value=Decimal(value_wei(worker, i)) / 10**18)
                    break
                except LeaseLost:
                    continue  # nothing was broadcast: send again
            print("SENT", i, flush=True)
            await tx.wait(timeout=120)

        for start in range(0, len(todo), BATCH):
            await asyncio.gather(*(one(i) for i in todo[start : start + BATCH]))
    taken = evm.nonces.taken_over if isinstance(evm.nonces, LeasedNonceAllocator) else 0
    print("DONE", taken, evm.metrics.gap_fills, flush=True)


if __name__ == "__main__":
    if os.environ.get("CHAINOPS_WORKER_LOG"):  # diagnostics: the workers' logs on stderr
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    rpc, k, j, dest, w, n = sys.argv[1:7]
    lease_expiry = float(sys.argv[7]) if len(sys.argv) > 7 else 10.0
    asyncio.run(main(rpc, k, j, dest, int(w), int(n), lease_expiry))
