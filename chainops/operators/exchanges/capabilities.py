"""What an adapter supports; asking for anything else is a clear error before sending."""

from __future__ import annotations

from enum import StrEnum

from chainops.operators.exchanges.errors import Unsupported

__all__ = ["Capability", "require"]


class Capability(StrEnum):
    LIMIT = "limit"
    MARKET = "market"
    LIMIT_MAKER = "limit_maker"
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
