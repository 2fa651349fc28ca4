"""Recorded-market fixtures: a varied, deterministic run of normalized market events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from chainops.core.ids import TradingPair
from chainops.operators.exchanges.market_events import (
    BookTicker,
    Kline,
    MarketEvent,
    MarketTrades,
    Orderbook,
    Ticker,
)
from chainops.operators.exchanges.types import PublicTrade

T0 = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)


def sample_events(
    n: int, pair: str = "ETH-USDT", step: timedelta = timedelta(seconds=7)
) -> list[MarketEvent]:
    """``n`` events of every kind, ``step`` apart, starting an hour before a UTC midnight."""
    tp = TradingPair(pair)
    out: list[MarketEvent] = []
    for i in range(n):
        at = T0 + step * i
        px = Decimal("2000.01") + Decimal(i) / 100
        kind = i % 5
        if kind == 0:
            out.append(
                Orderbook(
                    at=at,
                    platform="binance",
                    trading_pair=tp,
                    update_id=i,
                    bids=((px, Decimal("1.5")), (px - 1, Decimal("0.25"))),
                    asks=((px + Decimal("0.01"), Decimal("2")),),
                )
            )
        elif kind == 1:
            trade = PublicTrade(
                trading_pair=tp,
                trade_id=str(i),
                price=px,
                amount=Decimal("0.001"),
                buyer_is_maker=i % 2 == 0,
                timestamp=at,
            )
            out.append(MarketTrades(at=at, platform="binance", trading_pair=tp, trades=(trade,)))
        elif kind == 2:
            out.append(
                BookTicker(
                    at=at,
                    platform="binance",
                    trading_pair=tp,
                    bid=px,
                    bid_amount=Decimal("3"),
                    ask=px + Decimal("0.01"),
                    ask_amount=Decimal("4"),
                    update_id=i,
                )
            )
        elif kind == 3:
            out.append(
                Kline(
                    at=at,
                    platform="binance",
                    trading_pair=tp,
                    interval="1m",
                    open_time=at,
                    close_time=at + timedelta(minutes=1),
                    open=px,
                    high=px + 1,
                    low=px - 1,
                    close=px,
                    volume=Decimal("10.5"),
                    quote_volume=Decimal("21000.1"),
                    trade_count=i,
                    closed=True,
                )
            )
        else:
            out.append(
                Ticker(
                    at=at,
                    platform="binance",
                    trading_pair=tp,
                    last=px,
                    open=px,
                    high=px,
                    low=px,
                    volume=Decimal("1"),
                    quote_volume=px,
                    change=Decimal("0"),
                    change_percent=Decimal("0.00"),
                    bid=None,
                    ask=px,
                )
            )
    return out
