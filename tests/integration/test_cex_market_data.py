"""Market data through the adapter: watch_* callbacks and the typed events on the bus."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from cex_helpers import AMOUNT, ETH, venue

from chainops.operators.exchanges.market_events import (
    BookTicker,
    ConnectorStatus,
    Kline,
    MarketEvent,
    MarketTrades,
    Orderbook,
    Ticker,
)


async def _until(predicate: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_watch_methods_deliver_typed_events() -> None:
    async with venue() as (sim, _, make):
        other = sim.create_account({"USDT": "100000", "ETH": "10"})
        op = await make(user_stream=False).start()
        seen: list[MarketEvent] = []
        op.events.subscribe(MarketEvent, seen.append)
        klines: list[Kline] = []
        await op.watch_klines(ETH, "1m", klines.append)
        await op.watch_tickers(ETH)
        await op.watch_book_tickers(ETH)
        await op.watch_trades(ETH)
        await op.watch_book(ETH)
        await asyncio.sleep(0.1)  # the subscriptions reach the venue
        sim.place_direct(other, "ETHUSDT", side="BUY", type="MARKET", tif="GTC",
                         price=None, qty=AMOUNT * 5, client_id="taker")  # fmt: skip
        kinds = (MarketTrades, Kline, Ticker, BookTicker, Orderbook)
        await _until(lambda: all(any(isinstance(e, k) for e in seen) for k in kinds))
        trades = next(e for e in seen if isinstance(e, MarketTrades)).trades
        assert trades[0].price == Decimal("2000.50") and not trades[0].buyer_is_maker
        assert klines and klines[-1].close == Decimal("2000.50") and klines[-1].interval == "1m"
        assert klines[-1].volume >= AMOUNT * 5 and not klines[-1].closed
        ticker = next(e for e in seen if isinstance(e, Ticker))
        assert ticker.last == Decimal("2000.50") and ticker.bid == Decimal("1999.50")
        top = next(e for e in seen if isinstance(e, BookTicker))
        assert top.ask >= Decimal("2000.50") and top.bid == Decimal("1999.50")
        book = next(e for e in seen if isinstance(e, Orderbook))
        assert book.bids[0][0] == Decimal("1999.50") and len(book.asks) == 20
        assert all(e.trading_pair == op.rule(ETH).trading_pair for e in seen)


async def test_reconnect_is_announced() -> None:
    async with venue() as (sim, _, make):
        op = await make(user_stream=False).start()
        status: list[ConnectorStatus] = []
        op.events.subscribe(ConnectorStatus, status.append)
        await op.watch_trades(ETH)
        await asyncio.sleep(0.05)
        await sim.disconnect_websockets(user=False)
        await _until(lambda: bool(status))
        assert status[0].stream == "market" and status[0].status == "reconnected"
