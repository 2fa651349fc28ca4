"""The intents layer against the exchange simulator: placing, modifying, OCO, cancel-all."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal

import pytest
from cex_helpers import AMOUNT, ETH, venue

from chainops.core.errors import ValidationError
from chainops.core.order import OrderState
from chainops.devnet.exchange import ExchangeSimulator
from chainops.devnet.exchange.accounts import Account
from chainops.operators.exchanges.errors import RuleViolation
from chainops.operators.exchanges.intents import (
    ExchangeKernel,
    InconsistentGroup,
    IntentEvent,
    IntentFinished,
    IntentState,
    OrphanPolicy,
    UnknownIntent,
)

BID = Decimal("1999.80")  # inside the seeded spread (2000 +- 0.50): ours is the best level
ASK = Decimal("2000.20")
STEP = Decimal("0.10")


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def live_on_venue(sim: ExchangeSimulator, account: Account) -> list[str]:
    return [o.client_order_id for o in sim.engine.open_orders(account, "ETHUSDT")]


def take(sim: ExchangeSimulator, price: Decimal, qty: Decimal, side: str = "BUY") -> None:
    """Another account trades against our resting order."""
    other = sim.create_account({"USDT": "1000000", "ETH": "100"})
    sim.place_direct(
        other, "ETHUSDT", side=side, type="LIMIT", tif="IOC", price=price, qty=qty, client_id="t"
    )


async def test_place_order_returns_an_intent_that_works_on_the_venue() -> None:
    async with venue() as (sim, account, make):
        kernel = await ExchangeKernel(make(), interval=0.1).start()
        seen: list[IntentEvent] = []
        kernel.subscribe_events(seen.append, lambda e: e.state is IntentState.WORKING)
        intent_id = await kernel.place_order(ETH, "BUY", "LIMIT", AMOUNT, BID)
        intent = kernel.get_order_intent(intent_id)
        assert intent.state is IntentState.WORKING
        [order] = kernel.get_order_state(intent_id)
        assert order.state is OrderState.OPEN and live_on_venue(sim, account) == [order.client_id]
        assert [e.intent_id for e in seen] == [intent_id]
        assert kernel.get_all_intents(ETH) == [intent] and kernel.get_all_orders(ETH) == [order]
        assert ETH in kernel.list_symbols()
        assert kernel.get_symbol_metadata(ETH).trading_pair == ETH
        state = await kernel.get_account_state()
        assert state.balances["USDT"].locked > 0 and len(state.open_orders) == 1
        health = await kernel.health_check()
        assert health["venue_reachable"] and health["reconciling"] and health["healthy"]
        assert health["connections"]["user_stream"] == {"connected": True, "connects": 1}
        await kernel.stop()
        assert live_on_venue(sim, account) == [order.client_id]  # stop does not cancel


async def test_invalid_intents_raise_before_anything_is_sent() -> None:
    async with venue() as (sim, _, make):
        kernel = await ExchangeKernel(make()).start()
        with pytest.raises(RuleViolation):
            await kernel.place_order(ETH, "BUY", "LIMIT", Decimal("0.0000001"), BID)
        with pytest.raises(ValidationError):
            await kernel.place_order(ETH, "BUY", "MARKET", AMOUNT, BID)
        with pytest.raises(InconsistentGroup):
            await kernel.place_order_group(
                [
                    {"trading_pair": ETH, "side": "SELL", "amount": AMOUNT, "price": ASK},
                    {"trading_pair": ETH, "side": "BUY", "amount": AMOUNT, "price": BID},
                ]
            )
        with pytest.raises(InconsistentGroup):
            leg = {"trading_pair": ETH, "side": "SELL", "amount": AMOUNT, "price": ASK}
            await kernel.place_order_group([leg, leg])
        with pytest.raises(UnknownIntent):
            kernel.get_order_intent("nope")
        intent_id = await kernel.place_order(ETH, "BUY", "LIMIT", AMOUNT, BID)
        await kernel.cancel_order(intent_id)
        assert kernel.get_order_intent(intent_id).state is IntentState.CANCELED
        with pytest.raises(IntentFinished):
            await kernel.modify_order(intent_id, price=BID - STEP)
        assert len(sim.order_requests) == 1  # only the valid intent reached the venue
        await kernel.stop()


async def test_modify_keeps_a_partial_fill_and_sizes_the_replacement() -> None:
    async with venue() as (sim, account, make):
        kernel = await ExchangeKernel(make(), interval=0.1).start()
        intent_id = await kernel.place_order(ETH, "SELL", "LIMIT", AMOUNT * 3, ASK)
        take(sim, ASK, AMOUNT)  # a partial fill lands just before the modify
        await kernel.modify_order(intent_id, price=ASK + STEP)
        first, second = kernel.get_order_state(intent_id)
        assert first.state is OrderState.CANCELED and first.filled_base == AMOUNT
        assert second.amount == AMOUNT * 2 and second.price == ASK + STEP
        assert live_on_venue(sim, account) == [second.client_id]
        take(sim, ASK + STEP, AMOUNT * 2)
        await until(lambda: kernel.get_order_intent(intent_id).state is IntentState.FILLED)
        await kernel.stop()


async def test_oco_cancels_the_other_leg_once_one_trades() -> None:
    async with venue() as (sim, account, make):
        kernel = await ExchangeKernel(make(), interval=0.1).start()
        upper, lower = await kernel.place_order_group(
            [
                {"trading_pair": ETH, "side": "SELL", "amount": AMOUNT, "price": ASK + STEP},
                {"trading_pair": ETH, "side": "SELL", "amount": AMOUNT, "price": ASK},
            ]
        )
        assert len(live_on_venue(sim, account)) == 2
        take(sim, ASK, AMOUNT)
        await until(lambda: kernel.get_order_intent(upper).state is IntentState.CANCELED)
        assert kernel.get_order_intent(lower).state is IntentState.FILLED
        assert live_on_venue(sim, account) == []
        await kernel.stop()


async def test_cancel_all_counts_and_clears_one_pair() -> None:
    async with venue() as (sim, account, make):
        kernel = await ExchangeKernel(make()).start()
        for n in range(3):
            await kernel.place_order(ETH, "BUY", "LIMIT", AMOUNT, BID - n * STEP)
        assert await kernel.cancel_all_orders(ETH) == 3
        assert live_on_venue(sim, account) == []
        assert await kernel.cancel_all_orders() == 0
        await kernel.stop()


async def test_an_order_the_venue_lost_is_placed_again_once() -> None:
    async with venue() as (sim, account, make):
        kernel = await ExchangeKernel(make(), interval=0.05).start()
        intent_id = await kernel.place_order(ETH, "BUY", "LIMIT", AMOUNT, BID)
        [lost] = sim.engine.open_orders(account, "ETHUSDT")
        sim.engine.cancel(lost, sim.now_ms())  # silently: no report on the user stream
        await until(lambda: len(kernel.get_order_state(intent_id)) == 2)
        await until(lambda: kernel.get_reconciliation_metrics().drift_repaired >= 1)
        assert len(live_on_venue(sim, account)) == 1
        assert all(n == 1 for n in sim.order_requests.values())
        await kernel.stop()


@pytest.mark.parametrize("policy", list(OrphanPolicy))
async def test_unwanted_open_orders_follow_the_policy(policy: OrphanPolicy) -> None:
    async with venue() as (sim, account, make):
        op = await make().start()
        stray = await op.place(ETH, "BUY", "LIMIT", AMOUNT, BID)
        kernel = await ExchangeKernel(op, orphans=policy).start()
        metrics = kernel.get_reconciliation_metrics()
        assert metrics.orphans_found == 1
        if policy is OrphanPolicy.CANCEL:
            await until(lambda: stray.state is OrderState.CANCELED)
            assert live_on_venue(sim, account) == []
        elif policy is OrphanPolicy.ADOPT:
            [adopted] = kernel.get_all_intents()
            assert adopted.orders == [stray.client_id]
            assert live_on_venue(sim, account) == [stray.client_id]
        else:
            assert kernel.get_all_intents() == []
            assert live_on_venue(sim, account) == [stray.client_id]
        await kernel.stop()
