"""Calls Binance clients make beyond order entry: lookups, cancels, lists, listen keys.

Each case checks the simulator's answer against Binance's documented one:
the same fields, codes and HTTP statuses, with correct and with wrong parameters.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from cex_helpers import AMOUNT, ETH, Raw, raw_venue, venue

from chainops.core.order import OrderState, OrderType
from chainops.operators.exchanges.order_lists import OcoLeg

BUY = {"symbol": "ETHUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
       "quantity": "0.01"}  # fmt: skip
OCO = {"symbol": "ETHUSDT", "side": "SELL", "quantity": "0.01", "aboveType": "LIMIT_MAKER",
       "abovePrice": "2100.00", "belowType": "STOP_LOSS", "belowStopPrice": "1900.00"}  # fmt: skip


@pytest.fixture
async def raw() -> AsyncIterator[Raw]:
    async with raw_venue() as venue:
        yield venue


async def test_order_id_and_client_id_together_must_name_one_order(raw: Raw) -> None:
    _, a = await raw.call("POST", "/api/v3/order", **BUY, price="1990.00", newClientOrderId="A")
    _, b = await raw.call("POST", "/api/v3/order", **BUY, price="1980.00", newClientOrderId="B")
    both = {"symbol": "ETHUSDT", "orderId": a["orderId"], "origClientOrderId": "B"}
    assert await raw.call("GET", "/api/v3/order", **both) == (
        400,
        {"code": -2013, "msg": "Order does not exist."},
    )
    assert await raw.call("DELETE", "/api/v3/order", **both) == (
        400,
        {"code": -2011, "msg": "Unknown order sent."},
    )
    assert await raw.open_ids() == {a["orderId"], b["orderId"]}  # neither was canceled
    status, got = await raw.call("GET", "/api/v3/order", **(both | {"origClientOrderId": "A"}))
    assert status == 200 and got["orderId"] == a["orderId"]


async def test_cancel_restrictions(raw: Raw) -> None:
    _, a = await raw.call("POST", "/api/v3/order", **BUY, price="1990.00")
    cancel = {"symbol": "ETHUSDT", "orderId": a["orderId"]}
    assert await raw.call("DELETE", "/api/v3/order", **cancel, cancelRestrictions="LATER") == (
        400,
        {"code": -1145, "msg": "Invalid cancelRestrictions"},
    )
    status, body = await raw.call(
        "DELETE", "/api/v3/order", **cancel, cancelRestrictions="ONLY_PARTIALLY_FILLED"
    )
    assert (status, body) == (
        400,
        {"code": -2011, "msg": "Order was not canceled due to cancel restrictions."},
    )
    assert await raw.open_ids() == {a["orderId"]}
    only_new = {"cancelRestrictions": "ONLY_NEW"}
    status, body = await raw.call("DELETE", "/api/v3/order", **cancel, **only_new)
    assert status == 200 and body["status"] == "CANCELED"


async def test_recv_window_takes_up_to_three_decimals(raw: Raw) -> None:
    status, body = await raw.call("GET", "/api/v3/account", recvWindow="10000.5")
    assert status == 200 and body["accountType"] == "SPOT"
    status, _ = await raw.call("GET", "/api/v3/openOrders", recvWindow="5000.000")
    assert status == 200
    status, body = await raw.call("GET", "/api/v3/account", recvWindow="60000.001")
    assert (status, body["code"]) == (400, -1131)
    status, body = await raw.call("GET", "/api/v3/account", recvWindow="5000.0001")
    assert (status, body["code"]) == (400, -1100)


async def test_a_trade_with_oneself_is_listed_once_per_side(raw: Raw) -> None:
    sell = BUY | {"side": "SELL", "price": "2000.10"}
    _, maker = await raw.call("POST", "/api/v3/order", **sell)
    _, taker = await raw.call("POST", "/api/v3/order", **(sell | {"side": "BUY"}))
    assert taker["status"] == "FILLED"
    _, trades = await raw.call("GET", "/api/v3/myTrades", symbol="ETHUSDT")
    assert sorted((t["orderId"], t["isBuyer"], t["isMaker"]) for t in trades) == [
        (maker["orderId"], False, True),
        (taker["orderId"], True, False),
    ]
    _, one = await raw.call("GET", "/api/v3/myTrades", symbol="ETHUSDT", orderId=taker["orderId"])
    assert [t["orderId"] for t in one] == [taker["orderId"]]


async def test_prices_follow_the_price_filter_on_every_route(raw: Raw) -> None:
    _, before = await raw.call("GET", "/api/v3/account")
    failure = (400, {"code": -1013, "msg": "Filter failure: PRICE_FILTER"})
    for stop in ("1900.123", "0"):
        oco = OCO | {"belowStopPrice": stop}
        assert await raw.call("POST", "/api/v3/orderList/oco", **oco) == failure
    legacy = {"symbol": "ETHUSDT", "side": "SELL", "quantity": "0.01", "price": "2100.00",
              "stopPrice": "1900.005", "stopLimitPrice": "1899.00",
              "stopLimitTimeInForce": "GTC"}  # fmt: skip
    assert await raw.call("POST", "/api/v3/order/oco", **legacy) == failure
    too_high = BUY | {"side": "SELL", "price": "1000000.01"}  # above maxPrice
    assert await raw.call("POST", "/api/v3/order", **too_high) == failure
    _, after = await raw.call("GET", "/api/v3/account")
    assert after["balances"] == before["balances"] and await raw.open_ids() == set()


async def test_cancel_all_reports_an_order_list_as_one_entry(raw: Raw) -> None:
    _, plain = await raw.call("POST", "/api/v3/order", **BUY, price="1990.00")
    _, oco = await raw.call("POST", "/api/v3/orderList/oco", **OCO, listClientOrderId="L1")
    status, body = await raw.call("DELETE", "/api/v3/openOrders", symbol="ETHUSDT")
    assert status == 200 and len(body) == 2
    single, listed = body
    assert single["orderId"] == plain["orderId"] and single["status"] == "CANCELED"
    assert listed["orderListId"] == oco["orderListId"] and listed["listClientOrderId"] == "L1"
    assert (listed["listStatusType"], listed["listOrderStatus"]) == ("ALL_DONE", "ALL_DONE")
    legs = {o["orderId"] for o in oco["orders"]}
    assert {o["orderId"] for o in listed["orders"]} == legs
    reports = listed["orderReports"]
    assert {r["orderId"] for r in reports} == legs and {r["status"] for r in reports} == {
        "CANCELED"
    }
    assert {r["origClientOrderId"] for r in reports} == {o["clientOrderId"] for o in oco["orders"]}
    assert await raw.open_ids() == set()


async def test_listen_key_keepalive_and_close(raw: Raw) -> None:
    async def user_stream(method: str, **params: str) -> tuple[int, Any]:
        query = f"?{urlencode(params)}" if params else ""
        headers = {"X-MBX-APIKEY": raw.account.api_key}
        url = f"{raw.sim.url}/api/v3/userDataStream{query}"
        async with raw.session.request(method, url, headers=headers) as r:
            return r.status, await r.json()

    _, created = await user_stream("POST")
    key = created["listenKey"]
    assert await user_stream("PUT", listenKey=key) == (200, {})
    unknown = (400, {"code": -1125, "msg": "This listenKey does not exist."})
    assert await user_stream("PUT", listenKey="0" * 60) == unknown
    status, body = await user_stream("PUT")
    assert (status, body["code"]) == (400, -1102)
    async with raw.session.ws_connect(f"{raw.sim.stream_url}/ws/{key}") as ws:
        assert await user_stream("DELETE", listenKey=key) == (200, {})
        message = await asyncio.wait_for(ws.receive(), 5)
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert await user_stream("PUT", listenKey=key) == unknown
    assert await user_stream("DELETE", listenKey=key) == unknown


async def test_websocket_api_historical_trades(raw: Raw) -> None:
    async with raw.session.ws_connect(raw.sim.ws_api_url) as ws:
        request = {"symbol": "ETHUSDT", "fromId": 2, "limit": 2}
        await ws.send_str(json.dumps({"id": 1, "method": "trades.historical", "params": request}))
        reply = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)
    assert reply["status"] == 200 and [t["id"] for t in reply["result"]] == [2, 3]


async def test_the_adapter_cancels_all_including_an_oco_list() -> None:
    async with venue() as (_sim, _, make):
        op = await make(user_stream=False).start()
        plain = await op.place(ETH, "BUY", "LIMIT", AMOUNT, Decimal("1990"))
        above = OcoLeg(order_type=OrderType.LIMIT_MAKER, price=Decimal(2050))
        below = OcoLeg(
            order_type=OrderType.STOP_LOSS_LIMIT, price=Decimal(1989), stop_price=Decimal(1990)
        )
        oco = await op.place_oco(ETH, "SELL", AMOUNT, above, below)
        canceled = await op.cancel_all(ETH)
        legs = {o.client_id for o in oco.legs}
        assert {o.client_id for o in canceled} == {plain.client_id, *legs} and len(legs) == 2
        assert {o.state for o in (plain, *oco.legs)} == {OrderState.CANCELED}
        assert await op.open_orders(ETH) == []


DAY_MS = 86_400_000
TOO_LONG = {"code": -1127, "msg": "More than 24 hours between startTime and endTime."}
BAD_COMBO = {"code": -1128, "msg": "Combination of optional parameters invalid."}


async def ws_signed(raw: Raw, method: str, **params: Any) -> tuple[int, Any]:
    """One signed WebSocket API request: its status and its result or error."""
    params |= {"apiKey": raw.account.api_key, "timestamp": raw.sim.now_ms()}
    payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    secret = raw.account.secret.encode()
    params["signature"] = hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()
    async with raw.session.ws_connect(raw.sim.ws_api_url) as ws:
        await ws.send_str(json.dumps({"id": 1, "method": method, "params": params}))
        reply = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)
    return reply["status"], reply.get("result", reply.get("error"))


async def test_history_lookups_span_at_most_24_hours(raw: Raw) -> None:
    _, order = await raw.call("POST", "/api/v3/order", **BUY, price="1990.00")
    _, oco = await raw.call("POST", "/api/v3/orderList/oco", **OCO)
    now = raw.sim.now_ms()
    day = {"startTime": now - DAY_MS + 5_000, "endTime": now + 5_000}  # exactly 24 hours
    longer = {"startTime": now - DAY_MS, "endTime": now + 1}
    routes = (
        ("/api/v3/allOrders", "allOrders", {"symbol": "ETHUSDT"}),
        ("/api/v3/myTrades", "myTrades", {"symbol": "ETHUSDT"}),
        ("/api/v3/allOrderList", "allOrderLists", {}),
    )
    for path, method, base in routes:
        assert await raw.call("GET", path, **base, **longer) == (400, TOO_LONG)
        assert await ws_signed(raw, method, **base, **longer) == (400, TOO_LONG)
        status, body = await raw.call("GET", path, **base, **day)
        assert status == 200, body
        assert (status, body) == await ws_signed(raw, method, **base, **day)
    _, orders = await raw.call("GET", "/api/v3/allOrders", symbol="ETHUSDT", **day)
    assert order["orderId"] in {o["orderId"] for o in orders}
    _, lists = await raw.call("GET", "/api/v3/allOrderList", **day)
    assert [x["orderListId"] for x in lists] == [oco["orderListId"]]


async def test_my_trades_takes_only_the_documented_parameter_combinations(raw: Raw) -> None:
    sell = BUY | {"side": "SELL", "price": "2000.10"}
    _, maker = await raw.call("POST", "/api/v3/order", **sell)
    _, taker = await raw.call("POST", "/api/v3/order", **(sell | {"side": "BUY"}))
    now = raw.sim.now_ms()
    start, end = {"startTime": now - 60_000}, {"endTime": now + 1_000}
    bad = [
        {"fromId": 1} | start,
        {"fromId": 1} | end,
        {"fromId": 1} | start | end,
        {"orderId": taker["orderId"]} | start,
        {"orderId": taker["orderId"]} | end,
        {"orderId": taker["orderId"]} | start | end,
    ]
    for params in bad:
        assert await raw.call("GET", "/api/v3/myTrades", symbol="ETHUSDT", **params) == (
            400,
            BAD_COMBO,
        ), params
        assert await ws_signed(raw, "myTrades", symbol="ETHUSDT", **params) == (400, BAD_COMBO)
    good: list[dict[str, int]] = [
        {},
        {"orderId": taker["orderId"]},
        start,
        end,
        {"fromId": 0},
        start | end,
        {"orderId": maker["orderId"], "fromId": 0},
    ]
    for params in good:
        status, trades = await raw.call("GET", "/api/v3/myTrades", symbol="ETHUSDT", **params)
        assert status == 200 and trades, params


async def test_order_history_by_time_ignores_the_starting_id(raw: Raw) -> None:
    _, first = await raw.call("POST", "/api/v3/order", **BUY, price="1990.00")
    _, second = await raw.call("POST", "/api/v3/order", **BUY, price="1980.00")
    _, oco = await raw.call("POST", "/api/v3/orderList/oco", **OCO)
    _, later = await raw.call("POST", "/api/v3/orderList/oco", **OCO)
    now = raw.sim.now_ms()
    window = {"startTime": now - 60_000, "endTime": now + 1_000}
    # allOrders (REST and WebSocket API): orderId is ignored once a time is given
    for status, orders in (
        await raw.call("GET", "/api/v3/allOrders", symbol="ETHUSDT", **window,
                       orderId=second["orderId"]),
        await ws_signed(raw, "allOrders", symbol="ETHUSDT", **window, orderId=second["orderId"]),
    ):  # fmt: skip
        assert status == 200
        assert {first["orderId"], second["orderId"]} <= {o["orderId"] for o in orders}
    # allOrderList over REST refuses fromId with a time; the WebSocket API ignores fromId
    both = {"fromId": later["orderListId"], **window}
    assert await raw.call("GET", "/api/v3/allOrderList", **both) == (400, BAD_COMBO)
    status, lists = await ws_signed(raw, "allOrderLists", fromId=later["orderListId"], **window)
    assert status == 200
    assert [x["orderListId"] for x in lists] == [oco["orderListId"], later["orderListId"]]


async def test_order_list_history_validates_limit(raw: Raw) -> None:
    for n in range(3):
        await raw.call("POST", "/api/v3/orderList/oco", **OCO, listClientOrderId=f"L{n}")
    illegal = (
        400,
        {
            "code": -1100,
            "msg": "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'.",
        },
    )
    assert await raw.call("GET", "/api/v3/allOrderList", limit=0) == illegal
    assert await raw.call("GET", "/api/v3/allOrders", symbol="ETHUSDT", limit=0) == illegal
    _, two = await raw.call("GET", "/api/v3/allOrderList", limit=2)
    assert [x["listClientOrderId"] for x in two] == ["L1", "L2"]  # the most recent
    _, first = await raw.call("GET", "/api/v3/allOrderList", fromId=0, limit=1)
    assert [x["listClientOrderId"] for x in first] == ["L0"]


async def test_request_weights_depend_on_parameters(raw: Raw) -> None:
    async def weight(method: str, path: str, signed: bool = True, **params: Any) -> int:
        before = raw.sim.weights.used
        status, body = await raw.call(method, path, signed, **params)
        assert status == 200, body
        return raw.sim.weights.used - before

    eth = {"symbol": "ETHUSDT"}
    two = {"symbols": '["ETHUSDT","BTCUSDT"]'}
    assert await weight("GET", "/api/v3/openOrders", **eth) == 6
    assert await weight("GET", "/api/v3/openOrders") == 80
    assert await weight("GET", "/api/v3/depth", False, **eth) == 5
    assert await weight("GET", "/api/v3/depth", False, **eth, limit=100) == 5
    assert await weight("GET", "/api/v3/depth", False, **eth, limit=101) == 25
    assert await weight("GET", "/api/v3/depth", False, **eth, limit=1000) == 50
    assert await weight("GET", "/api/v3/depth", False, **eth, limit=5000) == 250
    assert await weight("GET", "/api/v3/ticker/24hr", False, **eth) == 2
    assert await weight("GET", "/api/v3/ticker/24hr", False, **two) == 2
    assert await weight("GET", "/api/v3/ticker/24hr", False) == 80
    for path in ("/api/v3/ticker/price", "/api/v3/ticker/bookTicker"):
        assert await weight("GET", path, False, **eth) == 2
        assert await weight("GET", path, False, **two) == 4
        assert await weight("GET", path, False) == 4
    assert await weight("GET", "/api/v3/ticker", False, **eth) == 4
    assert await weight("GET", "/api/v3/ticker", False, **two) == 8
    _, order = await raw.call("POST", "/api/v3/order", **BUY, price="1990.00")
    assert await weight("GET", "/api/v3/myTrades", **eth) == 20
    assert await weight("GET", "/api/v3/myTrades", **eth, orderId=order["orderId"]) == 5
    assert await weight("POST", "/api/v3/order/test", **BUY, price="1990.00") == 1
    test = BUY | {"price": "1990.00", "computeCommissionRates": "true"}
    assert await weight("POST", "/api/v3/order/test", **test) == 20
    fixed = [
        ("/api/v3/trades", False, eth, 25),
        ("/api/v3/historicalTrades", False, eth, 25),
        ("/api/v3/aggTrades", False, eth, 4),
        ("/api/v3/klines", False, eth | {"interval": "1m"}, 2),
        ("/api/v3/uiKlines", False, eth | {"interval": "1m"}, 2),
        ("/api/v3/avgPrice", False, eth, 2),
        ("/api/v3/allOrders", True, eth, 20),
        ("/api/v3/account/commission", True, eth, 20),
        ("/api/v3/openOrderList", True, {}, 6),
        ("/api/v3/allOrderList", True, {}, 20),
    ]
    for path, signed, params, expected in fixed:
        assert await weight("GET", path, signed, **params) == expected, path


async def test_a_second_listen_key_request_returns_the_active_key(raw: Raw) -> None:
    async def user_stream(method: str, **params: str) -> tuple[int, Any]:
        query = f"?{urlencode(params)}" if params else ""
        headers = {"X-MBX-APIKEY": raw.account.api_key}
        url = f"{raw.sim.url}/api/v3/userDataStream{query}"
        async with raw.session.request(method, url, headers=headers) as r:
            return r.status, await r.json()

    _, first = await user_stream("POST")
    assert await user_stream("POST") == (200, first)
    other = raw.sim.create_account({"USDT": "1"})
    async with raw.session.post(
        f"{raw.sim.url}/api/v3/userDataStream", headers={"X-MBX-APIKEY": other.api_key}
    ) as r:
        assert (await r.json())["listenKey"] != first["listenKey"]  # one key per account
    assert await user_stream("DELETE", listenKey=first["listenKey"]) == (200, {})
    status, renewed = await user_stream("POST")
    assert status == 200 and renewed["listenKey"] != first["listenKey"]


async def test_the_simulator_restarts_on_its_port_with_its_book(raw: Raw) -> None:
    _, mine = await raw.call("POST", "/api/v3/order", **BUY, price="1990.00")
    _, before = await raw.call("GET", "/api/v3/depth", False, symbol="ETHUSDT", limit=50)
    url = raw.sim.url
    await raw.sim.stop()
    await raw.sim.start()
    assert raw.sim.url == url
    assert await raw.open_ids() == {mine["orderId"]}
    _, after = await raw.call("GET", "/api/v3/depth", False, symbol="ETHUSDT", limit=50)
    assert (after["bids"], after["asks"]) == (before["bids"], before["asks"])  # not seeded twice
