"""CEX: place+cancel round trips and order-book diff application, against ccxt, same simulator."""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from typing import Any

from bench.harness import Result
from chainops.devnet.exchange.accounts import Account
from chainops.devnet.exchange.engine import Engine
from chainops.devnet.exchange.filters import DEFAULT_SYMBOLS
from chainops.operators.exchanges import BinanceSpot, OrderBook

ROUND_TRIPS = 300
REPEATS = 5
DIFFS = 5000
PRICE = Decimal("1999.90")
AMOUNT = Decimal("0.01")


async def _round_trips(venue: dict[str, str]) -> tuple[float, float, float, float]:
    """Alternate rounds of ours and ccxt's against one simulator; median rate of each."""
    import ccxt.async_support as ccxt

    # no user stream: ccxt's REST client has none either, so both do the same HTTP work
    cex = BinanceSpot.connect(
        venue["api_key"],
        venue["api_secret"],
        base_url=venue["url"],
        stream_url=venue["stream_url"],
        ws_api_url=venue["ws_api_url"],
        user_stream=False,
    )
    exchange = ccxt.binance(
        {
            "apiKey": venue["api_key"],
            "secret": venue["api_secret"],
            "enableRateLimit": False,  # ours spends weight without sleeping too
            "options": {"fetchMarkets": ["spot"], "fetchCurrencies": False, "fetchMargins": False},
        }
    )
    url = venue["url"]
    for key in exchange.urls["api"]:  # every endpoint to loopback: nothing may leave the machine
        exchange.urls["api"][key] = f"{url}/api/v3" if key in ("public", "private") else url

    async def ours() -> None:
        await cex.cancel(await cex.place("ETH-USDT", "BUY", "LIMIT", AMOUNT, PRICE))

    async def theirs() -> None:
        order = await exchange.create_order("ETH/USDT", "limit", "buy", 0.01, 1999.9)
        await exchange.cancel_order(order["id"], "ETH/USDT")

    rates: dict[str, list[float]] = {"ours": [], "theirs": []}
    cpu: dict[str, list[float]] = {"ours": [], "theirs": []}  # this process only: the client
    try:
        await cex.start()
        await exchange.load_markets()
        await ours()  # warm-up: connections open, caches filled
        await theirs()
        for _ in range(REPEATS):
            for name, trip in (("ours", ours), ("theirs", theirs)):
                start, start_cpu = time.perf_counter(), time.process_time()
                for _ in range(ROUND_TRIPS):
                    await trip()
                rates[name].append(ROUND_TRIPS / (time.perf_counter() - start))
                cpu[name].append((time.process_time() - start_cpu) / ROUND_TRIPS * 1e6)
    finally:
        await exchange.close()
        await cex.close()
    return (
        statistics.median(rates["ours"]),
        statistics.median(rates["theirs"]),
        statistics.median(cpu["ours"]),
        statistics.median(cpu["theirs"]),
    )


def _recorded_diffs() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A snapshot and a stream of depth diffs produced by the simulator's engine (seeded)."""
    rng = random.Random(1)
    engine = Engine(DEFAULT_SYMBOLS)
    spec = DEFAULT_SYMBOLS[0]
    trader = Account("t", "t")
    trader.deposit("USDT", Decimal(10**12))
    trader.deposit("ETH", Decimal(10**9))
    book = engine.books[spec.symbol]
    open_ids: list[Any] = []
    for n in range(200):  # a book 100 levels deep per side
        side = "BUY" if n % 2 else "SELL"
        price = Decimal(2000) + (-1 if side == "BUY" else 1) * Decimal(n // 2 + 1) / 4
        engine.place(
            trader,
            spec,
            side=side,
            type="LIMIT",
            tif="GTC",
            price=price,
            qty=Decimal("0.5"),
            client_id=f"s{n}",
            now=0,
        )
    book.take_diff()
    snapshot = {"lastUpdateId": book.update_id, **book.depth(1000)}
    diffs = []
    n = 0
    while len(diffs) < DIFFS:
        for _ in range(rng.randint(1, 8)):  # a 100 ms stream batches several book changes
            n += 1
            _random_change(engine, trader, rng, open_ids, n)
        diff = book.take_diff()
        if diff is not None:
            first, last, bids, asks = diff
            diffs.append({"U": first, "u": last, "b": bids, "a": asks})
    return snapshot, diffs


def _random_change(
    engine: Engine, trader: Account, rng: random.Random, open_ids: list[Any], n: int
) -> None:
    spec = DEFAULT_SYMBOLS[0]
    if open_ids and rng.random() < 0.4:
        order = open_ids.pop(rng.randrange(len(open_ids)))
        if order.is_open:
            engine.cancel(order, 0)
    else:
        side = rng.choice(["BUY", "SELL"])
        offset = Decimal(rng.randint(1, 100)) / 4
        price = Decimal(2000) - offset if side == "BUY" else Decimal(2000) + offset
        result = engine.place(
            trader,
            spec,
            side=side,
            type="LIMIT",
            tif="GTC",
            price=price,
            qty=Decimal(rng.randint(1, 50)) / 100,
            client_id=f"d{n}",
            now=0,
        )
        open_ids.append(result.order)


def _apply_ours(snapshot: dict[str, Any], diffs: list[dict[str, Any]]) -> float:
    start = time.perf_counter()
    book = OrderBook("ETH-USDT")
    book.apply_snapshot(snapshot["lastUpdateId"], snapshot["bids"], snapshot["asks"])
    for d in diffs:
        book.apply_diff(d["U"], d["u"], d["b"], d["a"])
    return time.perf_counter() - start


def _apply_ccxt(snapshot: dict[str, Any], diffs: list[dict[str, Any]]) -> float:
    import ccxt.pro

    exchange = ccxt.pro.binance()
    start = time.perf_counter()
    book = exchange.order_book({})
    book.reset(exchange.parse_order_book(snapshot, "ETH/USDT"))
    book["nonce"] = snapshot["lastUpdateId"]
    for d in diffs:  # what ccxt's binance handler does per depthUpdate message
        if d["u"] <= book["nonce"] or d["U"] != book["nonce"] + 1:
            raise RuntimeError("ccxt sequence check failed")
        exchange.handle_deltas(book["asks"], d["a"])
        exchange.handle_deltas(book["bids"], d["b"])
        book["nonce"] = d["u"]
    return time.perf_counter() - start


def run() -> list[Result]:
    # the simulator runs in its own process so that it never competes for our GIL
    command = [
        sys.executable,
        "-m",
        "chainops.devnet.exchange",
        "--seed",
        "1",
        "--fund",
        "USDT=1e7",
    ]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        venue = json.loads(server.stdout.readline())
        ours, theirs, ours_cpu, theirs_cpu = asyncio.run(_round_trips(venue))
    finally:
        server.terminate()
        server.wait(timeout=10)
    snapshot, diffs = _recorded_diffs()
    levels = sum(len(d["b"]) + len(d["a"]) for d in diffs)
    ours_book = statistics.median(levels / _apply_ours(snapshot, diffs) for _ in range(5))
    ccxt_book = statistics.median(levels / _apply_ccxt(snapshot, diffs) for _ in range(5))
    return [
        Result(
            name="cex_place_cancel",
            unit="round trips/s",
            ours=ours,
            baseline=theirs,
            baseline_name="ccxt async binance (REST, urls pointed at the simulator)",
            higher_is_better=True,
            details={
                "round_trips": ROUND_TRIPS,
                "repeats": REPEATS,
                "client_cpu_us_per_round_trip_ours": round(ours_cpu),
                "client_cpu_us_per_round_trip_ccxt": round(theirs_cpu),
            },
        ),
        Result(
            name="cex_book_diffs",
            unit="levels/s",
            ours=ours_book,
            baseline=ccxt_book,
            baseline_name="ccxt pro OrderBook with binance's delta handler (floats)",
            higher_is_better=True,
            details={"diffs": len(diffs), "levels": levels},
        ),
    ]
