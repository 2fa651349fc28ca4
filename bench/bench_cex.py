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

ROUND_TRIPS = 1500  # per client, interleaved one by one with the other clients'
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


def _cpu_ns(pid: int) -> int | None:
    """Nanoseconds another (single-threaded) process has run so far; None off Linux."""
    try:
        with open(f"/proc/{pid}/schedstat") as stat:
            return int(stat.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


async def _round_trips(venue: dict[str, str], server: int) -> dict[str, dict[str, Any]]:
    """Round trips of each client against one simulator, interleaved one by one.

    Each turn runs one round trip of every client, in an order that rotates from
    turn to turn, so that the machine's load (2 cores shared with other work)
    falls on every client alike. Rates come from the median round-trip time
    (a burst of other work delays a few trips, not the median); the mean-based
    figures are kept beside them. CPU is the mean per round trip: of this
    process (the client) and of the simulator's process.
    """
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
    names = list(trips)
    wall: dict[str, list[int]] = {name: [] for name in trips}
    cpu: dict[str, list[int]] = {name: [] for name in trips}  # this process: the client
    venue_cpu: dict[str, list[int]] = {name: [] for name in trips}  # the simulator's
    clock, process_clock = time.perf_counter_ns, time.process_time_ns
    try:
        await ws.start()
        await rest.start()
        await exchange.load_markets()
        for trip in trips.values():  # warm-up: connections open, caches filled
            for _ in range(50):
                await trip()
        for turn in range(ROUND_TRIPS):
            for name in names[turn % 3 :] + names[: turn % 3]:
                trip = trips[name]
                before = _cpu_ns(server)
                start, start_cpu = clock(), process_clock()
                await trip()
                wall[name].append(clock() - start)
                cpu[name].append(process_clock() - start_cpu)
                after = _cpu_ns(server)
                if before is not None and after is not None:
                    venue_cpu[name].append(after - before)
    finally:
        await exchange.close()
        await ws.close()
        await rest.close()
    figures: dict[str, dict[str, Any]] = {}
    for name in trips:
        figures[name] = {
            "rate": 1e9 / statistics.median(wall[name]),
            "rate_from_mean": 1e9 / statistics.fmean(wall[name]),
            "p90_ms": statistics.quantiles(wall[name], n=10)[-1] / 1e6,
            "cpu_us": statistics.fmean(cpu[name]) / 1e3,
            "venue_cpu_us": statistics.fmean(venue_cpu[name]) / 1e3 if venue_cpu[name] else None,
        }
    for name in trips:
        figures[name]["ratio"] = figures[name]["rate"] / figures["ccxt"]["rate"]
        figures[name]["ratio_from_mean"] = (
            figures[name]["rate_from_mean"] / figures["ccxt"]["rate_from_mean"]
        )
    figures["ccxt"]["market"] = exchange.markets["ETH/USDT"]
    return figures


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


def _rounded(value: float | None) -> int | None:
    return None if value is None else round(value)


def run() -> list[Result]:
    # the simulator runs in its own process so that it never competes for our GIL
    # a weight budget no client reaches: every client (ccxt's limiter is off) spends freely,
    # where at Binance's 6,000 per minute ours would pause for the next minute, ccxt not
    command = [sys.executable, "-m", "chainops.devnet.exchange", "--seed", "1",
               "--fund", "USDT=1e7", "--weight-limit", "100000000"]  # fmt: skip
    # hundreds of placements per second on one account, far over 100 orders per 10 s
    command.append("--no-enforce-order-limits")
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        venue = json.loads(server.stdout.readline())
        trips = asyncio.run(_round_trips(venue, server.pid))
        market = trips["ccxt"]["market"]
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
    ccxt_rate, ccxt_cpu = trips["ccxt"]["rate"], trips["ccxt"]["cpu_us"]

    def ratio(path: str) -> str:
        return f"{trips[path]['ratio']:.2f}x ccxt, {trips[path]['ratio_from_mean']:.2f}x by means"

    rest, ws = trips["rest"], trips["ws"]
    venue_cpu = ", ".join(
        f"{name} {trips[name]['venue_cpu_us'] or 0:,.0f} us" for name in ("rest", "ws", "ccxt")
    )
    print(
        f"  CEX place+cancel: REST {rest['rate']:,.0f}/s ({ratio('rest')}; target >= 1.1x), "
        f"WebSocket API {ws['rate']:,.0f}/s ({ratio('ws')}; target >= 1.5x); "
        f"ccxt {ccxt_rate:,.0f}/s; client CPU per round trip: REST {rest['cpu_us']:,.0f} us, "
        f"WS {ws['cpu_us']:,.0f} us, ccxt {ccxt_cpu:,.0f} us; simulator CPU per round trip: "
        f"{venue_cpu}"
    )
    details = {
        "round_trips": ROUND_TRIPS,
        "interleaved": "one by one, order rotating",
        "rate_from": "median round-trip time",
        "ccxt_rate_from_mean": round(trips["ccxt"]["rate_from_mean"]),
        "ccxt_p90_ms": round(trips["ccxt"]["p90_ms"], 2),
        "client_cpu_us_per_round_trip_ccxt": round(ccxt_cpu),
        "venue_cpu_us_per_round_trip_ccxt": _rounded(trips["ccxt"]["venue_cpu_us"]),
    }
    baseline = "ccxt async binance (REST, only urls pointed at the simulator)"
    results = [
        Result(
            name=f"cex_place_cancel_{path}",
            unit="round trips/s",
            ours=trips[path]["rate"],
            baseline=ccxt_rate,
            baseline_name=baseline,
            higher_is_better=True,
            details=details
            | {
                "client_cpu_us_per_round_trip_ours": round(trips[path]["cpu_us"]),
                "venue_cpu_us_per_round_trip_ours": _rounded(trips[path]["venue_cpu_us"]),
                "rate_from_mean": round(trips[path]["rate_from_mean"]),
                "ratio_from_mean": round(trips[path]["ratio_from_mean"], 3),
                "p90_ms": round(trips[path]["p90_ms"], 2),
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
