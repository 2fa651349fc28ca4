"""Binance's official ``binance-sdk-spot`` against the simulator; only URLs are configured."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from binance_common.configuration import (
    ConfigurationRestAPI,
    ConfigurationWebSocketAPI,
    ConfigurationWebSocketStreams,
)
from binance_common.errors import BadRequestError, ClientError
from binance_sdk_spot.spot import Spot
from cert_helpers import FUNDS

from chainops.devnet.exchange.accounts import Account
from chainops.devnet.exchange.background import BackgroundSimulator

WAIT = 10


@pytest.fixture(scope="module")
def venue() -> Iterator[tuple[BackgroundSimulator, Spot, Spot]]:
    with BackgroundSimulator(seed=11) as sim:
        trader, other = sim.create_account(FUNDS), sim.create_account(FUNDS)
        yield sim, spot(sim, trader), spot(sim, other)


def spot(sim: BackgroundSimulator, account: Account, **ws_api: Any) -> Spot:
    keys = {"api_key": account.api_key, "api_secret": account.secret}
    return Spot(
        config_rest_api=ConfigurationRestAPI(**keys, base_path=sim.url),
        config_ws_api=ConfigurationWebSocketAPI(**keys, stream_url=sim.ws_api_url, **ws_api),
        config_ws_streams=ConfigurationWebSocketStreams(stream_url=sim.stream_url),
    )


def test_rest_market_data(venue: Any) -> None:
    _sim, client, _ = venue
    info = client.rest_api.exchange_info(symbol="ETHUSDT").data()
    assert info.symbols[0].symbol == "ETHUSDT"
    book = client.rest_api.depth(symbol="ETHUSDT", limit=5).data()
    assert book.bids[0] == ["1999.50000000", book.bids[0][1]]
    ticker = client.rest_api.ticker24hr(symbol="ETHUSDT").data().actual_instance
    assert ticker.last_price == "2000.00000000"
    price = client.rest_api.ticker_price(symbol="ETHUSDT").data().actual_instance
    assert price.price == "2000.00000000"
    candles = client.rest_api.klines(symbol="ETHUSDT", interval="1m").data()
    assert candles[-1][4] == "2000.00000000"
    assert len(client.rest_api.get_trades(symbol="ETHUSDT").data()) >= 4
    assert client.rest_api.avg_price(symbol="ETHUSDT").data().price == "2000.00000000"


def test_rest_orders_and_errors(venue: Any) -> None:
    _sim, client, _ = venue
    placed = client.rest_api.new_order(
        symbol="ETHUSDT", side="BUY", type="LIMIT", time_in_force="GTC", quantity=0.01,
        price=1990.0,
    ).data()  # fmt: skip
    assert placed.status == "NEW"
    got = client.rest_api.get_order(symbol="ETHUSDT", order_id=placed.order_id).data()
    assert got.price == "1990.00000000"
    canceled = client.rest_api.delete_order(symbol="ETHUSDT", order_id=placed.order_id).data()
    assert canceled.status == "CANCELED"
    account = client.rest_api.get_account().data()
    assert {b.asset for b in account.balances} >= {"ETH", "USDT"}
    commission = client.rest_api.account_commission(symbol="ETHUSDT").data()
    assert commission.standard_commission.taker == "0.00100000"
    with pytest.raises((BadRequestError, ClientError)) as error:
        client.rest_api.get_order(symbol="ETHUSDT", order_id=999999)
    assert "-2013" in str(error.value) or "Order does not exist" in str(error.value)


def test_cancel_all_with_an_order_list_and_a_fractional_recv_window(venue: Any) -> None:
    _sim, client, _ = venue
    rest = client.rest_api
    oco = rest.order_list_oco(
        symbol="BTCUSDT", side="SELL", quantity=0.001, above_type="LIMIT_MAKER",
        above_price=61000.0, below_type="STOP_LOSS", below_stop_price=59000.0,
    ).data()  # fmt: skip
    plain = rest.new_order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", time_in_force="GTC", quantity=0.001,
        price=59000.0, recv_window=10000.5,
    ).data()  # fmt: skip
    canceled = rest.delete_open_orders(symbol="BTCUSDT", recv_window=5000.0).data()
    listed, single = canceled  # the list is one entry (its own fields are not modelled)
    assert (listed.order_list_id, listed.order_id) == (oco.order_list_id, None)
    assert (single.order_id, single.status) == (plain.order_id, "CANCELED")
    assert rest.get_open_orders(symbol="BTCUSDT").data() == []

    async def historical() -> list[Any]:
        ws = await client.websocket_api.create_connection()
        try:
            reply = await ws.trades_historical(symbol="ETHUSDT", from_id=1, limit=2)
            return list(reply.data().result)
        finally:
            await ws.close_connection()

    assert [t.id for t in asyncio.run(historical())] == [1, 2]


def test_websocket_api_trading(venue: Any) -> None:
    _sim, client, _other = venue

    async def trade() -> None:
        ws = await client.websocket_api.create_connection()
        try:
            placed = (
                await ws.order_place(
                    symbol="ETHUSDT", side="SELL", type="LIMIT", time_in_force="GTC",
                    quantity=0.02, price=2000.3,
                )
            ).data().result  # fmt: skip
            assert placed.status == "NEW"
            status = (
                (await ws.order_status(symbol="ETHUSDT", order_id=placed.order_id)).data().result
            )
            assert status.order_id == placed.order_id
            open_orders = (await ws.open_orders_status(symbol="ETHUSDT")).data().result
            assert [o.order_id for o in open_orders] == [placed.order_id]
            replaced = (
                await ws.order_cancel_replace(
                    symbol="ETHUSDT", cancel_replace_mode="STOP_ON_FAILURE", side="SELL",
                    type="LIMIT", time_in_force="GTC", quantity=0.02, price=2000.4,
                    cancel_order_id=placed.order_id,
                )
            ).data().result  # fmt: skip
            assert replaced.cancel_result == "SUCCESS"
            new_id = replaced.new_order_response.order_id
            canceled = (await ws.order_cancel(symbol="ETHUSDT", order_id=new_id)).data().result
            assert canceled.status == "CANCELED"
            oco = (
                await ws.order_list_place_oco(
                    symbol="ETHUSDT", side="SELL", quantity=0.02, above_type="LIMIT_MAKER",
                    above_price=2000.3, below_type="STOP_LOSS", below_stop_price=1900.0,
                )
            ).data().result  # fmt: skip
            assert oco.list_status_type == "EXEC_STARTED"
            account = (await ws.account_status()).data().result
            eth = next(b for b in account.balances if b.asset == "ETH")
            assert Decimal(eth.locked) == Decimal("0.02")
        finally:
            await ws.close_connection()

    asyncio.run(trade())


def test_streams_and_user_data(venue: Any) -> None:
    _sim, client, other = venue
    if not client.rest_api.get_open_orders(symbol="ETHUSDT").data():
        # run alone: the OCO that test_websocket_api_trading leaves resting, placed here
        client.rest_api.order_list_oco(
            symbol="ETHUSDT", side="SELL", quantity=0.02, above_type="LIMIT_MAKER",
            above_price=2000.3, below_type="STOP_LOSS", below_stop_price=1900.0,
        )  # fmt: skip

    async def watch() -> None:
        streams = await client.websocket_streams.create_connection()
        ws = await client.websocket_api.create_connection()
        seen: dict[str, list[Any]] = {"trade": [], "book": [], "user": []}
        try:
            trades = await streams.trade(symbol="ethusdt")
            trades.on("message", seen["trade"].append)
            book = await streams.book_ticker(symbol="ethusdt")
            book.on("message", seen["book"].append)
            user = (await ws.user_data_stream_subscribe_signature()).stream
            user.on("message", seen["user"].append)
            await asyncio.sleep(0.3)
            await asyncio.to_thread(
                other.rest_api.new_order, symbol="ETHUSDT", side="BUY", type="MARKET",
                quantity=0.05,
            )  # fmt: skip
            async with asyncio.timeout(WAIT):
                while not (seen["trade"] and seen["book"] and seen["user"]):
                    await asyncio.sleep(0.05)
            assert seen["trade"][0].p == "2000.30000000"  # the OCO's above leg, then the maker
            assert seen["book"][0].a is not None
            async with asyncio.timeout(WAIT):  # the OCO leg fills; its list finishes
                while len(seen["user"]) < 3:
                    await asyncio.sleep(0.05)
            reports = [m.actual_instance for m in seen["user"]]
            fill = next(r for r in reports if getattr(r, "x", None) == "TRADE")
            assert (fill.X, fill.o, fill.L) == ("FILLED", "LIMIT_MAKER", "2000.30000000")
        finally:
            await streams.close_connection()
            await ws.close_connection()

    asyncio.run(watch())


def test_websocket_api_rate_limits(venue: Any) -> None:
    sim, client, _ = venue
    account = sim.create_account(FUNDS)
    quiet = spot(sim, account, return_rate_limits=False)

    def used() -> int:
        return sim.call(lambda: sim.sim.weights.used)

    async def check() -> None:
        ws = await client.websocket_api.create_connection()
        try:
            book = await ws.depth(symbol="ETHUSDT", limit=5)
            assert len(book.data().result.bids) == 5
            (weight,) = [r for r in book.rate_limits if r.rateLimitType == "REQUEST_WEIGHT"]
            assert (weight.interval, weight.intervalNum, weight.limit) == ("MINUTE", 1, 6000)
            assert 5 <= weight.count <= used()
            placed = await ws.order_place(
                symbol="ETHUSDT", side="BUY", type="LIMIT", time_in_force="GTC", quantity=0.01,
                price=1990.0,
            )  # fmt: skip
            order_id = placed.data().result.order_id
            orders = {
                (r.interval, r.limit) for r in placed.rate_limits if r.rateLimitType == "ORDERS"
            }
            assert orders == {("SECOND", 100), ("DAY", 200000)}
            await ws.order_cancel(symbol="ETHUSDT", order_id=order_id)
        finally:
            await ws.close_connection()
        ws = await quiet.websocket_api.create_connection()
        try:
            before = used()
            status = await ws.account_status()  # asks each request to leave rateLimits out
            assert status.rate_limits == [] and status.data().result.balances
            assert used() - before == 20  # charged all the same
        finally:
            await ws.close_connection()

    asyncio.run(check())
