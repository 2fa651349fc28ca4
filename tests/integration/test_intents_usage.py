"""The intents layer driven as a user would: options by name, racing calls, odd arguments."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from cex_helpers import AMOUNT, ETH, venue

from chainops.core.errors import ValidationError
from chainops.operators.exchanges.intents import (
    ExchangeKernel,
    IntentFinished,
    IntentState,
    OrphanPolicy,
    UnknownIntent,
)

BID = Decimal("1999.80")


@pytest.mark.parametrize("policy", ["cancel", "CANCEL", OrphanPolicy.CANCEL])
async def test_the_orphan_policy_can_be_named(policy: str) -> None:
    async with venue() as (sim, account, make):
        sim.place_direct(account, "ETHUSDT", side="BUY", type="LIMIT", tif="GTC",
                         price=Decimal("1990"), qty=AMOUNT, client_id="stray")  # fmt: skip
        kernel = await ExchangeKernel(make(), orphans=policy, interval=0.1).start()
        try:
            assert sim.engine.open_orders(account, "ETHUSDT") == []
            assert kernel.get_all_intents() == []  # cancelled, not adopted
        finally:
            await kernel.stop()


@pytest.mark.parametrize(
    "options",
    [
        {"orphans": "nuke"},
        {"orphans": None},
        {"interval": 0},
        {"interval": -1},
        {"interval": "1"},
        {"interval": float("nan")},
        {"interval": float("inf")},
        {"interval": True},
    ],
)
async def test_bad_kernel_options_raise_a_validation_error(options: dict[str, object]) -> None:
    async with venue() as (_sim, _, make):
        with pytest.raises(ValidationError):
            ExchangeKernel(make(), **options)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="ExchangeOperator"):
        ExchangeKernel(None)  # type: ignore[arg-type]


async def test_an_intent_id_of_the_wrong_type_is_an_unknown_intent() -> None:
    async with venue() as (_sim, _, make):
        kernel = await ExchangeKernel(make(), interval=0.1).start()
        try:
            for bad in ([], {}, None, 1):
                with pytest.raises(UnknownIntent):
                    kernel.get_order_intent(bad)  # type: ignore[arg-type]
                with pytest.raises(UnknownIntent):
                    await kernel.cancel_order(bad)  # type: ignore[arg-type]
                with pytest.raises(UnknownIntent):
                    await kernel.modify_order(bad, price=BID)  # type: ignore[arg-type]
                if bad is not None:  # None reconciles every intent
                    with pytest.raises(UnknownIntent):
                        await kernel.force_reconciliation(bad)  # type: ignore[arg-type]
        finally:
            await kernel.stop()


async def test_a_modify_overtaken_by_a_cancel_raises_and_places_nothing() -> None:
    async with venue() as (sim, account, make):
        kernel = await ExchangeKernel(make(), interval=0.1).start()
        try:
            intent_id = await kernel.place_order(ETH, "BUY", "LIMIT", AMOUNT, BID)
            # the modify reads balances (a higher price needs more funds), the cancel goes first
            modify = asyncio.create_task(kernel.modify_order(intent_id, price="1999.90"))
            await asyncio.sleep(0)
            await kernel.cancel_order(intent_id)
            with pytest.raises(IntentFinished, match="CANCELED"):
                await modify
            intent = kernel.get_order_intent(intent_id)
            assert intent.state is IntentState.CANCELED and intent.price == BID
            assert len(intent.orders) == 1 and sim.engine.open_orders(account, "ETHUSDT") == []
        finally:
            await kernel.stop()


async def test_a_modify_while_a_cancel_is_unconfirmed_says_so() -> None:
    async with venue() as (sim, _, make):
        kernel = await ExchangeKernel(make(), interval=0.1).start()
        try:
            intent_id = await kernel.place_order(ETH, "BUY", "LIMIT", AMOUNT, BID)
            sim.faults.server_errors = 1_000  # the cancel is not answered
            await kernel.cancel_order(intent_id)
            assert kernel.get_order_intent(intent_id).state is IntentState.WORKING
            with pytest.raises(IntentFinished, match="being cancelled"):
                await kernel.modify_order(intent_id, price="1999.70")
            sim.faults.server_errors = 0
            await kernel.force_reconciliation()
            assert kernel.get_order_intent(intent_id).state is IntentState.CANCELED
        finally:
            await kernel.stop()


async def test_an_emulated_oco_leg_the_venue_refuses_takes_the_other_leg_down() -> None:
    async with venue() as (sim, account, make):
        kernel = await ExchangeKernel(make(), interval=0.1).start()
        try:
            leg = {"trading_pair": ETH, "side": "SELL", "amount": AMOUNT,
                   "order_type": "LIMIT_MAKER"}  # fmt: skip
            crossing = leg | {"price": Decimal("1990")}  # below the best bid: would take
            refused, other = await kernel.place_order_group(
                [crossing, leg | {"price": Decimal("2004")}], native=False
            )
            assert kernel.get_order_intent(refused).state is IntentState.FAILED
            await kernel.force_reconciliation()
            survivor = kernel.get_order_intent(other)
            assert survivor.state is IntentState.CANCELED, survivor.history
            assert "other leg" in (survivor.reason or "")
            assert sim.engine.open_orders(account, "ETHUSDT") == []
        finally:
            await kernel.stop()
