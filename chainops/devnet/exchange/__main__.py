"""``python -m chainops.devnet.exchange``: serve the simulator until interrupted.

Prints one JSON line (URLs, and the key and secret of an account funded with
``--fund ASSET=AMOUNT``), then serves: a paper-trading venue in its own process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from decimal import Decimal

from chainops.devnet.exchange.server import ExchangeSimulator


async def _serve(args: argparse.Namespace) -> None:
    async with ExchangeSimulator(seed=args.seed, port=args.port) as sim:
        funds = dict(item.split("=", 1) for item in args.fund)
        account = sim.create_account({a: Decimal(v) for a, v in funds.items()})
        info = {
            "url": sim.url,
            "stream_url": sim.stream_url,
            "ws_api_url": sim.ws_api_url,
            "api_key": account.api_key,
            "api_secret": account.secret,
        }
        print(json.dumps(info), flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="Binance-compatible exchange simulator")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fund", action="append", default=[], help="ASSET=AMOUNT, repeatable")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()
