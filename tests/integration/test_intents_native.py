"""Native OCO lists and venue cancel-replace through the intents layer, on the simulator."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from cex_helpers import AMOUNT, ETH, venue
from test_intents_kernel import ASK, BID, STEP, live_on_venue, take, until

from chainops.core.errors import ValidationError
from chainops.core.order import OrderState
from chainops.devnet.exchange import ExchangeSimulator
from chainops.devnet.exchange.accounts import Account
from chainops.operators.exchanges.errors import Unsupported
from chainops.operators.exchanges.intents import (
    ExchangeKernel,
    InconsistentGroup,
    IntentState,
)

STOP = Decimal("1999.50")  # the best bid of the seeded book: a trade there triggers the stop


def bracket(**above: Any) -> list[dict[str, Any]]:
    """A SELL OCO: take profit at ASK (LIMIT_MAKER), stop loss at STOP (STOP_LOSS_LIMIT)."""
    leg = {"trading_pair": ETH, "side": "SELL", "amount": AMOUNT}
    return [
        leg | {"order_type": "LIMIT_MAKER", "price": ASK} | above,
        leg | {"order_type": "STOP_LOSS_LIMIT", "price": STOP - 1, "stop_price": STOP},
    ]


def lists_on_venue(sim: ExchangeSimulator, account: Account) -> list[str]:
    """Client ids of the account's order lists still executing."""
    return [
        lst.client_id
        for lst in sim.engine.lists.values()
        if sim.engine.list_owner[lst.list_id] is account and lst.status != "ALL_DONE"
    ]


def placed_once(sim: ExchangeSimulator, account: Account) -> bool:
    """No client id of ours reached the venue's book twice."""
    ids = [o.client_order_id for o in sim.engine.orders.values() if o.account is account]
    return len(ids) == len(set(ids))


def sell_down_to_stop(sim: ExchangeSimulator) -> None:
    """Another account sells into the bids: the tape prints at STOP."""
    other = sim.create_account({"ETH": "10"})
    sim.place_direct(
        other, "ETHUSDT", side="SELL", type="LIMIT", tif="IOC", price=STOP, qty=Decimal("0.5"),
        client_id="s",
    )  # fmt: skip


async def test_native_oco_take_profit_fill_makes_the_venue_end_the_stop_leg() -> None:
    async with venue() as (sim, account, make):
        kernel = await ExchangeKernel(make(), interval=0.1).start()
        profit, stop = await kernel.place_order_group(bracket())
        assert kernel.get_order_intent(profit).native_leg == "above"
        assert {kernel.get_order_intent(i).state for i in (profit, stop)} == {IntentState.WORKING}
        assert len(lists_on_venue(sim, account)) == 1 and len(live_on_venue(sim, account)) == 2
        [stop_order] = kernel.get_order_state(stop)
        assert stop_order.stop_price == STOP and stop_order.order_type.is_stop
        take(sim, ASK, AMOUNT)
        await until(lambda: kernel.get_order_intent(stop).is_terminal)
        assert kernel.get_order_intent(stop).state is IntentState.CANCELED
        await until(lambda: kernel.get_order_intent(profit).state is IntentState.FILLED)
        assert live_on_venue(sim, account) == [] and lists_on_venue(sim, account) == []
        assert placed_once(sim, account) and len(sim.engine.lists) == 1
        await kernel.stop()


async def test_native_oco_stop_leg_triggers_on_a_trade_and_the_take_profit_goes() -> None:
    async with venue() as (sim, account, make):
        kernel = await ExchangeKernel(make(), interval=0.1).start()
        profit, stop = await kernel.place_order_group(bracket())
        sell_down_to_stop(sim)
        await until(lambda: kernel.get_order_intent(stop).state is IntentState.FILLED)
        await until(lambda: kernel.get_order_intent(profit).state is IntentState.CANCELED)
        [filled] = kernel.get_order_state(stop)
        assert filled.filled_base == AMOUNT and filled.state is OrderState.FILLED
        assert live_on_venue(sim, account) == [] and placed_once(sim, account)
        await kernel.stop()


async def test_cancelling_one_leg_cancels_the_list_in_one_request() -> None:
    async with venue() as (sim, account, make):
        kernel = await ExchangeKernel(make(), interval=0.1).start()
        profit, stop = await kernel.place_order_group(bracket())
        await kernel.cancel_order(stop)
        assert kernel.get_order_intent(profit).state is IntentState.CANCELED
        assert kernel.get_order_intent(stop).state is IntentState.CANCELED
        assert live_on_venue(sim, account) == [] and lists_on_venue(sim, account) == []
        await kernel.stop()


async def test_modifying_a_leg_replaces_the_list_never_two_lists() -> None:
    async with venue() as (sim, account, make):
        kernel = await ExchangeKernel(make(), interval=0.1).start()
        profit, stop = await kernel.place_order_group(bracket())
        await kernel.modify_order(profit, price=ASK + STEP)
        await until(lambda: kernel.get_order_intent(profit).state is IntentState.WORKING)
        assert len(lists_on_venue(sim, account)) == 1 and len(live_on_venue(sim, account)) == 2
        old, new = kernel.get_order_state(profit)
        assert old.state is OrderState.CANCELED and new.price == ASK + STEP
        assert kernel.get_order_intent(stop).state is IntentState.WORKING
        with pytest.raises(InconsistentGroup):
            await kernel.modify_order(profit, amount=AMOUNT * 2)  # the legs share one amount
        with pytest.raises(InconsistentGroup):
            await kernel.modify_order(profit, price=STOP - STEP)  # take profit under the stop
        await kernel.stop()


async def test_a_list_the_venue_lost_is_placed_again_once() -> None:
    async with venue() as (sim, account, make):
        kernel = await ExchangeKernel(make(), interval=0.05).start()
        profit, stop = await kernel.place_order_group(bracket())
        [lost] = [lst for lst in sim.engine.lists.values() if lst.status != "ALL_DONE"]
        sim.engine.cancel_list(lost, sim.now_ms())  # silently: no report on the user stream
        await until(lambda: len(lists_on_venue(sim, account)) == 1)
        await until(lambda: kernel.get_reconciliation_metrics().drift_repaired >= 1)
        assert len(kernel.get_order_state(profit)) == 2 and len(kernel.get_order_state(stop)) == 2
        assert len(live_on_venue(sim, account)) == 2 and placed_once(sim, account)
        await kernel.stop()


async def test_an_operator_without_native_lists_emulates_a_stop_bracket() -> None:
    async with venue() as (sim, account, make):
        kernel = await ExchangeKernel(make(), interval=0.1).start()
        profit, stop = await kernel.place_order_group(bracket(), native=False)
        assert sim.engine.lists == {} and len(live_on_venue(sim, account)) == 2
        sell_down_to_stop(sim)
        await until(lambda: kernel.get_order_intent(stop).state is IntentState.FILLED)
        await until(lambda: kernel.get_order_intent(profit).state is IntentState.CANCELED)
        assert live_on_venue(sim, account) == []
        await kernel.stop()


LEG = {"trading_pair": ETH, "side": "SELL", "amount": AMOUNT}
INVALID = {
    "take profit under the stop": [
        LEG | {"order_type": "LIMIT_MAKER", "price": STOP - 2},
        LEG | {"order_type": "STOP_LOSS", "stop_price": STOP},
    ],
    "two take-profit legs": [
        LEG | {"order_type": "LIMIT_MAKER", "price": ASK},
        LEG | {"order_type": "LIMIT_MAKER", "price": ASK + STEP},
    ],
    "different amounts": [
        LEG | {"order_type": "LIMIT_MAKER", "price": ASK},
        LEG | {"order_type": "STOP_LOSS", "stop_price": STOP, "amount": AMOUNT * 2},
    ],
    "different pairs": [
        LEG | {"order_type": "LIMIT_MAKER", "price": ASK},
        LEG | {"order_type": "STOP_LOSS", "stop_price": 50000, "trading_pair": "BTC-USDT"},
    ],
    "different sides": [
        LEG | {"order_type": "LIMIT_MAKER", "price": ASK},
        LEG | {"order_type": "STOP_LOSS", "stop_price": STOP, "side": "BUY"},
    ],
    "a leg without its level": [
        LEG | {"order_type": "LIMIT_MAKER", "price": ASK},
        LEG | {"order_type": "STOP_LOSS_LIMIT", "price": STOP},
    ],
    "a leg lacking its amount": [
        {"trading_pair": ETH, "side": "SELL", "order_type": "LIMIT_MAKER", "price": ASK},
        LEG | {"order_type": "STOP_LOSS", "stop_price": STOP},
    ],
    "a BUY OCO with its stop below": [
        LEG | {"side": "BUY", "order_type": "LIMIT_MAKER", "price": BID},
        LEG | {"side": "BUY", "order_type": "STOP_LOSS", "stop_price": BID - 1},
    ],
}


@pytest.mark.parametrize("case", list(INVALID))
async def test_an_inconsistent_oco_raises_before_anything_is_sent(case: str) -> None:
    async with venue() as (sim, _, make):
        kernel = await ExchangeKernel(make()).start()
        with pytest.raises(ValidationError) as raised:
            await kernel.place_order_group(INVALID[case])
        assert isinstance(raised.value, InconsistentGroup) or case == "a leg without its level"
        assert sim.engine.lists == {} and sim.order_requests == {}
        assert kernel.get_all_intents() == []
        await kernel.stop()


async def test_without_the_oco_capability_the_group_is_emulated() -> None:
    async with venue() as (sim, _, make):
        kernel = await ExchangeKernel(make()).start()
        plain = [LEG | {"price": ASK}, LEG | {"price": ASK + STEP}]
        with pytest.raises(InconsistentGroup):
            await kernel.place_order_group(plain, native=True)  # two LIMIT legs: no venue form
        kernel.operator.capabilities = kernel.operator.capabilities - {"oco"}  # type: ignore[misc]
        with pytest.raises(Unsupported):
            await kernel.place_order_group(bracket(), native=True)
        assert sim.engine.lists == {} and sim.order_requests == {}
        profit, _ = await kernel.place_order_group(bracket())  # emulated without the flag
        assert kernel.get_order_intent(profit).native_leg is None and sim.engine.lists == {}
        assert len(sim.order_requests) == 2
        await kernel.stop()


async def test_a_leg_that_partly_traded_outlives_its_list_and_can_be_cancelled() -> None:
    async with venue() as (sim, account, make):
        kernel = await ExchangeKernel(make(), interval=0.1).start()
        profit, stop = await kernel.place_order_group(
            [leg | {"amount": AMOUNT * 3} for leg in bracket()]
        )
        take(sim, ASK, AMOUNT)  # part of the take profit: the venue ends the stop leg
        await until(lambda: kernel.get_order_intent(stop).state is IntentState.CANCELED)
        [working] = kernel.get_order_state(profit)
        assert working.state is OrderState.PARTIALLY_FILLED
        assert live_on_venue(sim, account) == [working.client_id]
        await kernel.cancel_order(profit)
        assert working.state is OrderState.CANCELED and working.filled_base == AMOUNT
        assert kernel.get_order_intent(profit).state is IntentState.CANCELED
        assert live_on_venue(sim, account) == []
        await kernel.stop()


@pytest.mark.parametrize("entry", ["websocket", "rest"])
async def test_a_lost_list_reply_is_resolved_by_client_id_leg_by_leg(entry: str) -> None:
    async with venue() as (sim, account, make):
        op = make(user_stream=False, order_entry=entry)  # only queries by client id can tell
        kernel = await ExchangeKernel(op, interval=0.05).start()
        sim.faults.drop_after_execute = 1  # the venue places the list, the reply is lost
        profit, stop = await kernel.place_order_group(bracket())
        legs = [o for i in (profit, stop) for o in kernel.get_order_state(i)]
        assert sim.faults.drop_after_execute == 0  # the reply was dropped
        assert all(any(h.state == "UNKNOWN" for h in o.history) for o in legs)
        await until(lambda: all(o.state is OrderState.OPEN for o in legs))
        await until(lambda: kernel.get_order_intent(stop).state is IntentState.WORKING)
        assert len(lists_on_venue(sim, account)) == 1 and len(sim.engine.lists) == 1
        assert placed_once(sim, account)
        take(sim, ASK, AMOUNT)
        await until(lambda: kernel.get_order_intent(stop).state is IntentState.CANCELED)
        assert kernel.get_order_intent(profit).state is IntentState.FILLED
        await kernel.stop()
