"""The simulator speaks Binance's dialect: raw HTTP and WebSocket checks of codes and fields."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from chainops.devnet.exchange import ExchangeSimulator
from chainops.devnet.exchange.accounts import Account


class Raw:
    def __init__(self, sim: ExchangeSimulator, account: Account, session: aiohttp.ClientSession):
        self.sim, self.account, self.session = sim, account, session

    async def call(
        self, method: str, path: str, signed: bool = True, secret: str | None = None, **params: Any
    ) -> tuple[int, Any, Any]:
        if signed:
            params.setdefault("timestamp", self.sim.now_ms())
            query = urlencode(params)
            key = (secret or self.account.secret).encode()
            query += "&signature=" + hmac.new(key, query.encode(), hashlib.sha256).hexdigest()
        else:
            query = urlencode(params)
        headers = {"X-MBX-APIKEY": self.account.api_key}
        async with self.session.request(
            method, f"{self.sim.url}{path}?{query}", headers=headers
        ) as r:
            return r.status, await r.json(), r.headers


@pytest.fixture
async def raw() -> Any:
    async with ExchangeSimulator(seed=5) as sim, aiohttp.ClientSession() as session:
        yield Raw(sim, sim.create_account({"USDT": "1000", "ETH": "1"}), session)


ORDER = {"symbol": "ETHUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}


@pytest.mark.parametrize(
    ("params", "code", "msg"),
    [
        ({"quantity": "0.01", "price": "1999.905"}, -1013, "Filter failure: PRICE_FILTER"),
        ({"quantity": "0.01005", "price": "1999.90"}, -1013, "Filter failure: LOT_SIZE"),
        ({"quantity": "0.001", "price": "1999.90"}, -1013, "Filter failure: NOTIONAL"),
        (
            {"quantity": "1", "price": "1999.90"},
            -2010,
            "Account has insufficient balance for requested action.",
        ),
        ({"quantity": "0.01", "price": "1999.90", "symbol": "DOGEUSDT"}, -1121, "Invalid symbol."),
        ({"quantity": "0.01", "price": "1e3"}, -1100, None),
        ({"price": "1999.90"}, -1102, None),
        ({"quantity": "0.01", "price": "1999.90", "side": "HOLD"}, -1117, "Invalid side."),
        (
            {
                "quantity": "0.01",
                "price": "1999.90",
                "type": "LIMIT_MAKER",
                "timeInForce": "",
                "newOrderRespType": "RESULT",
            },
            0,
            None,
        ),
        (
            {"quantity": "0.01", "price": "2001", "type": "LIMIT_MAKER", "timeInForce": ""},
            -2010,
            "Order would immediately match and take.",
        ),
        (
            {"quantity": "0.01", "price": "2001", "type": "MARKET", "timeInForce": ""},
            -1106,
            "Parameter 'price' sent when not required.",
        ),
    ],
)
async def test_order_errors(raw: Raw, params: dict[str, str], code: int, msg: str | None) -> None:
    status, body, headers = await raw.call("POST", "/api/v3/order", **(ORDER | params))
    if code == 0:
        assert status == 200 and body["status"] == "NEW"
        return
    assert status == 400 and body["code"] == code
    if msg is not None:
        assert body["msg"] == msg
    assert "X-MBX-USED-WEIGHT-1M" in headers


async def test_auth_errors(raw: Raw) -> None:
    status, body, _ = await raw.call("GET", "/api/v3/account", secret="f" * 64)
    assert (status, body) == (
        400,
        {"code": -1022, "msg": "Signature for this request is not valid."},
    )
    stale = raw.sim.now_ms() - 6_000
    status, body, _ = await raw.call("GET", "/api/v3/account", timestamp=stale)
    assert body == {
        "code": -1021,
        "msg": "Timestamp for this request is outside of the recvWindow.",
    }
    ahead = raw.sim.now_ms() + 2_000
    assert (await raw.call("GET", "/api/v3/account", timestamp=ahead))[1] == {
        "code": -1021,
        "msg": "Timestamp for this request was 1000ms ahead of the server's time.",
    }
    status, body, _ = await raw.call("GET", "/api/v3/account", recvWindow=70_000)
    assert body["code"] == -1131
    raw.account = Account("unknown", raw.account.secret)
    status, body, _ = await raw.call("GET", "/api/v3/account")
    assert (status, body["code"]) == (401, -2015)


async def test_order_lifecycle_codes(raw: Raw) -> None:
    _, body, _ = await raw.call("GET", "/api/v3/order", symbol="ETHUSDT", origClientOrderId="nope")
    assert body == {"code": -2013, "msg": "Order does not exist."}
    _, body, _ = await raw.call(
        "DELETE", "/api/v3/order", symbol="ETHUSDT", origClientOrderId="nope"
    )
    assert body == {"code": -2011, "msg": "Unknown order sent."}
    params = ORDER | {"quantity": "0.01", "price": "1999.90", "newClientOrderId": "mine"}
    assert (await raw.call("POST", "/api/v3/order", **params))[0] == 200
    assert (await raw.call("POST", "/api/v3/order", **params))[1]["msg"] == "Duplicate order sent."
    _status, body, _ = await raw.call(
        "DELETE", "/api/v3/order", symbol="ETHUSDT", origClientOrderId="mine"
    )
    assert body["status"] == "CANCELED" and body["origClientOrderId"] == "mine"
    assert (await raw.call("DELETE", "/api/v3/openOrders", symbol="ETHUSDT"))[1]["code"] == -2011


async def test_weights_429_and_418() -> None:
    async with (
        ExchangeSimulator(seed=1, weight_limit=30, liquidity_levels=0) as sim,
        aiohttp.ClientSession() as s,
    ):
        statuses = []
        for _ in range(6):
            async with s.get(f"{sim.url}/api/v3/exchangeInfo") as r:
                statuses.append(
                    (r.status, r.headers.get("Retry-After"), r.headers["X-MBX-USED-WEIGHT-1M"])
                )
        assert statuses[0] == (200, None, "20")
        assert statuses[1][0] == 429 and statuses[1][1] is not None
        assert statuses[-1][0] == 418
        async with s.get(f"{sim.url}/api/v3/ping") as r:
            assert r.status == 418 and (await r.json())["code"] == -1003


async def test_market_streams_have_contiguous_update_ids() -> None:
    async with ExchangeSimulator(seed=2) as sim, aiohttp.ClientSession() as s:
        other = sim.create_account({"USDT": "100000", "ETH": "10"})
        url = f"{sim.stream_url}/stream?streams=ethusdt@depth@100ms/ethusdt@trade"
        async with s.ws_connect(url) as ws:
            await asyncio.sleep(0.05)
            start = sim.book("ETHUSDT").update_id
            for n in range(5):
                sim.place_direct(
                    other,
                    "ETHUSDT",
                    side="BUY",
                    type="LIMIT",
                    tif="GTC",
                    price=Decimal("2000.50") + n,
                    qty=Decimal("0.01"),
                    client_id=f"x{n}",
                )
            depth, trades = [], []
            while len(depth) < 5:
                msg = json.loads((await ws.receive(timeout=5)).data)
                (depth if msg["stream"].endswith("100ms") else trades).append(msg["data"])
        assert depth[0]["U"] == start + 1
        for prev, cur in itertools.pairwise(depth):
            assert cur["U"] == prev["u"] + 1
        assert depth[-1]["u"] == sim.book("ETHUSDT").update_id
        assert trades and trades[0]["e"] == "trade" and trades[0]["s"] == "ETHUSDT"


async def test_ws_api_user_stream_and_listen_key(raw: Raw) -> None:
    sim, account = raw.sim, raw.account
    async with raw.session.ws_connect(sim.ws_api_url) as ws:
        params = {"apiKey": account.api_key, "timestamp": sim.now_ms()}
        payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        sig = hmac.new(account.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        await ws.send_json(
            {
                "id": 1,
                "method": "userDataStream.subscribe.signature",
                "params": params | {"signature": "0" * 64},
            }
        )
        assert (await ws.receive_json(timeout=5))["error"]["code"] == -1022
        await ws.send_json(
            {
                "id": 2,
                "method": "userDataStream.subscribe.signature",
                "params": params | {"signature": sig},
            }
        )
        reply = await ws.receive_json(timeout=5)
        assert reply["status"] == 200 and "subscriptionId" in reply["result"]
        _, key, _ = await raw.call("POST", "/api/v3/userDataStream", signed=False)
        async with raw.session.ws_connect(f"{sim.stream_url}/ws/{key['listenKey']}") as legacy:
            await asyncio.sleep(0.05)
            await raw.call(
                "POST", "/api/v3/order", **(ORDER | {"quantity": "0.01", "price": "1999.90"})
            )
            event = (await ws.receive_json(timeout=5))["event"]
            assert (event["e"], event["x"], event["X"]) == ("executionReport", "NEW", "NEW")
            assert (await legacy.receive_json(timeout=5))["i"] == event["i"]


async def test_seeded_liquidity_repeats() -> None:
    async with ExchangeSimulator(seed=9) as a, ExchangeSimulator(seed=9) as b:
        assert a.book("ETHUSDT").depth(50) == b.book("ETHUSDT").depth(50)
        assert len(a.book("ETHUSDT").depth(50)["bids"]) == 20
