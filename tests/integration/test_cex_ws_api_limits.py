"""The WebSocket API's request weight and ``rateLimits``, and listenKey expiry.

Weights follow Binance's documented ones (the same as the REST equivalents, shared with
REST); every reply reports the budget unless the connection or the request opts out.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from cex_helpers import AMOUNT, ETH, venue
from cex_helpers import signed_rest as rest

from chainops.core.order import OrderState
from chainops.devnet.exchange import ExchangeSimulator
from chainops.devnet.exchange.accounts import Account
from chainops.devnet.exchange.streams import LISTEN_KEY_TTL_MS
from chainops.operators.exchanges import BinanceSpot

BUY = {"symbol": "ETHUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
       "quantity": "0.01", "price": "1990.00"}  # fmt: skip
OCO = {"symbol": "ETHUSDT", "side": "SELL", "quantity": "0.01", "aboveType": "LIMIT_MAKER",
       "abovePrice": "2100.00", "belowType": "STOP_LOSS", "belowStopPrice": "1900.00"}  # fmt: skip
MINUTE_MS = 60_000


class WsApi:
    """One WebSocket API connection speaking raw JSON."""

    def __init__(self, sim: ExchangeSimulator, account: Account, ws: Any) -> None:
        self.sim, self.account, self.ws = sim, account, ws
        self._ids = 0

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self._ids += 1
        message: dict[str, Any] = {"id": self._ids, "method": method}
        if params is not None:
            message["params"] = params
        await self.ws.send_str(json.dumps(message))
        reply: dict[str, Any] = json.loads((await asyncio.wait_for(self.ws.receive(), 5)).data)
        assert reply["id"] == self._ids
        return reply

    async def signed(self, method: str, **params: Any) -> dict[str, Any]:
        params |= {"apiKey": self.account.api_key, "timestamp": self.sim.now_ms()}
        payload = "&".join(f"{k}={_text(v)}" for k, v in sorted(params.items()))
        secret = self.account.secret.encode()
        params["signature"] = hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()
        return await self.send(method, params)


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def at_minute_start(sim: ExchangeSimulator) -> None:
    """Skew the simulator's clock to just after a minute starts: no window rolls mid-test."""
    sim.faults.clock_skew_ms += -sim.now_ms() % MINUTE_MS + 100


def weight_entry(reply: dict[str, Any]) -> dict[str, Any]:
    (entry,) = [r for r in reply["rateLimits"] if r["rateLimitType"] == "REQUEST_WEIGHT"]
    return entry


@pytest.fixture
async def sim() -> AsyncIterator[ExchangeSimulator]:
    async with ExchangeSimulator(seed=5) as simulator:
        yield simulator


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def test_requests_cost_their_documented_weight_and_every_reply_reports_it(
    sim: ExchangeSimulator, session: aiohttp.ClientSession
) -> None:
    account = sim.create_account({"USDT": "10000", "ETH": "5"})
    at_minute_start(sim)
    before = sim.weights.used
    async with session.ws_connect(sim.ws_api_url) as ws:
        api = WsApi(sim, account, ws)
        assert sim.weights.used - before == 2  # connecting costs 2

        async def weight(method: str, signed: bool = False, **params: Any) -> int:
            used = sim.weights.used
            reply = await (api.signed(method, **params) if signed else api.send(method, params))
            assert reply["status"] == 200, reply
            entry = weight_entry(reply)
            assert entry == {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE",
                             "intervalNum": 1, "limit": 6000,
                             "count": sim.weights.used}  # fmt: skip
            return sim.weights.used - used

        eth, two = {"symbol": "ETHUSDT"}, {"symbols": ["ETHUSDT", "BTCUSDT"]}
        assert await weight("ping") == 1
        assert await weight("time") == 1
        assert await weight("exchangeInfo") == 20
        assert await weight("depth", **eth) == 5
        assert await weight("depth", **eth, limit=101) == 25
        assert await weight("depth", **eth, limit=1000) == 50
        assert await weight("depth", **eth, limit=5000) == 250
        assert await weight("trades.recent", **eth) == 25
        assert await weight("trades.aggregate", **eth) == 4
        assert await weight("klines", **eth, interval="1m") == 2
        assert await weight("ticker.24hr", **eth) == 2
        assert await weight("ticker.24hr", **two) == 2
        assert await weight("ticker.24hr") == 80
        assert await weight("ticker.price", **eth) == 2
        assert await weight("ticker.book") == 4
        assert await weight("ticker", **two) == 8
        assert await weight("openOrders.status", True, **eth) == 6
        assert await weight("openOrders.status", True) == 80
        assert await weight("account.status", True) == 20
        assert await weight("order.test", True, **BUY) == 1
        assert await weight("order.test", True, **BUY, computeCommissionRates=True) == 20
        placed = await api.signed("order.place", **BUY)
        assert await weight("myTrades", True, **eth) == 20
        assert await weight("myTrades", True, **eth, orderId=placed["result"]["orderId"]) == 5
        assert await weight("order.status", True, **eth, orderId=placed["result"]["orderId"]) == 4
        assert await weight("userDataStream.subscribe.signature", True) == 2

        # failed requests are charged and report the budget too
        used = sim.weights.used
        refused = await api.send("depth", {"symbol": "NOPE"})
        assert refused["status"] == 400 and refused["error"]["code"] == -1121
        assert weight_entry(refused)["count"] == sim.weights.used == used + 5

        # one budget with REST: a REST call's weight shows in the next WebSocket reply
        status, _, headers = await rest(session, sim, account, "GET", "/api/v3/account")
        assert status == 200 and int(headers["X-MBX-USED-WEIGHT-1M"]) == used + 25
        assert weight_entry(await api.send("ping"))["count"] == used + 26


async def test_order_placements_report_the_accounts_order_counts(
    sim: ExchangeSimulator, session: aiohttp.ClientSession
) -> None:
    account = sim.create_account({"USDT": "10000", "ETH": "5"})
    at_minute_start(sim)

    def orders(reply: dict[str, Any]) -> list[tuple[str, int, int, int]]:
        return [
            (r["interval"], r["intervalNum"], r["limit"], r["count"])
            for r in reply["rateLimits"]
            if r["rateLimitType"] == "ORDERS"
        ]

    async with session.ws_connect(sim.ws_api_url) as ws:
        api = WsApi(sim, account, ws)
        placed = await api.signed("order.place", **BUY)
        assert placed["status"] == 200
        assert orders(placed) == [("SECOND", 10, 100, 1), ("DAY", 1, 200000, 1)]
        assert placed["rateLimits"][-1]["rateLimitType"] == "REQUEST_WEIGHT"
        # REST placements count on the same account, and say so in their headers
        status, _, headers = await rest(session, sim, account, "POST", "/api/v3/order", **BUY)
        assert status == 200
        assert (headers["X-MBX-ORDER-COUNT-10S"], headers["X-MBX-ORDER-COUNT-1D"]) == ("2", "2")
        oco = await api.signed("orderList.place.oco", **OCO)
        assert oco["status"] == 200
        assert orders(oco) == [("SECOND", 10, 100, 4), ("DAY", 1, 200000, 4)]  # two legs
        refused = await api.signed("order.place", **(BUY | {"quantity": "1000"}))
        assert refused["error"]["code"] == -2010 and [c for *_, c in orders(refused)] == [4, 4]
        assert orders(await api.signed("account.status")) == []  # places no order
        sim.faults.clock_skew_ms += 10_000  # the 10-second window rolls over, the day does not
        again = await api.signed("order.place", **BUY)
        assert [c for *_, c in orders(again)] == [1, 5]
        other = sim.create_account({"USDT": "10000"})
        api.account = other
        fresh = await api.signed("order.place", **BUY)
        assert [c for *_, c in orders(fresh)] == [1, 1]  # counted per account


async def test_rate_limits_are_left_out_when_asked_but_still_charged(
    sim: ExchangeSimulator, session: aiohttp.ClientSession
) -> None:
    account = sim.create_account({"USDT": "10000"})
    at_minute_start(sim)
    async with session.ws_connect(f"{sim.ws_api_url}?returnRateLimits=false") as ws:
        api = WsApi(sim, account, ws)
        used = sim.weights.used
        reply = await api.send("time")
        assert reply["status"] == 200 and "rateLimits" not in reply
        assert sim.weights.used == used + 1
        shown = await api.send("time", {"returnRateLimits": True})
        assert weight_entry(shown)["count"] == used + 2
        signed = await api.signed("account.status", returnRateLimits=True)
        assert signed["status"] == 200 and weight_entry(signed)["count"] == used + 22
    async with session.ws_connect(sim.ws_api_url) as ws:
        api = WsApi(sim, account, ws)
        assert "rateLimits" in await api.send("ping")
        hidden = await api.signed("account.status", returnRateLimits=False)
        assert hidden["status"] == 200 and "rateLimits" not in hidden


async def test_over_the_limit_answers_429_with_retry_after_then_bans(
    session: aiohttp.ClientSession,
) -> None:
    async with ExchangeSimulator(seed=5, weight_limit=50) as sim:
        account = sim.create_account({"USDT": "10000"})
        at_minute_start(sim)
        async with session.ws_connect(sim.ws_api_url) as ws:
            api = WsApi(sim, account, ws)
            assert (await api.send("exchangeInfo"))["status"] == 200
            assert (await api.send("exchangeInfo"))["status"] == 200  # 2 + 20 + 20 = 42
            limited = await api.send("exchangeInfo")
            assert limited["status"] == 429
            error = limited["error"]
            assert error["code"] == -1003
            assert error["msg"].startswith("Too much request weight used; current limit is 50 ")
            retry, server = error["data"]["retryAfter"], error["data"]["serverTime"]
            assert server < retry <= server + MINUTE_MS
            minute_end = (server // MINUTE_MS + 1) * MINUTE_MS
            assert retry >= minute_end
            assert weight_entry(limited)["count"] == 42  # refused requests add nothing
            assert (await api.send("ping"))["status"] == 200  # what still fits is served
            for _ in range(2):  # told to back off, twice more
                assert (await api.send("exchangeInfo"))["status"] == 429
            assert (await api.send("exchangeInfo"))["status"] == 418  # then banned
            banned = await api.send("ping")
            assert banned["status"] == 418 and banned["error"]["code"] == -1003
            assert banned["error"]["data"]["retryAfter"] == sim.weights.banned_until
            assert "IP banned until" in banned["error"]["msg"]
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(sim.ws_api_url)
        assert refused.value.status == 418
        sim.weights.banned_until, sim.weights.ignored_429s = 0, 0
        sim.weights.used = sim.weights.limit - 1
        with pytest.raises(aiohttp.WSServerHandshakeError) as full:
            await session.ws_connect(sim.ws_api_url)  # connecting needs 2 more
        assert full.value.status == 429


async def _listen_key(
    session: aiohttp.ClientSession, sim: ExchangeSimulator, account: Account, method: str,
    key: str | None = None,
) -> tuple[int, Any]:  # fmt: skip
    query = f"?listenKey={key}" if key else ""
    headers = {"X-MBX-APIKEY": account.api_key}
    url = f"{sim.url}/api/v3/userDataStream{query}"
    async with session.request(method, url, headers=headers) as r:
        return r.status, await r.json()


UNKNOWN_KEY = (400, {"code": -1125, "msg": "This listenKey does not exist."})


async def test_a_listen_key_expires_an_hour_after_its_last_keepalive(
    session: aiohttp.ClientSession,
) -> None:
    sim = ExchangeSimulator(seed=5)
    sim.listen_key_check_seconds = 0.02
    async with sim:
        account = sim.create_account({"USDT": "10000"})
        _, created = await _listen_key(session, sim, account, "POST")
        key = created["listenKey"]
        async with session.ws_connect(f"{sim.stream_url}/ws/{key}") as ws:
            sim.faults.clock_skew_ms += LISTEN_KEY_TTL_MS - MINUTE_MS  # 59 minutes on
            assert await _listen_key(session, sim, account, "PUT", key) == (200, {})
            sim.faults.clock_skew_ms += LISTEN_KEY_TTL_MS - MINUTE_MS  # 59 after the keepalive
            await asyncio.sleep(0.1)  # several checks: still alive
            assert key in sim.hub.listen_keys
            _, same = await _listen_key(session, sim, account, "POST")  # also a keepalive
            assert same == created
            sim.faults.clock_skew_ms += LISTEN_KEY_TTL_MS
            expired_at = sim.now_ms()
            event = await asyncio.wait_for(ws.receive_json(), 5)
            assert event["e"] == "listenKeyExpired" and event["listenKey"] == key
            assert expired_at <= event["E"] <= sim.now_ms()
            closing = await asyncio.wait_for(ws.receive(), 5)
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert await _listen_key(session, sim, account, "PUT", key) == UNKNOWN_KEY
        status, renewed = await _listen_key(session, sim, account, "POST")
        assert status == 200 and renewed["listenKey"] != key


async def test_an_expired_listen_key_is_refused_before_the_periodic_check(
    session: aiohttp.ClientSession,
) -> None:
    sim = ExchangeSimulator(seed=5)
    sim.listen_key_check_seconds = 3600  # only the lookups themselves can notice
    async with sim:
        account = sim.create_account({"USDT": "10000"})
        _, first = await _listen_key(session, sim, account, "POST")
        _, second = await _listen_key(session, sim, account, "POST")
        assert second == first
        sim.faults.clock_skew_ms += LISTEN_KEY_TTL_MS
        assert await _listen_key(session, sim, account, "PUT", first["listenKey"]) == UNKNOWN_KEY
        _, third = await _listen_key(session, sim, account, "POST")
        assert third["listenKey"] != first["listenKey"]
        # an expired key no longer opens a user stream (the path is then just a stream name)
        sim.faults.clock_skew_ms += LISTEN_KEY_TTL_MS
        async with session.ws_connect(f"{sim.stream_url}/ws/{third['listenKey']}"):
            assert third["listenKey"] not in sim.hub.listen_keys
            assert account.api_key not in {k for k, c in sim.hub.users.items() if c}


async def test_the_adapter_counts_the_websocket_apis_weight() -> None:
    async with venue() as (sim, _, make):
        op = await make(user_stream=False).start()
        sim.weights.charge(20, sim.now_ms())  # another client of the same IP
        order = await op.place(ETH, "BUY", "LIMIT", AMOUNT, Decimal("1990"))
        assert order.state is OrderState.OPEN and sim.order_requests[order.client_id] == 1
        assert op.rest.limiter.used == sim.weights.used  # the reply's rateLimits are the truth
        sim.weights.charge(20, sim.now_ms())
        await op.cancel(order)
        assert op.rest.limiter.used == sim.weights.used


async def test_the_adapter_waits_out_a_websocket_api_429_then_places_once() -> None:
    async with venue() as (sim, _, make):
        op = await make(user_stream=False).start()
        sim.weights.forced_retry_after = 1  # the order.place request is answered 429
        order = await op.place(ETH, "BUY", "LIMIT", AMOUNT, Decimal("1990"))
        assert order.state is OrderState.OPEN
        assert sim.order_requests[order.client_id] == 1
        assert op.rest.limiter.waits and op.rest.limiter.waits[-1] >= 0.9


async def test_the_adapters_listen_key_stream_recovers_from_expiry() -> None:
    async with venue() as (sim, account, _):
        other = sim.create_account({"USDT": "100000"})
        op = BinanceSpot.connect(
            account.api_key, account.secret, base_url=sim.url, stream_url=sim.stream_url
        )
        async with op:
            stream = op.user_stream
            assert stream is not None and stream.mode == "listen-key"
            sim.faults.clock_skew_ms += LISTEN_KEY_TTL_MS
            (expired,) = sim.hub.expire_listen_keys()
            async with asyncio.timeout(10):
                while stream.connects < 2:
                    await asyncio.sleep(0.02)
            (renewed,) = sim.hub.listen_keys
            assert renewed != expired and sim.hub.listen_keys[renewed] == account.api_key
            price = Decimal("2000.10")
            order = await op.place(ETH, "SELL", "LIMIT", AMOUNT, price)
            sim.place_direct(other, "ETHUSDT", side="BUY", type="LIMIT", tif="IOC",
                             price=price, qty=AMOUNT, client_id="taker")  # fmt: skip
            await order.wait(timeout=5)
            assert order.state is OrderState.FILLED
