"""Binance market-stream payloads decoded into the exchange layer's market events."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from chainops.core.ids import TradingPair
from chainops.operators.exchanges.market_events import BookTicker, Kline, MarketEvent, Ticker
from chainops.operators.exchanges.types import PublicTrade

__all__ = ["decode", "public_trade", "stream_names"]


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=ms % 1000 * 1000)


def stream_names(symbol: str, kind: str, interval: str = "1m") -> str:
    """The stream a ``watch_*`` kind listens to."""
    name = symbol.lower()
    return {
        "trades": f"{name}@trade",
        "klines": f"{name}@kline_{interval}",
        "tickers": f"{name}@ticker",
        "book_tickers": f"{name}@bookTicker",
    }[kind]


def public_trade(pair: TradingPair, data: dict[str, Any]) -> PublicTrade:
    return PublicTrade(
        trading_pair=pair,
        trade_id=str(data["t"]),
        price=Decimal(data["p"]),
        amount=Decimal(data["q"]),
        buyer_is_maker=bool(data["m"]),
        timestamp=_time(int(data["T"])),
    )


def decode(platform: str, pair: TradingPair, data: dict[str, Any]) -> MarketEvent | None:
    """A kline, 24hr ticker or book ticker payload as its event (None for other kinds)."""
    kind = data.get("e")
    if kind == "kline":
        k = data["k"]
        return Kline(
            platform=platform,
            trading_pair=pair,
            interval=k["i"],
            open_time=_time(int(k["t"])),
            close_time=_time(int(k["T"])),
            open=Decimal(k["o"]),
            high=Decimal(k["h"]),
            low=Decimal(k["l"]),
            close=Decimal(k["c"]),
            volume=Decimal(k["v"]),
            quote_volume=Decimal(k["q"]),
            trade_count=int(k["n"]),
            closed=bool(k["x"]),
        )
    if kind == "24hrTicker":
        return Ticker(
            platform=platform,
            trading_pair=pair,
            last=Decimal(data["c"]),
            open=Decimal(data["o"]),
            high=Decimal(data["h"]),
            low=Decimal(data["l"]),
            volume=Decimal(data["v"]),
            quote_volume=Decimal(data["q"]),
            change=Decimal(data["p"]),
            change_percent=Decimal(data["P"]),
            bid=Decimal(data["b"]) if "b" in data else None,
            ask=Decimal(data["a"]) if "a" in data else None,
        )
    if kind is None and "u" in data and "b" in data and "a" in data and "B" in data:
        return BookTicker(
            platform=platform,
            trading_pair=pair,
            bid=Decimal(data["b"]),
            bid_amount=Decimal(data["B"]),
            ask=Decimal(data["a"]),
            ask_amount=Decimal(data["A"]),
            update_id=int(data["u"]),
        )
    return None
