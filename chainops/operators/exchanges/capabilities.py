"""What an adapter supports; asking for anything else is a clear error before sending."""

from __future__ import annotations

from enum import StrEnum

from chainops.operators.exchanges.errors import Unsupported

__all__ = ["Capability", "require"]


class Capability(StrEnum):
    LIMIT = "limit"
    MARKET = "market"
    LIMIT_MAKER = "limit_maker"
    STOP_LOSS = "stop_loss"
    STOP_LOSS_LIMIT = "stop_loss_limit"
    TAKE_PROFIT = "take_profit"
    TAKE_PROFIT_LIMIT = "take_profit_limit"
    OCO = "oco"  # native one-cancels-the-other order lists
    CANCEL_REPLACE = "cancel_replace"  # cancel and place in one venue request
    IOC = "ioc"
    FOK = "fok"
    CANCEL_ALL = "cancel_all"
    USER_STREAM = "user_stream"
    ORDER_BOOK = "order_book"
    TRADE_HISTORY = "trade_history"


def require(supported: frozenset[Capability], needed: Capability, venue: str) -> None:
    """Raise :class:`Unsupported` unless ``needed`` is in ``supported``."""
    if needed not in supported:
        raise Unsupported(f"{venue} does not support {needed.value}")
