"""A worker process placing limit orders on one simulator account through a shared journal.

Usage: python cex_workers_child.py VENUE_JSON JOURNAL WORKER COUNT
Order ``i`` of worker ``w`` is a resting BUY at ``price(w, i)``, so every order can be
found on the venue. A restarted worker restores the orders its journal left open
(reconciled by client id: placed ones are followed, ones the venue never got fail once
their receive window closes), then places only the orders neither on the venue nor on
their way. Prints READY, places when a line arrives on stdin, prints PLACED i per order
and DONE at the end.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from decimal import Decimal

from chainops.core.order import Order, OrderState
from chainops.operators.exchanges import BinanceSpot

PAIR = "ETH-USDT"
AMOUNT = Decimal("0.01")
SETTLING = {OrderState.PENDING_CREATE, OrderState.UNKNOWN}
PACE = 0.02  # seconds between two orders of a worker, as a strategy's loop would pause
GONE = {OrderState.FAILED, OrderState.CANCELED, OrderState.EXPIRED}


def price(worker: int, i: int) -> Decimal:
    """Far below the market, so it rests; unique per (worker, i)."""
    return Decimal(1000 + worker * 100) + Decimal(i) / 100


async def todo_after_restore(cex: BinanceSpot, worker: int, count: int) -> list[int]:
    """This worker's orders that are neither on the venue nor on their way, once settled.

    The journal records an order before placing it and again once it is final; between
    the two, the state restore() reconciled from the venue is the tracker's.
    """
    deadline = time.monotonic() + 60
    while True:
        latest: dict[str, Order] = {}
        for op in cex.journal.list_operations(kind="order", owner=cex.owner):
            if isinstance(op, Order):
                latest[str(op.client_id)] = op
        for tracked in cex.tracker.all():
            latest[str(tracked.client_id)] = tracked
        states: dict[Decimal, set[OrderState]] = {}
        for order in latest.values():
            if order.price is not None:
                states.setdefault(order.price, set()).add(order.state)
        mine = [states.get(price(worker, i), set()) for i in range(count)]
        if not any(s & SETTLING for s in mine):
            return [i for i, s in enumerate(mine) if not s - GONE]
        stuck = [(i, s) for i, s in enumerate(mine) if s & SETTLING]
        assert time.monotonic() < deadline, f"journalled orders never settled: {stuck}"
        await asyncio.sleep(0.3)


async def main(venue: dict[str, str], journal: str, worker: int, count: int) -> None:
    cex = BinanceSpot.connect(
        venue["api_key"],
        venue["api_secret"],
        base_url=venue["url"],
        stream_url=venue["stream_url"],
        ws_api_url=venue["ws_api_url"],
        journal_path=journal,
        recv_window_ms=1000,  # an order the venue never got is known missing 1 s later
    )
    async with cex:
        todo = await todo_after_restore(cex, worker, count)
        print("READY", len(todo), cex.ids.tag, flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        for i in todo:
            await cex.place(PAIR, "buy", "limit", AMOUNT, price(worker, i))
            print("PLACED", i, flush=True)
            await asyncio.sleep(PACE)
    print("DONE", flush=True)


if __name__ == "__main__":
    info, j, w, n = sys.argv[1:5]
    asyncio.run(main(json.loads(info), j, int(w), int(n)))
