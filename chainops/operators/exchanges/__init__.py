"""The CEX layer: ExchangeOperator on the shared order model, order books, adapters."""

from chainops.operators.exchanges.binance import BinanceSpot
from chainops.operators.exchanges.book_exchange import OrderBookExchange
from chainops.operators.exchanges.capabilities import Capability
from chainops.operators.exchanges.errors import (
    InvalidCredentials,
    RuleViolation,
    UnknownTradingPair,
    Unsupported,
)
from chainops.operators.exchanges.market_events import (
    BookTicker,
    ConnectorStatus,
    Kline,
    MarketEvent,
    MarketTrades,
    Orderbook,
    Ticker,
)
from chainops.operators.exchanges.operator import ExchangeOperator
from chainops.operators.exchanges.order_lists import InvalidOrderList, OcoLeg, OrderList
from chainops.operators.exchanges.orderbook import OrderBook, OrderBookGap
from chainops.operators.exchanges.rules import TradingRule
from chainops.operators.exchanges.tracker import OrderTracker
from chainops.operators.exchanges.types import Balance, ExchangeConfiguration, TradingFees

__all__ = [
    "Balance",
    "BinanceSpot",
    "BookTicker",
    "Capability",
    "ConnectorStatus",
    "ExchangeConfiguration",
    "ExchangeOperator",
    "InvalidCredentials",
    "InvalidOrderList",
    "Kline",
    "MarketEvent",
    "MarketTrades",
    "OcoLeg",
    "OrderBook",
    "OrderBookExchange",
    "OrderBookGap",
    "OrderList",
    "OrderTracker",
    "Orderbook",
    "RuleViolation",
    "Ticker",
    "TradingFees",
    "TradingRule",
    "UnknownTradingPair",
    "Unsupported",
]
