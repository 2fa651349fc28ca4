"""Exchange operator process: a Binance adapter on the simulator, served over a queue.

``die_after`` > 0: after acting on that many commands the process kills itself
(SIGKILL) before acknowledging them, so they stay pending for a peer.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Any

from chainops.operators.exchanges import BinanceSpot
from chainops.queues import open_transport
from chainops.queues.exchange_service import ExchangeService


async def main(
    url: str, sim_url: str, key: str, secret: str, journal: str, cmds: str, evts: str, die: str
) -> None:
    transport = await open_transport(url)
    host = sim_url.removeprefix("http://")
    op = BinanceSpot.connect(
        key,
        secret,
        base_url=sim_url,
        stream_url=f"ws://{host}",
        ws_api_url=f"ws://{host}/ws-api/v3",
        journal_path=journal,
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with op:
        await op.restore()
        service = ExchangeService(op, transport, commands=cmds, events=evts, claim_after=1.0)
        if int(die) > 0:
            _die_after(service, int(die))
        print("ready", flush=True)
        await service.run(stop)
        await service.close()
    await transport.close()


def _die_after(service: ExchangeService, n: int) -> None:
    acted: list[str] = []
    for kind, handler in list(service.handlers.items()):

        async def then_die(cmd: Any, handler: Any = handler) -> None:
            await handler(cmd)
            acted.append(cmd.id)
            if len(acted) == n:
                assert service.forwarder is not None
                await service.forwarder.flush()  # the answers are out, the acks are not
                print(f"acted {n}", flush=True)
                os.kill(os.getpid(), signal.SIGKILL)

        service.handlers[kind] = then_die


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:9]))
