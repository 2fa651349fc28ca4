"""Intents: reconciliation lag after a websocket cut, and intents/s against direct placing."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from decimal import Decimal

from bench.harness import Result
from chainops.devnet.exchange import ExchangeSimulator
from chainops.devnet.exchange.accounts import Account
from chainops.operators.exchanges import BinanceSpot
from chainops.operators.exchanges.intents import ExchangeKernel

PAIR = "ETH-USDT"
AMOUNT = Decimal("0.01")
ASK = Decimal("2000.20")  # inside the seeded spread: our order is the best ask
STEP = Decimal("0.10")
STOP = Decimal("1999.50")  # a native list's stop leg, below the seeded best bid
PLACES = 100
CUTS = 5


def _operator(sim: ExchangeSimulator, account: Account, **options: object) -> BinanceSpot:
    return BinanceSpot.connect(
        account.api_key,
        account.secret,
        base_url=sim.url,
        stream_url=sim.stream_url,
        ws_api_url=sim.ws_api_url,
        **options,
    )


def _open(sim: ExchangeSimulator, account: Account) -> set[str]:
    return {o.client_order_id for o in sim.engine.open_orders(account, "ETHUSDT")}


async def _until(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not predicate():  # noqa: ASYNC110  # polls the in-process venue
            await asyncio.sleep(0.002)


async def _rates() -> tuple[float, float]:
    """Placements per second: through the kernel, and direct ``place`` calls."""
    # 200 placements in a few seconds on one account: over Binance's 100 orders per 10 s
    async with ExchangeSimulator(seed=3, enforce_order_limits=False) as sim:
        account = sim.create_account({"USDT": "1000000", "ETH": "100"})
        op = await _operator(sim, account).start()
        try:
            started = time.perf_counter()
            for n in range(PLACES):
                await op.place(PAIR, "BUY", "LIMIT", AMOUNT, Decimal("1999.80") - n % 20 * STEP)
            direct = PLACES / (time.perf_counter() - started)
            await op.cancel_all(PAIR)
            kernel = await ExchangeKernel(op).start()
            started = time.perf_counter()
            for n in range(PLACES):
                await kernel.place_order(
                    PAIR, "BUY", "LIMIT", AMOUNT, Decimal("1999.80") - n % 20 * STEP
                )
            through = PLACES / (time.perf_counter() - started)
            await kernel.cancel_all_orders()
            await kernel.stop()
        finally:
            await op.close()
    return through, direct


def _legs(native: bool) -> list[dict[str, object]]:
    """A SELL OCO filled by a buy at ASK: two limit legs (emulated) or the venue's list."""
    leg = {"trading_pair": PAIR, "side": "SELL", "amount": AMOUNT}
    if not native:
        return [leg | {"price": ASK + STEP}, leg | {"price": ASK}]
    stop = {"order_type": "STOP_LOSS_LIMIT", "stop_price": STOP, "price": STOP - 1}
    return [leg | stop, leg | {"order_type": "LIMIT_MAKER", "price": ASK}]


async def _lag(*, user_stream: bool, native: bool = False) -> float:
    """Seconds from an OCO leg filling during a websocket cut to the other leg gone."""
    async with ExchangeSimulator(seed=3) as sim:
        account = sim.create_account({"USDT": "1000000", "ETH": "100"})
        taker = sim.create_account({"USDT": "1000000"})
        # REST order entry: only the user stream (or the timer) can report the fill
        op = await _operator(sim, account, user_stream=user_stream, order_entry="rest").start()
        kernel = await ExchangeKernel(op, interval=1.0).start()
        try:
            upper, _ = await kernel.place_order_group(_legs(native))
            await asyncio.sleep(0.2)  # let the passes the placing triggered finish
            await sim.disconnect_websockets(market=False)
            started = time.perf_counter()
            sim.place_direct(
                taker, "ETHUSDT", side="BUY", type="LIMIT", tif="IOC", price=ASK, qty=AMOUNT,
                client_id="taker",
            )  # fmt: skip
            await _until(
                lambda: not _open(sim, account) and kernel.get_order_intent(upper).is_terminal
            )
            return time.perf_counter() - started
        finally:
            await kernel.stop()
            await op.close()


def run() -> list[Result]:
    through, direct = asyncio.run(_rates())
    with_reconnect = statistics.median(asyncio.run(_lag(user_stream=True)) for _ in range(CUTS))
    timer_only = statistics.median(asyncio.run(_lag(user_stream=False)) for _ in range(CUTS))
    native = statistics.median(
        asyncio.run(_lag(user_stream=True, native=True)) for _ in range(CUTS)
    )
    return [
        Result(
            "intents: place_order/s",
            "ops/s",
            through,
            direct,
            "direct ExchangeOperator.place",
            higher_is_better=True,
            details={"orders": PLACES},
        ),
        Result(
            "intents: OCO lag after ws cut",
            "s",
            with_reconnect,
            timer_only,
            "timer pass only (1 s, no stream)",
            higher_is_better=False,
            details={"cuts": CUTS},
        ),
        Result(
            "intents: native OCO lag, ws cut",
            "s",
            native,
            with_reconnect,
            "emulated OCO (two orders, the kernel cancels)",
            higher_is_better=False,
            details={"cuts": CUTS},
        ),
    ]
