"""Operator process: an EVM operator served over a queue until SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys

import chainops.operators.evm  # noqa: F401  (registers the EVM operator)
from chainops.operators.base import OperatorFactory
from chainops.queues import open_transport
from chainops.queues.remote import OperatorService


async def main(url: str, rpc_url: str, key: str, journal: str, commands: str, events: str) -> None:
    transport = await open_transport(url)
    op = OperatorFactory.create(
        "devnet", cache=False, rpc_url=rpc_url, private_key=key, journal_path=journal
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with op:
        service = OperatorService(op, transport, commands=commands, events=events)  # type: ignore[arg-type]
        print("ready", flush=True)
        await service.run(stop)
    await transport.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:7]))
