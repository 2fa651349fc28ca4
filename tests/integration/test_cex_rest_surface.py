"""The simulator's wider surface over raw HTTP and WebSocket: reply shapes, lists, streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from cex_helpers import Raw, raw_venue

LIMIT = {"symbol": "ETHUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
         "quantity": "0.01", "price": "1990.00"}  # fmt: skip


@pytest.fixture
async def raw() -> AsyncIterator[Raw]:
    async with raw_venue() as venue:
        yield venue


async def test_reply_types(raw: Raw) -> None:
    _, ack = await raw.call("POST", "/api/v3/order", **LIMIT, newOrderRespType="ACK")
    assert set(ack) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    _, result = await raw.call("POST", "/api/v3/order", **LIMIT, newOrderRespType="RESULT")
    assert result["status"] == "NEW" and "fills" not in result
    _, full = await raw.call("POST", "/api/v3/order", **LIMIT)  # LIMIT defaults to FULL
    assert full["fills"] == []
    _, maker = await raw.call("POST", "/api/v3/order", **(LIMIT | {"type": "LIMIT_MAKER"}))
    assert "status" not in maker  # other types default to ACK
    _, market = await raw.call("POST", "/api/v3/order", symbol="ETHUSDT", side="BUY",
                               type="MARKET", quoteOrderQty="30")  # fmt: skip
    assert market["origQuoteOrderQty"] == "30.00000000" and market["fills"]
    assert Decimal(market["cummulativeQuoteQty"]) <= 30
    status, body = await raw.call("POST", "/api/v3/order", **LIMIT, newOrderRespType="ALL")
    assert (status, body["code"]) == (400, -1130)


async def test_order_test_places_nothing(raw: Raw) -> None:
    assert await raw.call("POST", "/api/v3/order/test", **LIMIT) == (200, {})
    _, rates = await raw.call("POST", "/api/v3/order/test", **LIMIT, computeCommissionRates="true")
    assert rates["standardCommissionForOrder"] == {"maker": "0.00100000", "taker": "0.00100000"}
    assert (await raw.call("GET", "/api/v3/openOrders"))[1] == []
    _, bad = await raw.call("POST", "/api/v3/order/test", **(LIMIT | {"price": "1990.001"}))
    assert bad == {"code": -1013, "msg": "Filter failure: PRICE_FILTER"}


async def test_cancel_replace_failures_carry_both_halves(raw: Raw) -> None:
    new = LIMIT | {"price": "1980.00", "cancelReplaceMode": "STOP_ON_FAILURE"}
    status, body = await raw.call("POST", "/api/v3/order/cancelReplace", **new, cancelOrderId=999)
    assert status == 400 and body["code"] == -2022
    assert body["data"] == {
        "cancelResult": "FAILURE",
        "newOrderResult": "NOT_ATTEMPTED",
        "cancelResponse": {"code": -2011, "msg": "Unknown order sent."},
        "newOrderResponse": None,
    }
    allow = new | {"cancelReplaceMode": "ALLOW_FAILURE"}
    status, body = await raw.call("POST", "/api/v3/order/cancelReplace", **allow, cancelOrderId=999)
    assert status == 409  # one half done: Binance's conflict status
    assert body["code"] == -2021 and body["data"]["newOrderResult"] == "SUCCESS"
    assert body["data"]["newOrderResponse"]["status"] == "NEW"


async def test_all_orders_and_order_lists(raw: Raw) -> None:
    for price in ("1990.00", "1991.00"):
        await raw.call("POST", "/api/v3/order", **(LIMIT | {"price": price}))
    _, oco = await raw.call("POST", "/api/v3/order/oco", symbol="ETHUSDT", side="SELL",
                            quantity="0.01", price="2100.00", stopPrice="1900.00",
                            stopLimitPrice="1899.00", stopLimitTimeInForce="GTC")  # fmt: skip
    assert [r["type"] for r in oco["orderReports"]] == ["STOP_LOSS_LIMIT", "LIMIT_MAKER"]
    _, orders = await raw.call("GET", "/api/v3/allOrders", symbol="ETHUSDT")
    assert len(orders) == 4 and all(o["orderListId"] == oco["orderListId"] for o in orders[2:])
    _, listed = await raw.call("GET", "/api/v3/openOrderList")
    assert [x["orderListId"] for x in listed] == [oco["orderListId"]]
    leg = oco["orders"][1]["orderId"]
    _, canceled = await raw.call("DELETE", "/api/v3/order", symbol="ETHUSDT", orderId=leg)
    assert canceled["status"] == "CANCELED"  # one leg canceled: the list goes with it
    _, done = await raw.call("GET", "/api/v3/orderList", orderListId=oco["orderListId"])
    assert done["listOrderStatus"] == "ALL_DONE"
    assert (await raw.call("GET", "/api/v3/openOrderList"))[1] == []
    status, body = await raw.call("POST", "/api/v3/orderList/oco", symbol="ETHUSDT", side="SELL",
                                  quantity="0.01", aboveType="LIMIT_MAKER", abovePrice="1900.00",
                                  belowType="STOP_LOSS", belowStopPrice="2100.00")  # fmt: skip
    assert (status, body["code"]) == (400, -1166)
    status, body = await raw.call("POST", "/api/v3/orderList/oco", symbol="ETHUSDT", side="SELL",
                                  quantity="0.01", aboveType="LIMIT", abovePrice="2100.00",
                                  belowType="STOP_LOSS", belowStopPrice="1900.00")  # fmt: skip
    assert (status, body["code"]) == (400, -1158)


async def test_spot_only_start_up_routes(raw: Raw) -> None:
    _, coins = await raw.call("GET", "/sapi/v1/capital/config/getall")
    assert {c["coin"] for c in coins} == {"BTC", "ETH", "USDT"}
    assert await raw.call("GET", "/sapi/v1/margin/allPairs", signed=False) == (200, [])
    _, futures = await raw.call("GET", "/fapi/v1/exchangeInfo", signed=False)
    assert futures["symbols"] == []
    _, fees = await raw.call("GET", "/api/v3/account/commission", symbol="ETHUSDT")
    assert fees["standardCommission"]["maker"] == "0.00100000"


async def test_market_streams_and_account_events(raw: Raw) -> None:
    sim = raw.sim
    names = ["ethusdt@depth5", "ethusdt@aggTrade", "ethusdt@kline_1m", "ethusdt@bookTicker",
             "ethusdt@ticker", "ethusdt@miniTicker"]  # fmt: skip
    url = f"{sim.stream_url}/stream?streams={'/'.join(names)}"
    async with raw.session.ws_connect(url) as ws, raw.session.ws_connect(sim.ws_api_url) as api:
        await api.send_json({"id": 1, "method": "userDataStream.subscribe.signature",
                             "params": raw.ws_params()})  # fmt: skip
        assert (await api.receive_json(timeout=5))["status"] == 200
        await asyncio.sleep(0.05)
        await raw.call("POST", "/api/v3/order", symbol="ETHUSDT", side="BUY", type="MARKET",
                       quantity="0.2")  # fmt: skip
        seen: dict[str, dict[str, Any]] = {}
        while len(seen) < len(names):
            msg = await ws.receive_json(timeout=5)
            seen.setdefault(msg["stream"], msg["data"])
        assert len(seen["ethusdt@depth5"]["asks"]) == 5
        assert seen["ethusdt@aggTrade"]["e"] == "aggTrade"
        assert seen["ethusdt@kline_1m"]["k"]["i"] == "1m"
        assert float(seen["ethusdt@bookTicker"]["a"]) > 2000
        assert seen["ethusdt@ticker"]["e"] == "24hrTicker"
        assert seen["ethusdt@miniTicker"]["e"] == "24hrMiniTicker"
        events = []
        while not any(e["e"] == "outboundAccountPosition" for e in events):
            events.append((await api.receive_json(timeout=5))["event"])
        position = next(e for e in events if e["e"] == "outboundAccountPosition")
        assert {b["a"] for b in position["B"]} == {"ETH", "USDT"}
        sim.deposit(raw.account, "BTC", Decimal("0.5"))
        update = (await api.receive_json(timeout=5))["event"]
        assert (update["e"], update["a"], update["d"]) == ("balanceUpdate", "BTC", "0.50000000")


async def test_websocket_api_trading_methods(raw: Raw) -> None:
    async with raw.session.ws_connect(raw.sim.ws_api_url) as api:

        async def ask(method: str, **params: Any) -> dict[str, Any]:
            await api.send_json({"id": method, "method": method, "params": raw.ws_params(**params)})
            reply: dict[str, Any] = await api.receive_json(timeout=5)
            return reply

        placed = await ask("order.place", **LIMIT)
        assert placed["status"] == 200 and placed["result"]["status"] == "NEW"
        order_id = placed["result"]["orderId"]
        assert (await ask("order.status", symbol="ETHUSDT", orderId=order_id))["status"] == 200
        assert len((await ask("openOrders.status", symbol="ETHUSDT"))["result"]) == 1
        replaced = await ask(
            "order.cancelReplace",
            **(LIMIT | {"price": "1985.00"}),
            cancelReplaceMode="STOP_ON_FAILURE",
            cancelOrderId=order_id,
        )
        new_id = replaced["result"]["newOrderResponse"]["orderId"]
        assert (await ask("order.cancel", symbol="ETHUSDT", orderId=new_id))["status"] == 200
        oco = await ask("orderList.place.oco", symbol="ETHUSDT", side="SELL", quantity="0.01",
                        aboveType="LIMIT_MAKER", abovePrice="2100.00", belowType="STOP_LOSS",
                        belowStopPrice="1900.00")  # fmt: skip
        assert oco["result"]["listOrderStatus"] == "EXECUTING"
        account = await ask("account.status")
        assert account["result"]["accountType"] == "SPOT"
        refused = await ask("order.place", **(LIMIT | {"quantity": "²"}))
        assert refused["status"] == 400 and refused["error"]["code"] == -1100
        await api.send_json({"id": 9, "method": "order.place", "params": LIMIT})
        unsigned = await api.receive_json(timeout=5)
        assert unsigned["error"]["code"] == -2014
        await api.send_json({"id": 10, "method": "margin.borrow", "params": {}})
        assert (await api.receive_json(timeout=5))["error"]["code"] == -1020
