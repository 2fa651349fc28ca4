"""CEX: place+cancel (WebSocket API and REST), book diffs and stream decoding, against ccxt."""

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
from chainops.core.ids import TradingPair
from chainops.devnet.exchange.accounts import Account
from chainops.devnet.exchange.engine import Engine
from chainops.devnet.exchange.filters import DEFAULT_SYMBOLS
from chainops.operators.exchanges import BinanceSpot, OrderBook

ROUND_TRIPS = 300
REPEATS = 5
DIFFS = 5000
STREAM_MESSAGES = 5000
PRICE = Decimal("1999.90")
AMOUNT = Decimal("0.01")


def _ccxt_client(venue: dict[str, str], pro: bool = False) -> Any:
    """ccxt's binance with only its URLs pointed at the simulator (what users override)."""
    import ccxt.async_support as ccxt
    import ccxt.pro as ccxtpro

    cls = ccxtpro.binance if pro else ccxt.binance
    exchange = cls({"apiKey": venue["api_key"], "secret": venue["api_secret"],
                    "enableRateLimit": False})  # fmt: skip  # ours spends weight without sleeping

    def point(urls: dict[str, Any]) -> None:
        for key, value in urls.items():
            if isinstance(value, dict):
                point(value)
            elif isinstance(value, str):
                for host in _BINANCE_HOSTS:
                    value = value.replace(host, venue["url"])
                urls[key] = value.replace("wss://stream.binance.com:9443", venue["stream_url"])

    point(exchange.urls["api"])
    return exchange


_BINANCE_HOSTS = ("https://api.binance.com", "https://fapi.binance.com",
                  "https://dapi.binance.com", "https://eapi.binance.com",
                  "https://www.binance.com", "https://papi.binance.com")  # fmt: skip


async def _round_trips(
    venue: dict[str, str],
) -> tuple[dict[str, tuple[float, float]], dict[str, Any]]:
    """Alternate rounds of each client against one simulator; median rate and CPU of each."""
    # no user stream: ccxt's REST client has none either, so all do the same order work
    options = {"base_url": venue["url"], "stream_url": venue["stream_url"],
               "ws_api_url": venue["ws_api_url"], "user_stream": False}  # fmt: skip
    ws = BinanceSpot.connect(venue["api_key"], venue["api_secret"], **options)
    rest = BinanceSpot.connect(venue["api_key"], venue["api_secret"], order_entry="rest", **options)
    exchange = _ccxt_client(venue)

    def ours(cex: BinanceSpot) -> Any:
        async def trip() -> None:
            await cex.cancel(await cex.place("ETH-USDT", "BUY", "LIMIT", AMOUNT, PRICE))

        return trip

    async def theirs() -> None:
        order = await exchange.create_order("ETH/USDT", "limit", "buy", 0.01, 1999.9)
        await exchange.cancel_order(order["id"], "ETH/USDT")

    trips = {"ws": ours(ws), "rest": ours(rest), "ccxt": theirs}
    rates: dict[str, list[float]] = {name: [] for name in trips}
    cpu: dict[str, list[float]] = {name: [] for name in trips}  # this process only: the client
    try:
        await ws.start()
        await rest.start()
        await exchange.load_markets()
        for trip in trips.values():  # warm-up: connections open, caches filled
            await trip()
        for _ in range(REPEATS):
            for name, trip in trips.items():
                start, start_cpu = time.perf_counter(), time.process_time()
                for _ in range(ROUND_TRIPS):
                    await trip()
                rates[name].append(ROUND_TRIPS / (time.perf_counter() - start))
                cpu[name].append((time.process_time() - start_cpu) / ROUND_TRIPS * 1e6)
    finally:
        await exchange.close()
        await ws.close()
        await rest.close()
    figures = {n: (statistics.median(rates[n]), statistics.median(cpu[n])) for n in trips}
    return figures, exchange.markets["ETH/USDT"]


def _stream_messages() -> dict[str, list[str]]:
    """Trade and kline stream payloads as the simulator sends them (seeded engine matches)."""
    from chainops.devnet.exchange import events

    rng = random.Random(2)
    engine = Engine(DEFAULT_SYMBOLS)
    spec = DEFAULT_SYMBOLS[0]
    maker, taker = Account("m", "m"), Account("t", "t")
    for acct in (maker, taker):
        acct.deposit("USDT", Decimal(10**12))
        acct.deposit("ETH", Decimal(10**9))
    out: dict[str, list[str]] = {"trade": [], "kline": []}
    now = 1_700_000_000_000
    for n in range(STREAM_MESSAGES):
        now += rng.randint(1, 400)
        price = Decimal(2000) + Decimal(rng.randint(-400, 400)) / 100
        qty = Decimal(rng.randint(1, 500)) / 1000
        engine.place(maker, spec, side="SELL", type="LIMIT", tif="GTC", price=price, qty=qty,
                     client_id=f"m{n}", now=now)  # fmt: skip
        result = engine.place(taker, spec, side="BUY", type="LIMIT", tif="IOC", price=price,
                              qty=qty, client_id=f"t{n}", now=now)  # fmt: skip
        trade = result.trades[0]
        out["trade"].append(json.dumps(events.trade(spec.symbol, trade, now)))
        row = engine.tapes[spec.symbol].klines("1m", None, None, 1, now)[-1]
        out["kline"].append(json.dumps(events.kline(spec.symbol, "1m", row, now)))
    return out


def _decode_ours(kind: str, messages: list[str]) -> float:
    """Our adapter's stream path: JSON, typed event, callbacks and the bus (no subscriber)."""
    cex = BinanceSpot.connect("k", "s", base_url="http://127.0.0.1:1")
    cex._symbols["ETHUSDT"] = TradingPair("ETH-USDT")
    stream = "ethusdt@trade" if kind == "trade" else "ethusdt@kline_1m"
    handle = cex._on_market_event
    start = time.perf_counter()
    for text in messages:
        handle(stream, json.loads(text))
    return len(messages) / (time.perf_counter() - start)


def _decode_ccxt(kind: str, messages: list[str], market: dict[str, Any]) -> float:
    """ccxt.pro's binance handler for the same payloads (JSON parse included)."""
    return asyncio.run(_decode_ccxt_in_loop(kind, messages, market))


async def _decode_ccxt_in_loop(kind: str, messages: list[str], market: dict[str, Any]) -> float:
    exchange = ccxtpro_binance()
    exchange.set_markets([market])
    client = exchange.client("ws://127.0.0.1:1/ws")
    if kind == "kline":  # ccxt only stores candles of subscribed timeframes
        exchange.ohlcvs = {}
    start = time.perf_counter()
    for text in messages:
        exchange.handle_message(client, json.loads(text))
    rate = len(messages) / (time.perf_counter() - start)
    await exchange.close()
    return rate


def ccxtpro_binance() -> Any:
    import ccxt.pro

    return ccxt.pro.binance()


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
    command = [sys.executable, "-m", "chainops.devnet.exchange", "--seed", "1",
               "--fund", "USDT=1e7"]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        venue = json.loads(server.stdout.readline())
        trips, market = asyncio.run(_round_trips(venue))
    finally:
        server.terminate()
        server.wait(timeout=10)
    snapshot, diffs = _recorded_diffs()
    levels = sum(len(d["b"]) + len(d["a"]) for d in diffs)
    ours_book = statistics.median(levels / _apply_ours(snapshot, diffs) for _ in range(5))
    ccxt_book = statistics.median(levels / _apply_ccxt(snapshot, diffs) for _ in range(5))
    messages = _stream_messages()
    decode = {
        kind: (
            statistics.median(_decode_ours(kind, messages[kind]) for _ in range(5)),
            statistics.median(_decode_ccxt(kind, messages[kind], market) for _ in range(5)),
        )
        for kind in ("trade", "kline")
    }
    ccxt_rate, ccxt_cpu = trips["ccxt"]
    print(
        f"  CEX place+cancel: REST {trips['rest'][0]:,.0f}/s "
        f"({trips['rest'][0] / ccxt_rate:.2f}x ccxt's {ccxt_rate:,.0f}/s; target >= 1.1x), "
        f"WebSocket API {trips['ws'][0]:,.0f}/s ({trips['ws'][0] / ccxt_rate:.2f}x; "
        f"target >= 1.5x); client CPU per round trip: REST {trips['rest'][1]:,.0f} us, "
        f"WS {trips['ws'][1]:,.0f} us, ccxt {ccxt_cpu:,.0f} us"
    )
    details = {"round_trips": ROUND_TRIPS, "repeats": REPEATS,
               "client_cpu_us_per_round_trip_ccxt": round(ccxt_cpu)}  # fmt: skip
    baseline = "ccxt async binance (REST, only urls pointed at the simulator)"
    results = [
        Result(
            name=f"cex_place_cancel_{path}",
            unit="round trips/s",
            ours=trips[path][0],
            baseline=ccxt_rate,
            baseline_name=baseline,
            higher_is_better=True,
            details=details
            | {
                "client_cpu_us_per_round_trip_ours": round(trips[path][1]),
                "order_entry": "WebSocket API" if path == "ws" else "REST",
            },
        )
        for path in ("ws", "rest")
    ]
    results.append(
        Result(
            name="cex_book_diffs",
            unit="levels/s",
            ours=ours_book,
            baseline=ccxt_book,
            baseline_name="ccxt pro OrderBook with binance's delta handler (floats)",
            higher_is_better=True,
            details={"diffs": len(diffs), "levels": levels},
        )
    )
    for kind, (ours_rate, ccxt_rate_decode) in decode.items():
        results.append(
            Result(
                name=f"cex_{kind}_stream_decode",
                unit="msgs/s",
                ours=ours_rate,
                baseline=ccxt_rate_decode,
                baseline_name=f"ccxt pro binance handle_message ({kind} payloads)",
                higher_is_better=True,
                details={"messages": STREAM_MESSAGES, "ours": "JSON -> typed event (Decimal)"},
            )
        )
    return results
