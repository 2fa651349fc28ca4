"""A worker process for the several-workers tests: send this worker's transfers, some at a time.

Usage: python workers_child.py RPC_URL PRIVATE_KEY JOURNAL TO WORKER COUNT
Transfer ``i`` of worker ``w`` carries ``value_wei(w, i)`` wei, so every transfer can be
found on the chain. A restarted worker restores what its journal left open, then sends
only the transfers the journal does not hold yet. Prints READY once started (the journal
restored) and sends when a line arrives on stdin, so that no worker restores while
another is mid-send; prints DONE at the end.
"""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal

import chainops.operators.evm  # noqa: F401  (registers the EVM operator)
from chainops.core.transaction import Transaction
from chainops.operators.base import OperatorFactory
from chainops.operators.evm import EvmOperator

BATCH = 10  # transfers in flight per worker at a time


def value_wei(worker: int, i: int) -> int:
    return 10**12 + worker * 10_000 + i


async def main(rpc_url: str, key: str, journal: str, to: str, worker: int, count: int) -> None:
    evm = OperatorFactory.create(
        "devnet",
        cache=False,
        rpc_url=rpc_url,
        private_key=key,
        journal_path=journal,
        track_finality=False,
    )
    assert isinstance(evm, EvmOperator)
    async with evm:
        for tx in evm.restored:
            await tx.wait(timeout=120)
        journalled = {
            int(op.value)
            for op in evm.journal.list_operations(kind="transaction", owner=evm.owner)
            if isinstance(op, Transaction) and op.value is not None
        }
        todo = [i for i in range(count) if value_wei(worker, i) not in journalled]
        print("READY", len(todo), flush=True)
        await asyncio.to_thread(sys.stdin.readline)

        async def one(i: int) -> None:
            tx = await evm.send(to=to, value=Decimal(value_wei(worker, i)) / 10**18)
            print("SENT", i, flush=True)
            await tx.wait(timeout=120)

        for start in range(0, len(todo), BATCH):
            await asyncio.gather(*(one(i) for i in todo[start : start + BATCH]))
    print("DONE", flush=True)


if __name__ == "__main__":
    rpc, k, j, dest, w, n = sys.argv[1:7]
    asyncio.run(main(rpc, k, j, dest, int(w), int(n)))
