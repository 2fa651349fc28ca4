"""Normalized market-data events of the exchange layer (published on the EventBus).

Every venue's streams decode to these: ``MarketTrades``, ``Kline``,
``Ticker``, ``BookTicker``, ``Orderbook`` and ``ConnectorStatus``. Prices and
amounts are Decimal; times are timezone-aware datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from chainops.core.events import Event
from chainops.core.ids import TradingPair
from chainops.operators.exchanges.types import PublicTrade

__all__ = [
    "BookTicker",
    "ConnectorStatus",
    "Kline",
    "MarketEvent",
    "MarketTrades",
    "Orderbook",
    "Ticker",
]


@dataclass(frozen=True, kw_only=True)
class MarketEvent(Event):
    """Something the venue's public market data said about one pair."""

    platform: str
    trading_pair: TradingPair


@dataclass(frozen=True, kw_only=True)
class MarketTrades(MarketEvent):
    """Public trades, oldest first (one stream message may carry several)."""

    trades: tuple[PublicTrade, ...]


@dataclass(frozen=True, kw_only=True)
class Kline(MarketEvent):
    """One candle; ``closed`` once its interval has ended."""

    interval: str
    open_time: datetime
    close_time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal
    trade_count: int
    closed: bool


@dataclass(frozen=True, kw_only=True)
class Ticker(MarketEvent):
    """Rolling 24-hour statistics."""

    last: Decimal
    open: Decimal
    high: Decimal
    low: Decimal
    volume: Decimal
    quote_volume: Decimal
    change: Decimal
    change_percent: Decimal
    bid: Decimal | None = None
    ask: Decimal | None = None


@dataclass(frozen=True, kw_only=True)
class BookTicker(MarketEvent):
    """Best bid and ask with their amounts."""

    bid: Decimal
    bid_amount: Decimal
    ask: Decimal
    ask_amount: Decimal
    update_id: int


@dataclass(frozen=True, kw_only=True)
class Orderbook(MarketEvent):
    """The top of a synced order book after an update (best first)."""

    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]
    update_id: int


@dataclass(frozen=True, kw_only=True)
class ConnectorStatus(Event):
    """A market or user stream connected, dropped or came back."""

    platform: str
    stream: str
    status: str  # "connected", "reconnected"
