"""Reconciling a venue-native OCO: two leg intents realised by one order list at a time.

The venue links the legs, so the pair is reconciled as a unit:

* once a leg trades, the venue ends the other; that leg's intent is CANCELED
  and the trading leg carries on as a plain intent (its remainder, if the venue
  ended it part-filled, is placed on its own);
* while nothing traded, both legs of the current list must work and match the
  intents; a list with one leg gone (or a leg whose price changed) is cancelled
  whole, and a new list is placed once both legs are finished;
* both legs' client ids and the list's are journalled before the list is sent,
  and nothing is placed while a leg's outcome is unknown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chainops.core.errors import ChainopsError, RpcTransientError
from chainops.core.order import Order, OrderState
from chainops.operators.exchanges.intents.model import IntentState, OrderIntent
from chainops.operators.exchanges.order_lists import OcoLeg, OrderList

if TYPE_CHECKING:
    from chainops.operators.exchanges.intents.reconciler import Reconciler

__all__ = ["reconcile_native"]

_UNSETTLED = (OrderState.PENDING_CREATE, OrderState.UNKNOWN, OrderState.PENDING_CANCEL)
MAX_LISTS_PER_GROUP = 25  # a venue that keeps ending the list is failing, not drifting


def _matches(intent: OrderIntent, order: Order) -> bool:
    return (order.price, order.stop_price, order.amount) == (
        intent.price,
        intent.stop_price,
        intent.amount,
    )


def _leg(intent: OrderIntent, client_id: str) -> OcoLeg:
    return OcoLeg(
        order_type=intent.order_type,
        price=intent.price,
        stop_price=intent.stop_price,
        time_in_force=intent.time_in_force,
        client_id=client_id,
    )


async def reconcile_native(rec: Reconciler, above: OrderIntent, below: OrderIntent) -> bool:
    """Bring a native OCO pair towards its desired state; True when nothing is left to do."""
    legs = (above, below)
    for intent in legs:
        if len(rec.orders_of(intent)) < len(intent.orders):
            await rec._recover_untracked(intent)  # ids journalled before a crash: ask the venue
            return False
    filled = [rec.filled(i) for i in legs]
    if any(filled):
        winner, loser = legs if filled[0] > 0 else (below, above)
        if loser.wanted:
            loser.wanted = False
            loser.note("the other leg of the group filled")
            rec.records.save(loser)
        done = await rec.reconcile_single(loser)
        return await rec.reconcile_single(winner) and done
    if not (above.wanted and below.wanted):
        for intent in legs:
            if intent.wanted:
                intent.wanted = False
                intent.note("the other leg was cancelled")
                rec.records.save(intent)
        return await _cancel_pair(rec, above, below)
    current = [rec.orders_of(i)[-1] if i.orders else None for i in legs]
    for order in current:
        if order is not None and order.state is OrderState.UNKNOWN:
            await rec.op.reconcile(order)  # an unknown outcome: ask by client id first
        elif order is not None and order.state is OrderState.PENDING_CANCEL:
            await rec.op.cancel(order)  # an unanswered cancel may never have arrived: resend
    if any(o is not None and o.state in _UNSETTLED for o in current):
        return False
    if any(o is not None and o.filled_base > 0 for o in current):
        return False  # the answer says a leg traded: the next call treats it as such
    live = [o for o in current if o is not None and not o.is_terminal]
    if len(live) == 2 and all(_matches(i, o) for i, o in zip(legs, live, strict=True)):
        for intent in legs:
            rec._set(intent, IntentState.WORKING, "order list open on the venue")
        return True
    if live:
        # one leg gone, or a leg no longer wanted as it is: the list goes as a whole
        if len(live) == 1:
            rec._drift()
        await _cancel_orders(rec, above, live)
        return False
    return await _place_list(rec, above, below, [o for o in current if o is not None])


async def _cancel_orders(rec: Reconciler, above: OrderIntent, live: list[Order]) -> None:
    rec.metrics.actions += 1
    if len(live) == 2 and above.order_list is not None:
        order_list = OrderList(above.order_list, above.trading_pair, live[0], live[1])
        await rec.op.cancel_order_list(order_list)
        return
    for order in live:
        await rec.op.cancel(order)  # the venue cancels the whole list with one leg


async def _cancel_pair(rec: Reconciler, above: OrderIntent, below: OrderIntent) -> bool:
    live = [o for i in (above, below) for o in rec.orders_of(i) if not o.is_terminal]
    for order in live:
        if order.state is OrderState.UNKNOWN:
            await rec.op.reconcile(order)  # ask by client id whether the venue has it
    live = [o for o in live if not o.is_terminal]
    if any(o.state in (OrderState.UNKNOWN, OrderState.PENDING_CREATE) for o in live):
        return False  # cancel once the venue told whether it has the legs at all
    if live:
        await _cancel_orders(rec, above, live)
    if any(not o.is_terminal for o in live):
        return False
    for intent in (above, below):
        if rec.filled(intent) > 0:
            return await rec.reconcile_single(intent)
        rec._set(intent, IntentState.CANCELED, intent.reason or "canceled")
    return True


async def _place_list(
    rec: Reconciler, above: OrderIntent, below: OrderIntent, previous: list[Order]
) -> bool:
    """Both legs finished untraded (or never placed): place the next list."""
    legs = (above, below)
    if any(o.state is OrderState.FAILED and _reason(o) == "rejected" for o in previous):
        for intent in legs:
            rec._set(intent, IntentState.FAILED, "venue refused the order list")
        return True
    if len(above.orders) >= MAX_LISTS_PER_GROUP:
        for intent in legs:
            rec._set(intent, IntentState.FAILED, "too many replacement order lists")
        return True
    if previous:
        rec.metrics.retries += 1
        asked = any(h.state == OrderState.PENDING_CANCEL.value for o in previous for h in o.history)
        if not asked:
            rec._drift()  # the venue ended a list nobody asked it to end
    ids = [str(rec.op.ids.next()) for _ in range(3)]
    for intent, client_id in zip(legs, ids, strict=False):
        intent.orders.append(client_id)
        intent.order_list = ids[2]
        intent.note(f"placing {client_id} in order list {ids[2]}")
        rec.records.save(intent)  # journalled before the venue hears of the list
    rec.metrics.actions += 1
    try:
        order_list = await rec.op.place_oco(
            above.trading_pair,
            above.side,
            above.amount,
            _leg(above, ids[0]),
            _leg(below, ids[1]),
            client_id=ids[2],
        )
    except ChainopsError as exc:
        if isinstance(exc, RpcTransientError):
            raise
        rec.metrics.errors += 1
        for intent in legs:
            rec.fail(intent, exc)
        return True
    if previous:
        rec.metrics.drift_repaired += 1
    if all(o.state is OrderState.OPEN for o in order_list.legs):
        for intent in legs:
            rec._set(intent, IntentState.WORKING, "order list open on the venue")
    return False  # the next pass confirms what the venue did


def _reason(order: Order) -> str | None:
    return next((h.reason for h in reversed(order.history) if h.state == order.state.value), None)
