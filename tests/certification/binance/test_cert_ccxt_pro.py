"""ccxt.pro (WebSockets) against the simulator; only ``urls`` are overridden."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import ccxt.pro as ccxtpro
import pytest
from cert_helpers import ccxt_urls, simulator

from chainops.devnet.exchange import ExchangeSimulator
from chainops.devnet.exchange.accounts import Account

SYMBOL = "ETH/USDT"
WAIT = 10  # seconds a stream may take to deliver on a loaded machine


def client(sim: ExchangeSimulator, account: Account) -> ccxtpro.binance:
    exchange = ccxtpro.binance({"apiKey": account.api_key, "secret": account.secret})
    exchange.urls["api"] = ccxt_urls(exchange.urls["api"], sim)
    return exchange


@pytest.fixture
async def venue() -> AsyncIterator[tuple[ExchangeSimulator, ccxtpro.binance, ccxtpro.binance]]:
    async with simulator() as (sim, trader, other):
        a, b = client(sim, trader), client(sim, other)
        try:
            await a.load_markets()
            await b.load_markets()
            yield sim, a, b
        finally:
            await a.close()
            await b.close()


async def _after(delay: float, coro: Any) -> Any:
    await asyncio.sleep(delay)
    return await coro


async def test_market_streams(venue: Any) -> None:
    _sim, ex, other = venue
    book = await asyncio.wait_for(ex.watch_order_book(SYMBOL), WAIT)
    assert book["bids"][0][0] == 1999.5 and book["asks"][0][0] == 2000.5
    trade_task = asyncio.ensure_future(ex.watch_trades(SYMBOL))
    ticker_task = asyncio.ensure_future(ex.watch_ticker(SYMBOL))
    candle_task = asyncio.ensure_future(ex.watch_ohlcv(SYMBOL, "1m"))
    await asyncio.sleep(0.5)  # the subscriptions reach the venue
    await other.create_order(SYMBOL, "market", "buy", 0.05)
    trades = await asyncio.wait_for(trade_task, WAIT)
    assert trades[-1]["side"] == "buy" and trades[-1]["price"] >= 2000.5
    ticker = await asyncio.wait_for(ticker_task, WAIT)
    assert ticker["last"] >= 2000.5 and ticker["baseVolume"] > 0.05  # a mini ticker: no book
    candles = await asyncio.wait_for(candle_task, WAIT)
    assert candles[-1][2] >= 2000.5
    book, _ = await asyncio.wait_for(
        asyncio.gather(
            ex.watch_order_book(SYMBOL),
            _after(0.5, other.create_order(SYMBOL, "limit", "buy", 0.01, 1999.9)),
        ),
        WAIT,
    )
    assert book["bids"][0] == [1999.9, 0.01]  # the diff applied on top of the snapshot
    top = await asyncio.wait_for(
        asyncio.gather(
            ex.watch_bids_asks([SYMBOL]),
            _after(0.5, other.create_order(SYMBOL, "market", "sell", 0.01)),
        ),
        WAIT,
    )
    assert top[0][SYMBOL]["bid"] <= 1999.5


async def test_user_stream_orders_trades_balances(venue: Any) -> None:
    _sim, ex, other = venue
    orders_task = asyncio.ensure_future(ex.watch_orders(SYMBOL))
    balance_task = asyncio.ensure_future(ex.watch_balance())
    await asyncio.sleep(0.5)
    placed = await ex.create_order(SYMBOL, "limit", "sell", 0.1, 2000.2)
    orders = await asyncio.wait_for(orders_task, WAIT)
    assert orders[-1]["id"] == placed["id"] and orders[-1]["status"] == "open"
    balance = await asyncio.wait_for(balance_task, WAIT)
    assert balance["ETH"]["used"] == 0.1
    trades_task = asyncio.ensure_future(ex.watch_my_trades(SYMBOL))
    orders_task = asyncio.ensure_future(ex.watch_orders(SYMBOL))
    balance_task = asyncio.ensure_future(ex.watch_balance())
    await asyncio.sleep(0.3)
    await other.create_order(SYMBOL, "market", "buy", 0.1)
    mine = await asyncio.wait_for(trades_task, WAIT)
    assert mine[-1]["order"] == placed["id"] and mine[-1]["price"] == 2000.2
    assert mine[-1]["fee"]["currency"] == "USDT"
    done = await asyncio.wait_for(orders_task, WAIT)
    assert done[-1]["status"] == "closed"
    balance = await asyncio.wait_for(balance_task, WAIT)
    assert balance["ETH"]["used"] == 0 and balance["ETH"]["total"] == 19.9
    assert balance["USDT"]["total"] == pytest.approx(100000 + 200.02 * 0.999)


async def test_websocket_api_trading(venue: Any) -> None:
    _sim, ex, _ = venue
    placed = await asyncio.wait_for(ex.create_order_ws(SYMBOL, "limit", "buy", 0.01, 1990), WAIT)
    assert placed["status"] == "open"
    fetched = await asyncio.wait_for(ex.fetch_order_ws(placed["id"], SYMBOL), WAIT)
    assert fetched["price"] == 1990
    edited = await asyncio.wait_for(
        ex.edit_order_ws(placed["id"], SYMBOL, "limit", "buy", 0.01, 1985), WAIT
    )
    assert edited["price"] == 1985
    open_orders = await asyncio.wait_for(ex.fetch_open_orders_ws(SYMBOL), WAIT)
    assert [o["id"] for o in open_orders] == [edited["id"]]
    canceled = await asyncio.wait_for(ex.cancel_order_ws(edited["id"], SYMBOL), WAIT)
    assert canceled["status"] == "canceled"
    balance = await asyncio.wait_for(ex.fetch_balance_ws(), WAIT)
    # ccxt parses account.status as a futures account; the venue's spot reply is in info
    assert {"asset": "USDT", "free": "100000.00000000", "locked": "0.00000000"} in balance["info"][
        "balances"
    ]
    market = await asyncio.wait_for(ex.create_order_ws(SYMBOL, "market", "buy", 0.01), WAIT)
    assert market["status"] == "closed" and market["filled"] == 0.01
    trades = await asyncio.wait_for(ex.fetch_my_trades_ws(SYMBOL), WAIT)
    assert trades[-1]["order"] == market["id"]
