"""Child process for the crash tests: send one transfer, then die by SIGKILL on cue.

Usage: python crash_child.py RPC_URL PRIVATE_KEY JOURNAL TO MODE
MODE "before-broadcast": die after sign-and-journal, before the node hears of it.
MODE "after-broadcast": die right after the broadcast, before any receipt.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from decimal import Decimal

from chainops.operators.base import OperatorFactory
from chainops.operators.evm import EvmOperator


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


async def main(rpc_url: str, key: str, journal: str, to: str, mode: str) -> None:
    evm = OperatorFactory.create("devnet", rpc_url=rpc_url, private_key=key, journal_path=journal)
    assert isinstance(evm, EvmOperator)
    async with evm:
        if mode == "before-broadcast":

            def crash(raw: bytes) -> None:
                die()

            # every broadcast is queued here (send_raw too): the node never hears of it
            evm.batcher.send_raw_soon = crash  # type: ignore[method-assign,assignment]
        tx = await evm.send(to=to, value=Decimal("0.25"))
        print("SENT", tx.client_id, tx.hash, flush=True)
        die()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
