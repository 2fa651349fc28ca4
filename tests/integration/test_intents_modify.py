"""modify_order over the venue's cancel-replace: the fill race, and never two live orders."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from cex_helpers import AMOUNT, ETH, venue
from test_intents_kernel import ASK, STEP, live_on_venue, take, until

from chainops.core.errors import ValidationError
from chainops.core.order import Order, OrderState
from chainops.devnet.exchange import ExchangeSimulator
from chainops.devnet.exchange.accounts import Account
from chainops.operators.exchanges import BinanceSpot
from chainops.operators.exchanges.intents import ExchangeKernel, IntentState
from chainops.operators.exchanges.linked_orders import ReplaceOutcome
from chainops.operators.exchanges.rules import TradingRule


def before_the_venue_replaces(op: BinanceSpot, act: Callable[[], None]) -> list[int]:
    """Run ``act`` on the venue just before each cancel-replace request reaches it."""
    real = op._venue_cancel_replace
    calls: list[int] = []

    async def racing(order: Order, new: Order, rule: TradingRule) -> ReplaceOutcome:
        calls.append(1)
        act()
        return await real(order, new, rule)

    op._venue_cancel_replace = racing  # type: ignore[method-assign]
    return calls


def watch_live(sim: ExchangeSimulator, account: Account) -> list[int]:
    """How many of our orders the venue has live after each of its events."""
    seen: list[int] = []
    publish = sim.publisher.hub.publish_user

    def counting(api_key: str, event: object) -> None:
        if api_key == account.api_key:
            seen.append(len(live_on_venue(sim, account)))
        publish(api_key, event)

    sim.publisher.hub.publish_user = counting  # type: ignore[method-assign]
    return seen


async def test_modify_uses_the_venues_cancel_replace() -> None:
    async with venue() as (sim, account, make):
        kernel = await ExchangeKernel(make(), interval=0.1).start()
        intent_id = await kernel.place_order(ETH, "SELL", "LIMIT", AMOUNT * 2, ASK)
        seen = watch_live(sim, account)
        await kernel.modify_order(intent_id, price=ASK + STEP)
        old, new = kernel.get_order_state(intent_id)
        assert old.state is OrderState.CANCELED and new.state is OrderState.OPEN
        assert new.price == ASK + STEP and live_on_venue(sim, account) == [new.client_id]
        assert any(
            what.startswith("replacing") for _, what in kernel.get_order_intent(intent_id).history
        )
        assert max(seen) == 1  # the venue never had both
        await kernel.stop()


async def test_a_fill_racing_the_replace_is_kept_and_the_replacement_resized() -> None:
    async with venue() as (sim, account, make):
        op = make()
        kernel = await ExchangeKernel(op, interval=0.1).start()
        intent_id = await kernel.place_order(ETH, "SELL", "LIMIT", AMOUNT * 3, ASK)
        calls = before_the_venue_replaces(
            op, lambda: take(sim, ASK, AMOUNT) if len(calls) == 1 else None
        )
        seen = watch_live(sim, account)
        await kernel.modify_order(intent_id, price=ASK + STEP)  # sized 0.03: the fill lands after
        await until(lambda: kernel.get_order_intent(intent_id).state is IntentState.WORKING)
        orders = kernel.get_order_state(intent_id)
        assert orders[0].filled_base == AMOUNT and orders[0].state is OrderState.CANCELED
        oversized = orders[1]  # sized before the fill was known, then replaced again
        assert oversized.amount == AMOUNT * 3 and oversized.state is OrderState.CANCELED
        assert len(orders) == 3 and len(calls) == 2
        [live] = [o for o in orders if not o.is_terminal]
        assert live.amount == AMOUNT * 2 and live.price == ASK + STEP
        assert live_on_venue(sim, account) == [live.client_id] and max(seen) == 1
        take(sim, ASK + STEP, AMOUNT * 3)  # more than remains: the intent must not overfill
        await until(lambda: kernel.get_order_intent(intent_id).state is IntentState.FILLED)
        assert sum(o.filled_base for o in kernel.get_order_state(intent_id)) == AMOUNT * 3
        await kernel.stop()


async def test_an_order_that_filled_before_the_replace_leaves_nothing_working() -> None:
    async with venue() as (sim, account, make):
        op = make()
        kernel = await ExchangeKernel(op, interval=0.1).start()
        intent_id = await kernel.place_order(ETH, "SELL", "LIMIT", AMOUNT * 2, ASK)
        before_the_venue_replaces(op, lambda: take(sim, ASK, AMOUNT * 2))
        await kernel.modify_order(intent_id, price=ASK + STEP)
        await until(lambda: kernel.get_order_intent(intent_id).state is IntentState.FILLED)
        old, new = kernel.get_order_state(intent_id)
        assert old.state is OrderState.FILLED and old.filled_base == AMOUNT * 2
        assert new.state is OrderState.FAILED and new.client_id not in sim.order_requests
        assert live_on_venue(sim, account) == []
        await kernel.stop()


@pytest.mark.parametrize("entry", ["websocket", "rest"])
async def test_a_lost_replace_reply_is_resolved_by_client_id_without_a_second_order(
    entry: str,
) -> None:
    async with venue() as (sim, account, make):
        op = make(user_stream=False, order_entry=entry)  # only queries by client id can tell
        kernel = await ExchangeKernel(op, interval=0.05).start()
        intent_id = await kernel.place_order(ETH, "SELL", "LIMIT", AMOUNT * 2, ASK)
        sim.faults.drop_after_execute = 1  # the venue replaces, then the reply is lost
        await kernel.modify_order(intent_id, price=ASK + STEP)
        old, new = kernel.get_order_state(intent_id)
        assert old.state is OrderState.PENDING_CANCEL and new.state is OrderState.UNKNOWN
        await until(lambda: old.is_terminal and new.state is not OrderState.UNKNOWN)
        assert kernel.get_order_intent(intent_id).state is IntentState.WORKING
        assert old.state is OrderState.CANCELED and new.state is OrderState.OPEN
        assert len(kernel.get_order_state(intent_id)) == 2
        assert live_on_venue(sim, account) == [new.client_id]
        assert all(n == 1 for n in sim.order_requests.values())
        await kernel.stop()


async def test_without_cancel_replace_the_modify_cancels_then_places() -> None:
    async with venue() as (sim, account, make):
        op = make()
        op.capabilities = op.capabilities - {"cancel_replace"}  # type: ignore[misc]
        kernel = await ExchangeKernel(op, interval=0.1).start()
        intent_id = await kernel.place_order(ETH, "SELL", "LIMIT", AMOUNT * 2, ASK)
        await kernel.modify_order(intent_id, price=ASK + STEP, amount=AMOUNT * 3)
        old, new = kernel.get_order_state(intent_id)
        assert old.state is OrderState.CANCELED and new.amount == AMOUNT * 3
        history = [what for _, what in kernel.get_order_intent(intent_id).history]
        assert not any(what.startswith("replacing") for what in history)
        assert live_on_venue(sim, account) == [new.client_id]
        await kernel.stop()


async def test_a_stop_intent_moves_its_stop_in_one_replace() -> None:
    async with venue() as (sim, account, make):
        kernel = await ExchangeKernel(make(), interval=0.1).start()
        stop = Decimal("1999.50")
        intent_id = await kernel.place_order(
            ETH, "SELL", "STOP_LOSS_LIMIT", AMOUNT, stop - 1, stop_price=stop
        )
        assert kernel.get_order_intent(intent_id).state is IntentState.WORKING
        await kernel.modify_order(intent_id, stop_price=stop - STEP)
        old, new = kernel.get_order_state(intent_id)
        assert old.state is OrderState.CANCELED and new.stop_price == stop - STEP
        [resting] = sim.engine.open_orders(account, "ETHUSDT")
        assert resting.client_order_id == new.client_id and resting.stop_price == stop - STEP
        plain = await kernel.place_order(ETH, "SELL", "LIMIT", AMOUNT, ASK)
        sent = dict(sim.order_requests)
        with pytest.raises(ValidationError):  # a LIMIT order has no stop to move
            await kernel.modify_order(plain, stop_price=stop)
        assert sim.order_requests == sent
        await kernel.stop()
