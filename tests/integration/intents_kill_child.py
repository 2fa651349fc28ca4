"""Child process for the intents kill test: a kernel with a journal, SIGKILLed mid-run.

Usage: python intents_kill_child.py URL STREAM_URL WS_API_URL KEY SECRET JOURNAL MODE
It places a plain intent and a native OCO bracket, then modifies the plain one;
MODE picks the request at which the process dies:
"oco-unsent"     the list's client ids are journalled, the list is never sent;
"oco-sent"       the venue placed the list, its reply is never applied;
"modify-unsent"  the replacement is journalled, the cancel-replace never sent;
"modify-sent"    the venue replaced the order, its reply is never applied;
"cancel-sent"    after all that, the OCO is cancelled: the venue cancels the list,
                 the reply is never applied.
Each intent id is printed as soon as it exists.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from decimal import Decimal
from typing import Any

from chainops.operators.exchanges import BinanceSpot
from chainops.operators.exchanges.intents import ExchangeKernel

ETH, AMOUNT = "ETH-USDT", Decimal("0.01")
BID, ASK, STOP = Decimal("1999.80"), Decimal("2000.20"), Decimal("1999.50")


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def kill_at(op: BinanceSpot, hook: str, *, sent: bool) -> None:
    real = getattr(op, hook)

    async def dying(*args: Any) -> Any:
        if sent:
            await real(*args)  # the venue executes; the reply dies with the process
        die()

    setattr(op, hook, dying)


async def main(
    url: str, stream: str, ws_api: str, key: str, secret: str, journal: str, mode: str
) -> None:
    op = BinanceSpot.connect(
        key, secret, base_url=url, stream_url=stream, ws_api_url=ws_api,
        journal_path=journal, recv_window_ms=500,
    )  # fmt: skip
    async with op, ExchangeKernel(op, interval=0.1) as kernel:
        single = await kernel.place_order(ETH, "BUY", "LIMIT", AMOUNT * 2, BID)
        print("SINGLE", single, flush=True)
        if mode.startswith("oco"):
            kill_at(op, "_venue_place_oco", sent=mode == "oco-sent")
        leg = {"trading_pair": ETH, "side": "SELL", "amount": AMOUNT}
        leg_id = f"i{len(kernel.get_all_intents()) + 1}"
        print("OCO", leg_id, flush=True)
        await kernel.place_order_group(
            [
                leg | {"order_type": "LIMIT_MAKER", "price": ASK},
                leg | {"order_type": "STOP_LOSS_LIMIT", "price": STOP - 1, "stop_price": STOP},
            ]
        )
        if mode.startswith("modify"):
            kill_at(op, "_venue_cancel_replace", sent=mode == "modify-sent")
        await kernel.modify_order(single, price=BID - Decimal("0.10"))
        kill_at(op, "_venue_cancel_list", sent=True)
        await kernel.cancel_order(leg_id)
    print("NOT KILLED", flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:8]))
