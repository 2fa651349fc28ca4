"""Binance's ORDERS limits (the unfilled order count) on the simulator, as clients see them.

A placement that would take the account over a window's limit is refused with 429 and
-1015 on REST (with ``Retry-After``) and on the WebSocket API (with ``retryAfter``); a
refused order does not count, an OCO counts its two legs, a cancel-replace its new order,
and an order's first fill takes it back off. The tests lower the limit to 3 orders per
second and move the simulator's clock to the start of a window (by less than a second,
so the clients' timestamps stay inside their receive window).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import ccxt.async_support as ccxt
import pytest
from binance import AsyncClient
from binance.exceptions import BinanceAPIException
from cex_helpers import signed_rest as rest

from chainops.devnet.exchange import ExchangeSimulator
from chainops.devnet.exchange.accounts import Account

LIMITS = [("SECOND", 1, 3), ("DAY", 1, 1000)]
WINDOW_MS = 1000
FUNDS = {"USDT": "100000", "ETH": "20"}
BUY = {"symbol": "ETHUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
       "quantity": "0.01"}  # fmt: skip
OCO = {"symbol": "ETHUSDT", "side": "SELL", "quantity": "0.01", "aboveType": "LIMIT_MAKER",
       "abovePrice": "2100.00", "belowType": "STOP_LOSS", "belowStopPrice": "1900.00"}  # fmt: skip
LEGACY_OCO = {"symbol": "ETHUSDT", "side": "SELL", "quantity": "0.01", "price": "2100.00",
              "stopPrice": "1900.00", "stopLimitPrice": "1899.00",
              "stopLimitTimeInForce": "GTC"}  # fmt: skip
TOO_MANY = "Too many new orders; current limit is 3 orders per 1 SECOND."
COUNTS = ("X-MBX-ORDER-COUNT-1S", "X-MBX-ORDER-COUNT-1D")
BINANCE_HOSTS = ("https://api.binance.com", "https://fapi.binance.com",
                 "https://dapi.binance.com", "https://eapi.binance.com",
                 "https://www.binance.com", "https://papi.binance.com")  # fmt: skip


def buy(price: float) -> dict[str, str]:
    return BUY | {"price": f"{price:.2f}"}


def window_start(sim: ExchangeSimulator) -> None:
    """Move the simulator's clock to just after a 1-second window starts."""
    sim.faults.clock_skew_ms += -sim.now_ms() % WINDOW_MS + 20


def next_window(sim: ExchangeSimulator) -> None:
    sim.faults.clock_skew_ms += WINDOW_MS


@pytest.fixture
async def sim() -> AsyncIterator[ExchangeSimulator]:
    async with ExchangeSimulator(seed=11, order_limits=LIMITS) as simulator:
        yield simulator


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


class WsApi:
    """One WebSocket API connection speaking raw JSON for one account."""

    def __init__(self, sim: ExchangeSimulator, account: Account, ws: Any) -> None:
        self.sim, self.account, self.ws = sim, account, ws
        self._ids = 0

    async def signed(self, method: str, **params: Any) -> dict[str, Any]:
        self._ids += 1
        params |= {"apiKey": self.account.api_key, "timestamp": self.sim.now_ms()}
        payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        secret = self.account.secret.encode()
        params["signature"] = hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()
        await self.ws.send_str(json.dumps({"id": self._ids, "method": method, "params": params}))
        reply: dict[str, Any] = json.loads((await asyncio.wait_for(self.ws.receive(), 5)).data)
        assert reply["id"] == self._ids
        return reply


def orders(reply: dict[str, Any]) -> list[tuple[str, int, int, int]]:
    """The ``ORDERS`` entries of a WebSocket API reply's ``rateLimits``."""
    return [
        (r["interval"], r["intervalNum"], r["limit"], r["count"])
        for r in reply["rateLimits"]
        if r["rateLimitType"] == "ORDERS"
    ]


def ccxt_client(sim: ExchangeSimulator, account: Account) -> ccxt.binance:
    """ccxt's binance with only its REST URLs pointed at the simulator."""
    exchange = ccxt.binance({"apiKey": account.api_key, "secret": account.secret})

    def point(urls: dict[str, Any]) -> None:
        for key, value in urls.items():
            if isinstance(value, dict):
                point(value)
            elif isinstance(value, str):
                for host in BINANCE_HOSTS:
                    value = value.replace(host, sim.url)
                urls[key] = value

    point(exchange.urls["api"])
    return exchange


async def test_ccxt_is_refused_past_the_limit_then_places_in_the_next_window(
    sim: ExchangeSimulator,
) -> None:
    exchange = ccxt_client(sim, sim.create_account(FUNDS))
    try:
        await exchange.load_markets()
        window_start(sim)
        for n in range(3):
            await exchange.create_order("ETH/USDT", "limit", "buy", 0.01, 1990 - n)
        assert exchange.last_response_headers[COUNTS[0]] == "3"
        # ccxt raises DDoSProtection for any 429 from Binance, before reading the code
        with pytest.raises(ccxt.DDoSProtection) as refused:
            await exchange.create_order("ETH/USDT", "limit", "buy", 0.01, 1980)
        assert "-1015" in str(refused.value) and TOO_MANY in str(refused.value)
        headers = exchange.last_response_headers
        assert headers["Retry-After"] == "1"
        assert (headers[COUNTS[0]], headers[COUNTS[1]]) == ("3", "3")  # the refused one: no
        assert len(await exchange.fetch_open_orders("ETH/USDT")) == 3
        next_window(sim)
        placed = await exchange.create_order("ETH/USDT", "limit", "buy", 0.01, 1980)
        assert placed["status"] == "open"
        headers = exchange.last_response_headers
        assert (headers[COUNTS[0]], headers[COUNTS[1]]) == ("1", "4")
    finally:
        await exchange.close()


async def test_python_binance_gets_its_api_exception_with_429_and_minus_1015(
    sim: ExchangeSimulator,
) -> None:
    account = sim.create_account(FUNDS)
    urls = {"API_URL": f"{sim.url}/api", "MARGIN_API_URL": f"{sim.url}/sapi"}
    client = await type("SimulatorClient", (AsyncClient,), urls).create(
        account.api_key, account.secret
    )
    try:
        window_start(sim)
        for n in range(3):
            await client.order_limit_buy(symbol="ETHUSDT", quantity="0.01", price=f"{1990 - n}")
        with pytest.raises(BinanceAPIException) as refused:
            await client.order_limit_buy(symbol="ETHUSDT", quantity="0.01", price="1980")
        error = refused.value
        assert (error.status_code, error.code, error.message) == (429, -1015, TOO_MANY)
        assert error.response.headers["Retry-After"] == "1"
        assert len(await client.get_open_orders(symbol="ETHUSDT")) == 3
        next_window(sim)
        placed = await client.order_limit_buy(symbol="ETHUSDT", quantity="0.01", price="1980")
        assert placed["status"] == "NEW"
        assert [client.response.headers[h] for h in COUNTS] == ["1", "4"]
    finally:
        await client.close_connection()


async def test_the_websocket_api_answers_429_with_retry_after_and_the_counts(
    sim: ExchangeSimulator, session: aiohttp.ClientSession
) -> None:
    async with session.ws_connect(sim.ws_api_url) as ws:
        api = WsApi(sim, sim.create_account(FUNDS), ws)
        window_start(sim)
        for n in range(3):
            placed = await api.signed("order.place", **buy(1990 - n))
            assert placed["status"] == 200
            assert orders(placed) == [("SECOND", 1, 3, n + 1), ("DAY", 1, 1000, n + 1)]
        refused = await api.signed("order.place", **buy(1980))
        assert refused["status"] == 429
        assert {k: refused["error"][k] for k in ("code", "msg")} == {"code": -1015, "msg": TOO_MANY}
        data = refused["error"]["data"]
        assert data["retryAfter"] - data["serverTime"] == 1000  # the window's end, in seconds
        assert orders(refused) == [("SECOND", 1, 3, 3), ("DAY", 1, 1000, 3)]  # not counted
        # asking again is refused again: no ban (418 is for request weight)
        for _ in range(5):
            assert (await api.signed("order.place", **buy(1980)))["status"] == 429
        assert (await api.signed("order.test", **buy(1980)))["status"] == 200  # places nothing
        open_orders = await api.signed("openOrders.status", symbol="ETHUSDT")
        assert len(open_orders["result"]) == 3
        next_window(sim)
        again = await api.signed("order.place", **buy(1980))
        assert again["status"] == 200
        assert orders(again) == [("SECOND", 1, 3, 1), ("DAY", 1, 1000, 4)]


async def test_an_oco_counts_its_two_legs(
    sim: ExchangeSimulator, session: aiohttp.ClientSession
) -> None:
    account = sim.create_account(FUNDS)
    window_start(sim)
    for price in (1990, 1989):
        assert (await rest(session, sim, account, "POST", "/api/v3/order", **buy(price)))[0] == 200
    # 2 + 2 legs would be 4 of 3: refused whole, though one order still fits
    status, body, headers = await rest(
        session, sim, account, "POST", "/api/v3/orderList/oco", **OCO
    )
    assert (status, body) == (429, {"code": -1015, "msg": TOO_MANY})
    assert headers["Retry-After"] == "1"
    status, _, _ = await rest(session, sim, account, "POST", "/api/v3/order/oco", **LEGACY_OCO)
    assert status == 429
    assert (await rest(session, sim, account, "GET", "/api/v3/openOrderList"))[1] == []
    status, _, headers = await rest(session, sim, account, "POST", "/api/v3/order", **buy(1988))
    assert status == 200 and headers[COUNTS[0]] == "3"
    next_window(sim)
    status, _, headers = await rest(
        session, sim, account, "POST", "/api/v3/order/oco", **LEGACY_OCO
    )
    assert status == 200 and [headers[h] for h in COUNTS] == ["2", "5"]
    async with session.ws_connect(sim.ws_api_url) as ws:
        api = WsApi(sim, account, ws)
        refused = await api.signed("orderList.place.oco", **OCO)
        assert refused["status"] == 429 and refused["error"]["code"] == -1015
        assert orders(refused) == [("SECOND", 1, 3, 2), ("DAY", 1, 1000, 5)]
        next_window(sim)
        placed = await api.signed("orderList.place.oco", **OCO)
        assert placed["status"] == 200
        assert orders(placed) == [("SECOND", 1, 3, 2), ("DAY", 1, 1000, 7)]


async def test_cancel_replace_counts_its_new_order_and_can_cancel_only(
    sim: ExchangeSimulator, session: aiohttp.ClientSession
) -> None:
    account = sim.create_account(FUNDS)
    path = "/api/v3/order/cancelReplace"

    async def post(route: str, **params: Any) -> tuple[int, Any, Any]:
        return await rest(session, sim, account, "POST", route, **params)

    window_start(sim)
    first = (await post("/api/v3/order", **buy(1990)))[1]["orderId"]
    second = (await post("/api/v3/order", **buy(1989)))[1]["orderId"]
    replace = buy(1985) | {"cancelReplaceMode": "STOP_ON_FAILURE"}
    status, _, headers = await post(path, **replace, cancelOrderId=first)
    assert status == 200 and headers[COUNTS[0]] == "3"
    # over the limit, by default nothing is done: the order to cancel stays open
    status, body, headers = await post(path, **replace, cancelOrderId=second)
    assert (status, body, headers["Retry-After"]) == (429, {"code": -1015, "msg": TOO_MANY}, "1")
    assert second in {o["orderId"] for o in await open_orders(session, sim, account)}
    # CANCEL_ONLY cancels all the same, and says why the new order was not placed
    status, body, _ = await post(
        path, **replace, cancelOrderId=second, orderRateLimitExceededMode="CANCEL_ONLY"
    )
    assert status == 409 and body["code"] == -2021
    assert body["data"]["cancelResult"] == "SUCCESS"
    assert body["data"]["cancelResponse"]["status"] == "CANCELED"
    assert body["data"]["newOrderResult"] == "FAILURE"
    assert body["data"]["newOrderResponse"] == {"code": -1015, "msg": TOO_MANY}
    assert len(await open_orders(session, sim, account)) == 1  # only the replacement
    status, body, _ = await post(path, **replace, cancelOrderId=second,
                                 orderRateLimitExceededMode="NEVER")  # fmt: skip
    assert (status, body["code"]) == (400, -1130)
    next_window(sim)
    # a new order not attempted (its cancel failed) counts all the same, as Binance says
    status, body, _ = await post(path, **replace, cancelOrderId=999)
    assert (status, body["data"]["newOrderResult"]) == (400, "NOT_ATTEMPTED")
    status, _, headers = await post("/api/v3/order", **buy(1980))
    assert status == 200 and headers[COUNTS[0]] == "2"


async def open_orders(
    session: aiohttp.ClientSession, sim: ExchangeSimulator, account: Account
) -> list[Any]:
    """The account's open ETHUSDT orders."""
    return (await rest(session, sim, account, "GET", "/api/v3/openOrders", symbol="ETHUSDT"))[1]


async def test_orders_that_fill_stop_counting(
    sim: ExchangeSimulator, session: aiohttp.ClientSession
) -> None:
    account, taker = sim.create_account(FUNDS), sim.create_account(FUNDS)
    window_start(sim)
    market = {"symbol": "ETHUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"}
    for _ in range(5):  # each fills at once: a taker's first fill takes it off the count
        status, body, headers = await rest(session, sim, account, "POST", "/api/v3/order", **market)
        assert status == 200 and body["status"] == "FILLED" and headers[COUNTS[0]] == "0"
    for price in (1999.9, 1990, 1989):  # the first one rests at the top of the book
        assert (await rest(session, sim, account, "POST", "/api/v3/order", **buy(price)))[0] == 200
    assert (await rest(session, sim, account, "POST", "/api/v3/order", **buy(1988)))[0] == 429
    # another account's sell fills the resting bid: a maker's first fill takes it off too
    sell = market | {"side": "SELL", "quantity": "0.005"}
    assert (await rest(session, sim, taker, "POST", "/api/v3/order", **sell))[0] == 200
    status, _, headers = await rest(session, sim, account, "POST", "/api/v3/order", **buy(1988))
    assert status == 200 and headers[COUNTS[0]] == "3"
    sell = sell | {"quantity": "0.005"}  # the same order's second fill takes nothing off
    assert (await rest(session, sim, taker, "POST", "/api/v3/order", **sell))[0] == 200
    assert (await rest(session, sim, account, "POST", "/api/v3/order", **buy(1987)))[0] == 429


async def test_the_day_limit_refuses_until_the_next_utc_day(
    session: aiohttp.ClientSession,
) -> None:
    async with ExchangeSimulator(seed=3, order_limits=[("DAY", 1, 2)]) as sim:
        account = sim.create_account(FUNDS)
        for count in (1, 2):
            status, _, headers = await rest(
                session, sim, account, "POST", "/api/v3/order", **buy(1990 - count)
            )
            assert status == 200 and headers["X-MBX-ORDER-COUNT-1D"] == str(count)
            assert "X-MBX-ORDER-COUNT-10S" not in headers  # only the windows it has
        status, body, headers = await rest(
            session, sim, account, "POST", "/api/v3/order", **buy(1988)
        )
        midnight = -sim.now_ms() % 86_400_000
        assert status == 429 and body["msg"] == (
            "Too many new orders; current limit is 2 orders per 1 DAY."
        )
        assert abs(int(headers["Retry-After"]) - midnight / 1000) <= 2
        other = sim.create_account(FUNDS)  # counted per account
        assert (await rest(session, sim, other, "POST", "/api/v3/order", **buy(1988)))[0] == 200


async def test_limits_can_be_reported_without_being_enforced(
    session: aiohttp.ClientSession,
) -> None:
    async with ExchangeSimulator(seed=3, order_limits=LIMITS, enforce_order_limits=False) as sim:
        account = sim.create_account(FUNDS)
        info = (await rest(session, sim, account, "GET", "/api/v3/exchangeInfo"))[1]
        assert [
            (r["interval"], r["intervalNum"], r["limit"])
            for r in info["rateLimits"]
            if r["rateLimitType"] == "ORDERS"
        ] == LIMITS
        window_start(sim)
        for n in range(5):
            status, _, headers = await rest(
                session, sim, account, "POST", "/api/v3/order", **buy(1990 - n)
            )
            assert status == 200 and headers[COUNTS[0]] == str(n + 1)
        sim.orders.enforce = True  # a switch at run time as well
        assert (await rest(session, sim, account, "POST", "/api/v3/order", **buy(1980)))[0] == 429


@pytest.mark.parametrize(
    "limits", [[("WEEK", 1, 5)], [("SECOND", 0, 5)], [("SECOND", 1, 0)]], ids=str
)
def test_a_limit_binance_cannot_have_is_refused(limits: list[tuple[str, int, int]]) -> None:
    with pytest.raises(ValueError, match="not an ORDERS limit"):
        ExchangeSimulator(order_limits=limits)


def test_the_command_line_sets_the_limits() -> None:
    command = [sys.executable, "-m", "chainops.devnet.exchange", "--order-limit", "second:1:1"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        venue = json.loads(server.stdout.readline())
        info = asyncio.run(_exchange_info(venue["url"]))
        assert [r for r in info["rateLimits"] if r["rateLimitType"] == "ORDERS"] == [
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 1, "limit": 1}
        ]
    finally:
        server.terminate()
        server.wait(timeout=10)
    bad = subprocess.run([*command[:-1], "FORTNIGHT:1:5"], capture_output=True, text=True)
    assert bad.returncode == 2 and "expected INTERVAL:NUM:LIMIT" in bad.stderr


async def _exchange_info(url: str) -> Any:
    async with aiohttp.ClientSession() as client, client.get(f"{url}/api/v3/exchangeInfo") as r:
        return await r.json()
