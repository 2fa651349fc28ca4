"""ccxt (REST) against the simulator, as a bot uses it; only ``urls`` are overridden."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt
import pytest
from cert_helpers import ccxt_urls, simulator

from chainops.devnet.exchange import ExchangeSimulator
from chainops.devnet.exchange.accounts import Account

SYMBOL = "ETH/USDT"


def client(sim: ExchangeSimulator, account: Account) -> ccxt.binance:
    exchange = ccxt.binance({"apiKey": account.api_key, "secret": account.secret})
    exchange.urls["api"] = ccxt_urls(exchange.urls["api"], sim)
    return exchange


@pytest.fixture
async def venue() -> AsyncIterator[tuple[ExchangeSimulator, ccxt.binance, ccxt.binance]]:
    async with simulator() as (sim, trader, other):
        a, b = client(sim, trader), client(sim, other)
        try:
            await a.load_markets()
            await b.load_markets()
            yield sim, a, b
        finally:
            await a.close()
            await b.close()


async def test_market_data(venue: Any) -> None:
    sim, ex, _ = venue
    assert set(ex.markets) == {"ETH/USDT", "BTC/USDT"}
    market = ex.market(SYMBOL)
    assert market["spot"] and market["precision"]["price"] == 0.01
    assert market["limits"]["cost"]["min"] == 5
    ticker = await ex.fetch_ticker(SYMBOL)
    assert ticker["last"] == 2000 and ticker["bid"] == 1999.5 and ticker["ask"] == 2000.5
    assert ticker["baseVolume"] > 0
    tickers = await ex.fetch_tickers()
    assert set(tickers) == {"ETH/USDT", "BTC/USDT"}
    candles = await ex.fetch_ohlcv(SYMBOL, "1m")
    # the opening trades' candle; a minute boundary since then adds an empty one at the last close
    assert candles and candles[-1][4] == 2000 and sum(c[5] for c in candles) > 0
    trades = await ex.fetch_trades(SYMBOL)
    assert len(trades) == 4 and {t["price"] for t in trades} == {2000}
    book = await ex.fetch_order_book(SYMBOL, 5)
    assert book["bids"][0] == [1999.5, pytest.approx(book["bids"][0][1])]
    assert len(book["asks"]) == 5 and book["nonce"] == sim.book("ETHUSDT").update_id
    prices = await ex.fetch_bids_asks([SYMBOL])
    assert prices[SYMBOL]["ask"] == 2000.5
    status = await ex.fetch_status()
    assert status["status"] == "ok"
    assert abs(await ex.fetch_time() - sim.now_ms()) < 5_000


async def test_every_order_type_and_the_queries(venue: Any) -> None:
    _sim, ex, _other = venue
    placed = await ex.create_order(SYMBOL, "limit", "buy", 0.01, 1990)
    assert placed["status"] == "open" and placed["clientOrderId"]
    ioc = await ex.create_order(SYMBOL, "limit", "buy", 0.01, 1990, {"timeInForce": "IOC"})
    assert ioc["status"] == "expired"
    fok = await ex.create_order(SYMBOL, "limit", "buy", 100, 2001, {"timeInForce": "FOK"})
    assert fok["status"] == "expired" and fok["filled"] == 0
    market = await ex.create_order(SYMBOL, "market", "buy", 0.05)
    assert market["status"] == "closed" and market["filled"] == 0.05 and market["trades"]
    by_cost = await ex.create_market_buy_order_with_cost(SYMBOL, 50)
    assert by_cost["status"] == "closed" and 49 < by_cost["cost"] <= 50
    maker = await ex.create_order(SYMBOL, "limit", "sell", 0.01, 2100, {"postOnly": True})
    assert maker["status"] == "open" and maker["postOnly"]
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        await ex.create_order(SYMBOL, "limit", "buy", 0.01, 2100, {"postOnly": True})
    stop = await ex.create_order(
        SYMBOL, "STOP_LOSS_LIMIT", "sell", 0.01, 1900, {"stopPrice": 1950, "timeInForce": "GTC"}
    )
    assert stop["status"] == "open" and stop["triggerPrice"] == 1950
    fetched = await ex.fetch_order(placed["id"], SYMBOL)
    assert fetched["status"] == "open" and fetched["price"] == 1990
    assert {o["id"] for o in await ex.fetch_open_orders(SYMBOL)} == {
        placed["id"],
        maker["id"],
        stop["id"],
    }
    edited = await ex.edit_order(placed["id"], SYMBOL, "limit", "buy", 0.02, 1985)
    assert edited["price"] == 1985 and edited["amount"] == 0.02 and edited["id"] != placed["id"]
    assert (await ex.fetch_order(placed["id"], SYMBOL))["status"] == "canceled"
    canceled = await ex.cancel_order(edited["id"], SYMBOL)
    assert canceled["status"] == "canceled"
    everything = await ex.fetch_orders(SYMBOL)
    assert len(everything) == 8
    assert {o["id"] for o in await ex.fetch_closed_orders(SYMBOL)} == {market["id"], by_cost["id"]}
    assert placed["id"] in {o["id"] for o in await ex.fetch_canceled_orders(SYMBOL)}
    await ex.cancel_all_orders(SYMBOL)
    assert await ex.fetch_open_orders(SYMBOL) == []
    mine = await ex.fetch_my_trades(SYMBOL)
    assert {t["order"] for t in mine} == {market["id"], by_cost["id"]}
    fee = await ex.fetch_trading_fee(SYMBOL)
    assert fee["maker"] == fee["taker"] == 0.001


async def test_stop_triggers_and_oco_executes_one_leg(venue: Any) -> None:
    _sim, ex, other = venue
    stop = await ex.create_order(
        SYMBOL, "STOP_LOSS", "sell", 0.01, None, {"stopPrice": 1999.5}
    )  # fires when a trade prints at or below 1999.50
    reply = await ex.private_post_orderlist_oco(
        {
            "symbol": "ETHUSDT",
            "side": "SELL",
            "quantity": "0.02",
            "aboveType": "LIMIT_MAKER",
            "abovePrice": "2000.20",
            "belowType": "STOP_LOSS_LIMIT",
            "belowStopPrice": "1990.00",
            "belowPrice": "1989.00",
            "belowTimeInForce": "GTC",
        }
    )
    assert reply["listStatusType"] == "EXEC_STARTED" and len(reply["orderReports"]) == 2
    above = next(r for r in reply["orderReports"] if r["type"] == "LIMIT_MAKER")
    await other.create_order(SYMBOL, "market", "sell", 0.01)  # prints at the best bid 1999.50
    assert (await ex.fetch_order(stop["id"], SYMBOL))["status"] == "closed"
    await other.create_order(SYMBOL, "limit", "buy", 0.02, 2000.2)  # takes the above leg
    assert (await ex.fetch_order(above["orderId"], SYMBOL))["status"] == "closed"
    lists = await ex.private_get_orderlist({"orderListId": reply["orderListId"]})
    assert lists["listOrderStatus"] == "ALL_DONE"
    below = next(r for r in reply["orderReports"] if r["type"] == "STOP_LOSS_LIMIT")
    assert (await ex.fetch_order(below["orderId"], SYMBOL))["status"] == "canceled"
    assert await ex.private_get_openorderlist() == []


async def test_balances_settle_to_the_last_unit(venue: Any) -> None:
    _sim, ex, other = venue
    before = await ex.fetch_balance()
    resting = await ex.create_order(SYMBOL, "limit", "sell", 0.5, 2000.1)
    locked = await ex.fetch_balance()
    assert locked["ETH"]["used"] == 0.5
    taken = await other.create_order(SYMBOL, "market", "buy", 0.5)
    assert taken["filled"] == 0.5
    done = await ex.fetch_order(resting["id"], SYMBOL)
    assert done["status"] == "closed"
    after = await ex.fetch_balance()
    fee = Decimal("0.5") * Decimal("2000.1") * Decimal("0.001")
    usdt = Decimal(str(before["USDT"]["total"])) + Decimal("0.5") * Decimal("2000.1") - fee
    assert Decimal(str(after["USDT"]["total"])) == usdt
    assert Decimal(str(after["ETH"]["total"])) == Decimal(str(before["ETH"]["total"])) - Decimal(
        "0.5"
    )


async def test_error_classes(venue: Any) -> None:
    sim, ex, _ = venue
    with pytest.raises(ccxt.InsufficientFunds):
        await ex.create_order(SYMBOL, "limit", "buy", 100, 1990)
    with pytest.raises(ccxt.BadRequest, match="Filter failure: NOTIONAL"):
        await ex.create_order(SYMBOL, "limit", "buy", 0.001, 1990)  # below the notional minimum
    with pytest.raises(ccxt.OrderNotFound):
        await ex.fetch_order("999999", SYMBOL)
    with pytest.raises(ccxt.OrderNotFound):
        await ex.cancel_order("999999", SYMBOL)
    with pytest.raises(ccxt.BadSymbol):
        await ex.fetch_ticker("DOGE/USDT")
    wrong = client(sim, Account(ex.apiKey, "0" * 64))
    try:
        with pytest.raises(ccxt.AuthenticationError):
            await wrong.fetch_balance()
    finally:
        await wrong.close()
    with pytest.raises(ccxt.BadRequest, match="-1100"):
        await ex.public_get_aggtrades({"symbol": "ETHUSDT", "fromId": "²"})
    with pytest.raises(ccxt.BadRequest, match="-1120"):
        await ex.public_get_klines({"symbol": "ETHUSDT", "interval": "7m"})
    with pytest.raises(ccxt.BadRequest, match="-1020"):  # not an outage class: no retry loop
        await ex.fetch(f"{sim.url}/api/v3/nothing", "GET")
