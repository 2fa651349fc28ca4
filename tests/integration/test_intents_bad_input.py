"""Bad input to the intents kernel: a typed error before any intent, journal entry or order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from cex_helpers import AMOUNT, ETH, venue
from test_intents_kernel import BID, live_on_venue

from chainops.core.errors import InsufficientFunds, ValidationError
from chainops.core.order import OrderState
from chainops.devnet.exchange import ExchangeSimulator
from chainops.devnet.exchange.accounts import Account
from chainops.operators.exchanges import BinanceSpot
from chainops.operators.exchanges.errors import VenueInsufficientFunds
from chainops.operators.exchanges.intents import ExchangeKernel, IntentEvent, IntentState
from chainops.operators.exchanges.types import Balance

Setup = tuple[ExchangeSimulator, Account, BinanceSpot, ExchangeKernel]
LEG: dict[str, Any] = {"trading_pair": ETH, "side": "SELL", "amount": AMOUNT}
PROFIT = LEG | {"order_type": "LIMIT_MAKER", "price": Decimal(2050)}
STOP = LEG | {"order_type": "STOP_LOSS_LIMIT", "stop_price": Decimal(1990), "price": Decimal(1989)}


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    async with venue() as (sim, account, make):
        op = make()
        kernel = await ExchangeKernel(op, interval=0.1).start()
        try:
            yield sim, account, op, kernel
        finally:
            await kernel.stop()


def nothing_done(sim: ExchangeSimulator, op: BinanceSpot, kernel: ExchangeKernel) -> None:
    assert kernel.get_all_intents() == [] and op.journal.get_value(f"intents:{op.owner}") is None
    assert sim.order_requests == {} and sim.engine.lists == {} and op.tracker.all() == []


PLACES: list[tuple[str, dict[str, Any], str]] = [
    (
        "LIMIT_MAKER with IOC",
        {"order_type": "LIMIT_MAKER", "time_in_force": "IOC"},
        "^a LIMIT_MAKER order rests on the book: time in force is GTC$",
    ),
    ("MARKET with a price", {"order_type": "MARKET"}, "^a MARKET order takes no price$"),
    ("LIMIT with a stop", {"stop_price": Decimal(1950)}, "^a LIMIT order takes no stop price$"),
    ("unknown side", {"side": "HOLD"}, "^side must be one of BUY, SELL, got 'HOLD'$"),
    (
        "unknown time in force",
        {"time_in_force": "GTX"},
        "^time in force must be one of GTC, IOC, FOK, got 'GTX'$",
    ),
    ("unknown order type", {"order_type": "ICEBERG"}, "^order type must be one of .*'ICEBERG'$"),
]


@pytest.mark.parametrize(("label", "change", "message"), PLACES, ids=[c[0] for c in PLACES])
async def test_bad_place_order_raises_before_an_intent(
    setup: Setup, label: str, change: dict[str, Any], message: str
) -> None:
    sim, _, op, kernel = setup
    args = {"trading_pair": ETH, "side": "BUY", "order_type": "LIMIT"} | change
    with pytest.raises(ValidationError, match=message):
        await kernel.place_order(amount=AMOUNT, price=BID, **args)
    nothing_done(sim, op, kernel)


GROUPS: list[tuple[str, Any, dict[str, Any], str]] = [
    ("unknown leg key", [PROFIT | {"tif": "IOC"}, STOP], {}, "^unknown leg field 'tif'; known: "),
    ("native not a bool", [PROFIT, STOP], {"native": "yes"}, "^native must be True, False or None"),
    ("legs None", None, {}, "^legs must be a list of mappings, not NoneType$"),
    ("legs a string", "ab", {}, "^legs must be a list of mappings, not str$"),
    ("legs not mappings", ["a", "b"], {}, "^each leg must be a mapping, not str$"),
]


@pytest.mark.parametrize(
    ("label", "legs", "options", "message"), GROUPS, ids=[c[0] for c in GROUPS]
)
async def test_bad_order_group_raises_before_an_intent(
    setup: Setup, label: str, legs: Any, options: dict[str, Any], message: str
) -> None:
    sim, _, op, kernel = setup
    with pytest.raises(ValidationError, match=message):
        await kernel.place_order_group(legs, **options)
    nothing_done(sim, op, kernel)


async def test_non_callable_subscribers_are_refused(setup: Setup) -> None:
    kernel = setup[3]
    with pytest.raises(ValidationError, match=r"^callback must be callable, not str$"):
        kernel.subscribe_events("notcallable")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"^filter must be callable, not int$"):
        kernel.subscribe_events(print, 1)  # type: ignore[arg-type]
    intent_id = await kernel.place_order(ETH, "BUY", "LIMIT", AMOUNT, BID)  # nothing registered
    assert kernel.get_order_intent(intent_id).state is IntentState.WORKING


async def test_a_failing_subscriber_never_fails_place_order(setup: Setup) -> None:
    sim, account, _, kernel = setup
    seen: list[IntentEvent] = []

    def broken(event: IntentEvent) -> None:
        raise RuntimeError("subscriber bug")

    kernel.subscribe_events(broken)
    kernel.subscribe_events(seen.append)  # later subscribers still hear of it
    intent_id = await kernel.place_order(ETH, "BUY", "LIMIT", AMOUNT, BID)
    [order] = kernel.get_order_state(intent_id)
    assert order.state is OrderState.OPEN and live_on_venue(sim, account) == [order.client_id]
    assert sim.order_requests == {order.client_id: 1}
    assert {e.state for e in seen} >= {IntentState.PENDING, IntentState.WORKING}


async def test_a_modify_the_account_cannot_pay_is_refused_first(setup: Setup) -> None:
    sim, account, _, kernel = setup
    intent_id = await kernel.place_order(ETH, "BUY", "LIMIT", AMOUNT, BID)
    [order] = kernel.get_order_state(intent_id)
    with pytest.raises(InsufficientFunds, match=r"^modifying i1 needs 1999800\.00 USDT; "):
        await kernel.modify_order(intent_id, amount=Decimal(1000))
    intent = kernel.get_order_intent(intent_id)
    assert intent.state is IntentState.WORKING and intent.amount == AMOUNT
    assert sim.order_requests == {order.client_id: 1}
    assert live_on_venue(sim, account) == [order.client_id]


async def test_a_modify_the_venue_refuses_raises_its_typed_error(setup: Setup) -> None:
    sim, account, op, kernel = setup
    intent_id = await kernel.place_order(ETH, "BUY", "LIMIT", AMOUNT, BID)

    async def balances_say_rich() -> dict[str, Balance]:  # stale balances: the venue decides
        return {"USDT": Balance("USDT", Decimal(10**9), Decimal(0))}

    op._venue_balances = balances_say_rich  # type: ignore[method-assign]
    with pytest.raises(VenueInsufficientFunds, match="insufficient balance"):
        await kernel.modify_order(intent_id, amount=Decimal(1000))
    assert kernel.get_order_intent(intent_id).state is IntentState.FAILED
    old, new = kernel.get_order_state(intent_id)
    assert old.state is OrderState.CANCELED and new.state is OrderState.FAILED
    assert live_on_venue(sim, account) == []  # nothing left working untracked
