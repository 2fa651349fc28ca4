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

from chainops.devnet.exchange.accounts import PAPER_FUNDS
from chainops.devnet.exchange.server import ExchangeSimulator


async def _serve(args: argparse.Namespace) -> None:
    simulator = ExchangeSimulator(seed=args.seed, port=args.port, weight_limit=args.weight_limit)
    async with simulator as sim:
        funds = dict(item.split("=", 1) for item in args.fund) or dict(PAPER_FUNDS)
        made = [
            sim.create_account({a: Decimal(v) for a, v in funds.items()})
            for _ in range(args.accounts)
        ]
        keys = [{"api_key": a.api_key, "api_secret": a.secret} for a in made]
        info = {
            "url": sim.url,
            "stream_url": sim.stream_url,
            "ws_api_url": sim.ws_api_url,
            **keys[0],
            "accounts": keys,
        }
        print(json.dumps(info), flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="Binance-compatible exchange simulator")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fund", action="append", default=[], help="ASSET=AMOUNT, repeatable")
    parser.add_argument("--accounts", type=int, default=1, help="how many funded accounts")
    parser.add_argument(
        "--weight-limit", type=int, default=6000, help="request weight per minute and IP"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()
