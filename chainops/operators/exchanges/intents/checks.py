"""Checks of intents and order groups: every error is raised before anything is sent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from chainops.core.errors import ValidationError
from chainops.core.ids import TradingPair
from chainops.core.order import OrderSide, OrderType, TimeInForce
from chainops.operators.exchanges.capabilities import Capability, require
from chainops.operators.exchanges.intents.errors import InconsistentGroup
from chainops.operators.exchanges.intents.model import OrderIntent
from chainops.operators.exchanges.operator import ExchangeOperator
from chainops.operators.exchanges.order_lists import InvalidOrderList, OcoLeg, check_oco
from chainops.operators.exchanges.order_terms import check_terms, positive_decimal

__all__ = [
    "build_intent",
    "check_group",
    "check_legs",
    "check_modified_leg",
    "level",
    "oco_leg",
]

LEG_FIELDS = frozenset(
    {"trading_pair", "side", "order_type", "amount", "price", "time_in_force", "stop_price"}
)


def build_intent(
    operator: ExchangeOperator,
    intent_id: str,
    trading_pair: TradingPair | str,
    side: OrderSide | str,
    order_type: OrderType | str,
    amount: Decimal | int | str,
    price: Decimal | int | str | None,
    time_in_force: TimeInForce | str | None,
    stop_price: Decimal | int | str | None = None,
) -> OrderIntent:
    """An intent checked against the pair's rules and the operator's capabilities."""
    rule = operator.rule(trading_pair)
    kind = OrderType.parse(order_type, "order type")
    order_side = OrderSide.parse(side, "side")
    tif = None if time_in_force is None else TimeInForce.parse(time_in_force, "time in force")
    value = positive_decimal(amount, "order amount")
    limit = None if price is None else positive_decimal(price, "order price")
    stop = None if stop_price is None else positive_decimal(stop_price, "stop price")
    check_terms(kind, tif, limit, stop)
    operator._check_capabilities(kind, tif)
    rule.check(kind, value, limit if limit is not None else stop)
    if limit is not None and stop is not None:
        rule.check(kind, value, stop)
    return OrderIntent(
        intent_id=intent_id,
        trading_pair=rule.trading_pair,
        side=order_side,
        order_type=kind,
        amount=value,
        price=limit,
        time_in_force=tif,
        stop_price=stop,
    )


def check_legs(legs: object, native: object) -> list[Mapping[str, Any]]:
    """The legs of an order group as mappings of known fields; ValidationError otherwise."""
    if native is not None and not isinstance(native, bool):
        raise ValidationError(f"native must be True, False or None, got {native!r}")
    if isinstance(legs, str | bytes) or not isinstance(legs, Sequence):
        raise ValidationError(f"legs must be a list of mappings, not {type(legs).__name__}")
    for leg in legs:
        if not isinstance(leg, Mapping):
            raise ValidationError(f"each leg must be a mapping, not {type(leg).__name__}")
        unknown = set(leg) - LEG_FIELDS
        if unknown:
            names, known = ", ".join(sorted(map(repr, unknown))), ", ".join(sorted(LEG_FIELDS))
            raise ValidationError(f"unknown leg field {names}; known: {known}")
    return list(legs)


def level(intent: OrderIntent) -> Decimal:
    """Where a leg acts: its stop price if it has one, else its limit price."""
    found = intent.stop_price if intent.stop_price is not None else intent.price
    if found is None:
        raise InconsistentGroup("OCO legs must be priced orders at different prices")
    return found


def oco_leg(intent: OrderIntent) -> OcoLeg:
    return OcoLeg(
        order_type=intent.order_type,
        price=intent.price,
        stop_price=intent.stop_price,
        time_in_force=intent.time_in_force,
    )


def check_group(
    operator: ExchangeOperator, first: OrderIntent, second: OrderIntent, native: bool | None
) -> None:
    """Check an OCO pair; marks the legs of a venue-native list ``above`` / ``below``.

    ``native=None`` uses the venue's list when the operator has one and the
    legs fit it (two plain LIMIT legs do not: they are emulated).
    """
    if first.trading_pair != second.trading_pair:
        raise InconsistentGroup("OCO legs must trade the same pair")
    if first.side is not second.side or first.amount != second.amount:
        raise InconsistentGroup("OCO legs must have the same side and amount")
    if level(first) == level(second):
        raise InconsistentGroup("OCO legs must be priced orders at different prices")
    plain = first.order_type is OrderType.LIMIT and second.order_type is OrderType.LIMIT
    if native is None:
        native = Capability.OCO in operator.capabilities and not plain
    if not native:
        return
    require(operator.capabilities, Capability.OCO, operator.platform.name)
    above, below = sorted((first, second), key=level, reverse=True)
    try:
        check_oco(first.side, oco_leg(above), oco_leg(below))
    except InvalidOrderList as exc:
        raise InconsistentGroup(str(exc)) from None
    above.native_leg, below.native_leg = "above", "below"


def check_modified_leg(
    pair: tuple[OrderIntent, OrderIntent],
    intent: OrderIntent,
    amount: Decimal,
    price: Decimal | None,
    stop_price: Decimal | None,
) -> None:
    """A leg of a native OCO may move its prices, within a valid OCO, not its amount."""
    if amount != intent.amount:
        raise InconsistentGroup("the legs of an OCO share one amount: replace the group")
    changed = OcoLeg(
        order_type=intent.order_type,
        price=price,
        stop_price=stop_price,
        time_in_force=intent.time_in_force,
    )
    above, below = (changed if leg is intent else oco_leg(leg) for leg in pair)
    try:
        check_oco(intent.side, above, below)
    except InvalidOrderList as exc:
        raise InconsistentGroup(str(exc)) from None
