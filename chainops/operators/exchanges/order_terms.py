"""Local checks of an order's terms, shared by orders, OCO legs, cancel-replace and intents."""

from __future__ import annotations

from decimal import Decimal

from chainops.core.assets import to_decimal
from chainops.core.errors import InvalidAmount, ValidationError
from chainops.core.ids import ClientId, ClientIdGenerator
from chainops.core.order import OrderType, TimeInForce

__all__ = ["check_terms", "client_id_or_new", "positive_decimal"]


def positive_decimal(value: object, what: str) -> Decimal:
    """``value`` as a Decimal above zero (strings fine; floats refused)."""
    result = to_decimal(value, what=what)
    if result <= 0:
        raise InvalidAmount(f"{what} must be positive, got {result}")
    return result


def check_terms(
    kind: OrderType,
    tif: TimeInForce | None,
    price: Decimal | None,
    stop_price: Decimal | None,
) -> None:
    """Raise ValidationError unless the prices and time in force fit the order type."""
    if kind.priced != (price is not None):
        need = "needs a" if kind.priced else "takes no"
        raise ValidationError(f"a {kind.name} order {need} price")
    if kind.is_stop != (stop_price is not None):
        need = "needs a" if kind.is_stop else "takes no"
        raise ValidationError(f"a {kind.name} order {need} stop price")
    if kind is OrderType.LIMIT_MAKER and tif not in (None, TimeInForce.GTC):
        raise ValidationError("a LIMIT_MAKER order rests on the book: time in force is GTC")


def client_id_or_new(value: object, ids: ClientIdGenerator) -> ClientId:
    """The caller's client id, validated (an empty one is refused), or a new one."""
    return ids.next() if value is None else ClientId(value)
