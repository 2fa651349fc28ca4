"""python-binance against the simulator; only its URL constants are overridden."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from binance import AsyncClient, BinanceSocketManager
from binance.exceptions import BinanceAPIException
from binance.ws.reconnecting_websocket import ReconnectingWebsocket
from cert_helpers import simulator

from chainops.devnet.exchange import ExchangeSimulator
from chainops.devnet.exchange.accounts import Account

WAIT = 10


def client_class(sim: ExchangeSimulator) -> type[AsyncClient]:
    """AsyncClient with the simulator's URLs (the constants its constructor formats)."""
    urls = {
        "API_URL": f"{sim.url}/api",
        "MARGIN_API_URL": f"{sim.url}/sapi",
        "WS_API_URL": sim.ws_api_url,
    }
    return type("SimulatorClient", (AsyncClient,), urls)


async def connect(sim: ExchangeSimulator, account: Account) -> AsyncClient:
    return await client_class(sim).create(account.api_key, account.secret)


@pytest.fixture
async def venue() -> AsyncIterator[tuple[ExchangeSimulator, AsyncClient, AsyncClient]]:
    async with simulator() as (sim, trader, other):
        a, b = await connect(sim, trader), await connect(sim, other)
        try:
            yield sim, a, b
        finally:
            await a.close_connection()
            await b.close_connection()


async def test_market_data(venue: Any) -> None:
    sim, client, _ = venue
    info = await client.get_symbol_info("ETHUSDT")
    assert info is not None and "STOP_LOSS_LIMIT" in info["orderTypes"]
    assert (await client.get_server_time())["serverTime"] > 0
    ticker = await client.get_ticker(symbol="ETHUSDT")
    assert ticker["lastPrice"] == "2000.00000000" and ticker["bidPrice"] == "1999.50000000"
    prices = await client.get_all_tickers()
    assert {p["symbol"] for p in prices} == {"ETHUSDT", "BTCUSDT"}
    top = await client.get_orderbook_ticker(symbol="ETHUSDT")
    assert top["askPrice"] == "2000.50000000"
    book = await client.get_order_book(symbol="ETHUSDT", limit=5)
    assert len(book["bids"]) == 5 and book["lastUpdateId"] == sim.book("ETHUSDT").update_id
    assert len(await client.get_recent_trades(symbol="ETHUSDT")) == 4
    aggs = await client.get_aggregate_trades(symbol="ETHUSDT")
    assert [a["a"] for a in aggs] == [1, 2, 3, 4]
    candles = await client.get_klines(symbol="ETHUSDT", interval=AsyncClient.KLINE_INTERVAL_1MINUTE)
    assert candles[-1][4] == "2000.00000000"
    assert (await client.get_avg_price(symbol="ETHUSDT"))["price"] == "2000.00000000"
    fees = await client.get_trade_fee(symbol="ETHUSDT")
    assert fees[0]["takerCommission"] == "0.00100000"


async def test_orders_queries_and_cancel_replace(venue: Any) -> None:
    _sim, client, _ = venue
    assert (
        await client.create_test_order(
            symbol="ETHUSDT",
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity="0.01",
            price="1990",
        )
        == {}
    )
    limit = await client.order_limit_buy(symbol="ETHUSDT", quantity="0.01", price="1990.00")
    assert limit["status"] == "NEW" and limit["fills"] == []
    market = await client.order_market_buy(symbol="ETHUSDT", quoteOrderQty="50")
    assert market["status"] == "FILLED" and Decimal(market["cummulativeQuoteQty"]) <= 50
    ack = await client.create_order(
        symbol="ETHUSDT", side="SELL", type="LIMIT_MAKER", quantity="0.01", price="2100",
        newOrderRespType="ACK",
    )  # fmt: skip
    assert set(ack) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    got = await client.get_order(symbol="ETHUSDT", orderId=limit["orderId"])
    assert got["status"] == "NEW" and got["price"] == "1990.00000000"
    replaced = await client.cancel_replace_order(
        symbol="ETHUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.02",
        price="1980", cancelReplaceMode="STOP_ON_FAILURE", cancelOrderId=limit["orderId"],
    )  # fmt: skip
    assert replaced["cancelResult"] == "SUCCESS" and replaced["newOrderResult"] == "SUCCESS"
    new_id = replaced["newOrderResponse"]["orderId"]
    assert {o["orderId"] for o in await client.get_open_orders(symbol="ETHUSDT")} == {
        new_id,
        ack["orderId"],
    }
    with pytest.raises(BinanceAPIException) as failed:
        await client.cancel_replace_order(
            symbol="ETHUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.02",
            price="1980", cancelReplaceMode="STOP_ON_FAILURE", cancelOrderId=limit["orderId"],
        )  # fmt: skip
    assert failed.value.code == -2022
    canceled = await client.cancel_order(symbol="ETHUSDT", orderId=new_id)
    assert canceled["status"] == "CANCELED"
    everything = await client.get_all_orders(symbol="ETHUSDT")
    assert [o["orderId"] for o in everything] == sorted(o["orderId"] for o in everything)
    assert len(everything) == 4
    trades = await client.get_my_trades(symbol="ETHUSDT")
    assert {t["orderId"] for t in trades} == {market["orderId"]}
    account = await client.get_account()
    assert account["canTrade"] and account["accountType"] == "SPOT"
    eth = await client.get_asset_balance(asset="ETH")
    assert Decimal(eth["locked"]) == Decimal("0.01")


async def test_oco_lists(venue: Any) -> None:
    _sim, client, other = venue
    oco = await client.create_oco_order(
        symbol="ETHUSDT", side="SELL", quantity="0.05", aboveType="LIMIT_MAKER",
        abovePrice="2000.30", belowType="STOP_LOSS_LIMIT", belowStopPrice="1990",
        belowPrice="1989", belowTimeInForce="GTC",
    )  # fmt: skip
    assert oco["contingencyType"] == "OCO" and len(oco["orderReports"]) == 2
    listed = await client.get_open_oco_orders()
    assert [x["orderListId"] for x in listed] == [oco["orderListId"]]
    await other.order_market_buy(symbol="ETHUSDT", quantity="0.05")  # takes the above leg
    done = await client.v3_get_order_list(orderListId=oco["orderListId"])
    assert done["listOrderStatus"] == "ALL_DONE"
    assert await client.get_open_oco_orders() == []
    second = await client.create_oco_order(
        symbol="ETHUSDT", side="SELL", quantity="0.05", aboveType="LIMIT_MAKER",
        abovePrice="2005", belowType="STOP_LOSS", belowStopPrice="1900",
    )  # fmt: skip
    gone = await client.v3_delete_order_list(symbol="ETHUSDT", orderListId=second["orderListId"])
    assert {r["status"] for r in gone["orderReports"]} == {"CANCELED"}


async def test_errors(venue: Any) -> None:
    _sim, client, _ = venue
    cases: list[tuple[dict[str, Any], int]] = [
        ({"quantity": 0.00001, "price": "1990"}, -1100),  # floats print as 1e-05, refused
        ({"quantity": "1000", "price": "1990"}, -2010),
        ({"quantity": "0.001", "price": "1990"}, -1013),
        ({"quantity": "0.01", "price": "1990.001"}, -1013),
        ({"quantity": "0.01", "price": "1990", "newClientOrderId": "bad;id"}, -1100),
    ]
    for params, code in cases:
        with pytest.raises(BinanceAPIException) as error:
            await client.order_limit_buy(symbol="ETHUSDT", **params)
        assert error.value.code == code
    with pytest.raises(BinanceAPIException) as error:
        await client.get_order(symbol="ETHUSDT", orderId=999999)
    assert (error.value.code, error.value.message) == (-2013, "Order does not exist.")
    with pytest.raises(BinanceAPIException) as error:
        await client.get_ticker(symbol="DOGEUSDT")
    assert error.value.code == -1121


async def test_sockets(venue: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    sim, client, other = venue
    # closing a socket waits out the client's idle-read timeout (10 s) on a quiet venue
    monkeypatch.setattr(ReconnectingWebsocket, "TIMEOUT", 0.5)
    manager = BinanceSocketManager(client)
    manager.STREAM_URL = f"{sim.stream_url}/"
    async with (
        manager.trade_socket("ETHUSDT") as trades,
        manager.kline_socket("ETHUSDT") as klines,
        manager.symbol_ticker_socket("ETHUSDT") as tickers,
        manager.user_socket() as user,
    ):
        await asyncio.sleep(0.3)
        placed = await client.order_limit_sell(symbol="ETHUSDT", quantity="0.1", price="2000.20")
        await other.order_market_buy(symbol="ETHUSDT", quantity="0.1")
        trade = await asyncio.wait_for(trades.recv(), WAIT)
        assert trade["e"] == "trade" and trade["p"] == "2000.20000000"
        kline = await asyncio.wait_for(klines.recv(), WAIT)
        assert kline["k"]["c"] == "2000.20000000"
        ticker = await asyncio.wait_for(tickers.recv(), WAIT)
        assert ticker["e"] == "24hrTicker" and ticker["c"] == "2000.20000000"
        seen: list[dict[str, Any]] = []
        while not any(e.get("X") == "FILLED" for e in seen):
            seen.append(await asyncio.wait_for(user.recv(), WAIT))
        kinds = [e["e"] for e in seen]
        assert kinds[0] == "executionReport" and "outboundAccountPosition" in kinds
        assert seen[-1]["i"] == placed["orderId"]


async def test_listen_key_life_and_lookups_by_both_ids(venue: Any) -> None:
    _sim, client, _ = venue
    key = await client.stream_get_listen_key()
    assert await client.stream_keepalive(key) == {}
    with pytest.raises(BinanceAPIException) as error:
        await client.stream_keepalive("0" * 60)
    assert (error.value.code, error.value.message) == (-1125, "This listenKey does not exist.")
    assert await client.stream_close(key) == {}
    with pytest.raises(BinanceAPIException) as error:
        await client.stream_keepalive(key)
    assert error.value.code == -1125
    first = await client.order_limit_buy(
        symbol="ETHUSDT", quantity="0.01", price="1990", newClientOrderId="first"
    )
    await client.order_limit_buy(symbol="ETHUSDT", quantity="0.01", price="1980")
    with pytest.raises(BinanceAPIException) as error:  # the id and the client id disagree
        await client.cancel_order(
            symbol="ETHUSDT", orderId=first["orderId"] + 1, origClientOrderId="first"
        )
    assert error.value.code == -2011
    assert len(await client.get_open_orders(symbol="ETHUSDT")) == 2
    both = await client.get_order(
        symbol="ETHUSDT", orderId=first["orderId"], origClientOrderId="first", recvWindow=10000.5
    )
    assert both["status"] == "NEW"


async def test_websocket_api_replies_carry_rate_limits(
    venue: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim, client, _ = venue
    monkeypatch.setattr(ReconnectingWebsocket, "TIMEOUT", 0.5)  # see test_sockets
    before = sim.weights.used
    book = await client.ws_get_order_book(symbol="ETHUSDT", limit=5)
    assert book["lastUpdateId"] == sim.book("ETHUSDT").update_id and len(book["bids"]) == 5
    placed = await client.ws_create_order(
        symbol="ETHUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.01",
        price="1990",
    )  # fmt: skip
    assert placed["status"] == "NEW"
    got = await client.ws_get_order(symbol="ETHUSDT", orderId=placed["orderId"])
    assert got["orderId"] == placed["orderId"]
    canceled = await client.ws_cancel_order(symbol="ETHUSDT", orderId=placed["orderId"])
    assert canceled["status"] == "CANCELED"
    # each reply held rateLimits; connecting cost 2, the requests 5 + 1 + 4 + 1
    assert sim.weights.used - before == 13
    with pytest.raises(BinanceAPIException) as error:
        await client.ws_get_order(symbol="ETHUSDT", orderId=999_999)
    assert error.value.code == -2013
