"""Requests that touch two orders at once: OCO lists and cancel-replace.

The outcome rules are the operator's: every order is journalled (with its
client id) before the venue hears of it; a lost reply makes the orders
UNKNOWN / PENDING_CANCEL and they are resolved by client id, never resent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING

from chainops.core.assets import to_decimal
from chainops.core.errors import ChainopsError, RpcTransientError, ValidationError
from chainops.core.ids import TradingPair
from chainops.core.order import Order, OrderSide, OrderState, OrderUpdate
from chainops.operators.exchanges.capabilities import Capability, require
from chainops.operators.exchanges.errors import DEFINITIVE, VenueNotFound
from chainops.operators.exchanges.order_lists import OcoLeg, OrderList, check_oco
from chainops.operators.exchanges.order_terms import (
    check_terms,
    client_id_or_new,
    positive_decimal,
)
from chainops.operators.exchanges.rules import TradingRule

if TYPE_CHECKING:
    from chainops.operators.exchanges.operator import ExchangeOperator

__all__ = ["ReplaceOutcome", "cancel_order_list", "cancel_replace", "place_oco"]

_LIVE = (OrderState.OPEN, OrderState.PARTIALLY_FILLED)


@dataclass(frozen=True)
class ReplaceOutcome:
    """What a cancel-replace did: ``canceled`` is None when the cancel failed (and nothing
    was placed); ``placed`` is None when the new order was refused (``error`` says why)."""

    canceled: OrderUpdate | None
    placed: OrderUpdate | None
    error: ChainopsError | None = None


def _check_leg(rule: TradingRule, leg: OcoLeg, amount: Decimal) -> None:
    rule.check(leg.order_type, amount, leg.price if leg.price is not None else leg.stop_price)
    if leg.price is not None and leg.stop_price is not None:
        rule.check(leg.order_type, amount, leg.stop_price)


async def place_oco(
    op: ExchangeOperator,
    trading_pair: TradingPair | str,
    side: OrderSide | str,
    amount: Decimal | int | str,
    above: OcoLeg,
    below: OcoLeg,
    *,
    client_id: str | None = None,
) -> OrderList:
    """Place an OCO list; every check raises before anything is sent."""
    require(op.capabilities, Capability.OCO, op.platform.name)
    rule = op.rule(trading_pair)
    order_side = OrderSide.parse(side, "side")
    value = positive_decimal(amount, "order amount")
    list_id = client_id_or_new(client_id, op.ids)
    if list_id in op.order_lists:
        raise ValidationError(f"order list client id {list_id} is already in use")
    check_oco(order_side, above, below)
    for leg in (above, below):
        op._check_capabilities(leg.order_type, leg.time_in_force)
        _check_leg(rule, leg, value)
    legs = [
        Order(
            client_id=client_id_or_new(leg.client_id, op.ids),
            platform=op.platform.name,
            owner=op.owner,
            trading_pair=rule.trading_pair,
            side=order_side,
            order_type=leg.order_type,
            amount=value,
            price=leg.price,
            stop_price=leg.stop_price,
            time_in_force=leg.time_in_force,
        )
        for leg in (above, below)
    ]
    if legs[0].client_id == legs[1].client_id or any(op.tracker.get(o.client_id) for o in legs):
        raise ValidationError("each leg needs a client id of its own, unused so far")
    order_list = OrderList(list_id, rule.trading_pair, legs[0], legs[1])
    for order in legs:
        op.tracker.add(order)  # both journalled before the venue hears of either
    op.order_lists[order_list.client_id] = order_list
    try:
        venue_id, updates = await op._venue_place_oco(order_list, rule)
    except DEFINITIVE as exc:
        for order in legs:
            op.tracker.transition(order, OrderState.FAILED, reason="rejected", error=exc)
        raise
    except (RpcTransientError, TimeoutError) as exc:
        for order in legs:
            if order.state is OrderState.PENDING_CREATE:
                op.tracker.transition(order, OrderState.UNKNOWN, reason="no reply", error=exc)
                op._spawn(op._resolve(order))
        return order_list
    order_list.venue_id = venue_id
    for order, update in zip(legs, updates, strict=True):
        op.tracker.apply(order, update)
    return order_list


async def cancel_order_list(op: ExchangeOperator, order_list: OrderList) -> OrderList:
    """Cancel both legs in one request; a finished list is returned as it is."""
    live = [o for o in order_list.legs if not o.is_terminal]
    if not live:
        return order_list
    rule = op.rule(order_list.trading_pair)
    for order in live:
        op.tracker.transition(
            order, OrderState.PENDING_CANCEL, reason="list cancel requested", persist=False
        )
    try:
        updates = await op._venue_cancel_list(order_list, rule)
    except VenueNotFound:
        for order in live:
            await op.reconcile(order)  # the list ended (a leg filled, or it never existed)
            if order.state is OrderState.PENDING_CANCEL:
                op._spawn(op._resolve(order))
        return order_list
    except (RpcTransientError, TimeoutError):
        for order in live:
            op._spawn(op._resolve(order))
        return order_list
    for order, update in zip(order_list.legs, updates, strict=True):
        await _apply_cancel(op, order, update, rule)
    return order_list


async def _apply_cancel(
    op: ExchangeOperator, order: Order, update: OrderUpdate, rule: TradingRule
) -> None:
    if order.is_terminal:
        return
    if update.state is not OrderState.CANCELED and update.state is not OrderState.EXPIRED:
        await op.reconcile(order)
        return
    fills = await op._venue_fills(order, rule) if op._maybe_filled(order, update) else ()
    op.tracker.apply(order, replace(update, fills=fills))


async def cancel_replace(
    op: ExchangeOperator,
    order: Order,
    amount: Decimal | int | str,
    price: Decimal | int | str | None,
    *,
    client_id: str | None = None,
    stop_price: Decimal | int | str | None = None,
) -> Order:
    """Cancel ``order`` and place its replacement in one request; returns the replacement.

    A stop order keeps its stop price unless ``stop_price`` gives a new one.

    The venue places the new order only if the cancel succeeded: an order that
    filled meanwhile stays filled and nothing new is left working.
    """
    require(op.capabilities, Capability.CANCEL_REPLACE, op.platform.name)
    if order.state not in _LIVE:
        raise ValidationError(f"{order.client_id} is {order.state.name}: nothing to replace")
    rule = op.rule(order.trading_pair)
    value = positive_decimal(amount, "order amount")
    limit = None if price is None else to_decimal(price, what="order price")
    stop = order.stop_price if stop_price is None else to_decimal(stop_price, what="stop price")
    check_terms(order.order_type, order.time_in_force, limit, stop)
    rule.check(order.order_type, value, limit if limit is not None else stop)
    new = Order(
        client_id=client_id_or_new(client_id, op.ids),
        platform=op.platform.name,
        owner=op.owner,
        trading_pair=order.trading_pair,
        side=order.side,
        order_type=order.order_type,
        amount=value,
        price=limit,
        stop_price=stop,
        time_in_force=order.time_in_force,
    )
    if op.tracker.get(new.client_id) is not None:
        raise ValidationError(f"client id {new.client_id} is already in use")
    op.tracker.add(new)
    op.tracker.transition(order, OrderState.PENDING_CANCEL, reason="replace", persist=False)
    try:
        outcome = await op._venue_cancel_replace(order, new, rule)
    except DEFINITIVE as exc:  # refused as a whole: neither half executed
        op.tracker.transition(new, OrderState.FAILED, reason="rejected", error=exc)
        await op.reconcile(order)
        raise
    except (RpcTransientError, TimeoutError) as exc:
        op.tracker.transition(new, OrderState.UNKNOWN, reason="no reply", error=exc)
        op._spawn(op._resolve(new))
        op._spawn(op._resolve(order))
        return new
    if outcome.canceled is None:
        # the cancel failed (the order filled or ended), so the venue placed nothing
        op.tracker.transition(new, OrderState.FAILED, reason="not attempted", error=outcome.error)
        await op.reconcile(order)
        return new
    await _apply_cancel(op, order, outcome.canceled, rule)
    if outcome.placed is None:
        op.tracker.transition(new, OrderState.FAILED, reason="rejected", error=outcome.error)
        if outcome.error is not None:
            raise outcome.error
        return new
    op.tracker.apply(new, outcome.placed)
    return new
