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
from chainops.devnet.exchange.weights import ORDER_LIMITS, order_limits


def _order_limit(text: str) -> tuple[str, int, int]:
    """``SECOND:10:100``: an ORDERS limit of 100 orders per 10 seconds."""
    try:
        interval, num, limit = text.split(":")
        return order_limits([(interval.upper(), int(num), int(limit))])[0]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected INTERVAL:NUM:LIMIT, e.g. SECOND:10:100"
        ) from None


async def _serve(args: argparse.Namespace) -> None:
    simulator = ExchangeSimulator(
        seed=args.seed,
        port=args.port,
        weight_limit=args.weight_limit,
        order_limits=args.order_limit or ORDER_LIMITS,
        enforce_order_limits=args.enforce_order_limits,
    )
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
    parser.add_argument(
        "--order-limit",
        type=_order_limit,
        action="append",
        default=[],
        metavar="INTERVAL:NUM:LIMIT",
        help="an ORDERS limit per account, repeatable (replaces SECOND:10:100 and DAY:1:200000)",
    )
    parser.add_argument(
        "--enforce-order-limits",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="refuse orders over an ORDERS limit (-1015), as Binance does; otherwise only count",
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()
