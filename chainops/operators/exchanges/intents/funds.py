"""Modifying an intent: the funds check before anything is sent, and the error after a failure."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal

from chainops.core.errors import ChainopsError, InsufficientFunds, Rejected, RpcTransientError
from chainops.core.order import Order, OrderSide
from chainops.operators.exchanges.intents.model import OrderIntent
from chainops.operators.exchanges.operator import ExchangeOperator

__all__ = ["check_funds", "modify_failed"]

log = logging.getLogger("chainops.exchanges.intents")


async def check_funds(
    op: ExchangeOperator,
    orders: Sequence[Order],
    intent: OrderIntent,
    amount: Decimal,
    price: Decimal | None,
) -> None:
    """Raise InsufficientFunds if the account cannot pay the modified order.

    What the intent's live orders hold counts as available (the cancel releases
    it). Skipped for a BUY without a limit price, and when balances cannot be read.
    """
    buy = intent.side is OrderSide.BUY
    if buy and price is None:
        return
    filled = sum((o.filled_base for o in orders), Decimal(0))
    live = [o for o in orders if not o.is_terminal and (o.price is not None or not buy)]
    need = (amount - filled) * (price if buy and price is not None else 1)
    held = sum((_held(o, buy) for o in live), Decimal(0))
    if need <= held:
        return
    asset = intent.trading_pair.quote if buy else intent.trading_pair.base
    try:
        balances = await op.balances()
    except (RpcTransientError, TimeoutError) as exc:
        log.info("funds of %s not checked, balances unavailable: %s", intent.intent_id, exc)
        return
    balance = balances.get(asset)
    free = Decimal(0) if balance is None else balance.free
    if need > free + held:
        raise InsufficientFunds(
            f"modifying {intent.intent_id} needs {need} {asset}; "
            f"{free + held} available ({free} free, {held} held by its open order)"
        )


def _held(order: Order, buy: bool) -> Decimal:
    remaining = order.amount - order.filled_base
    return remaining * order.price if buy and order.price is not None else remaining


def modify_failed(intent: OrderIntent, failure: ChainopsError | None) -> ChainopsError:
    """The error of a modification that left the intent FAILED (the venue's, when known)."""
    error = failure or Rejected(f"intent {intent.intent_id} FAILED: {intent.reason}")
    error.add_note(f"intent {intent.intent_id} is FAILED: see get_order_state for its orders")
    return error
