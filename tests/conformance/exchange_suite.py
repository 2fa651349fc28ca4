"""The exchange conformance suite: shared scenarios any adapter runs against its venue.

Subclass :class:`ExchangeConformance` in a ``test_*.py`` module and provide a
``harness`` fixture returning a :class:`VenueHarness` for your venue; every
``test_*`` method here then runs against it.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from chainops.core.errors import InsufficientFunds, Rejected, ValidationError
from chainops.core.events import OrderEvent, OrderFilled
from chainops.core.ids import TradingPair
from chainops.core.order import Order, OrderSide, OrderState, OrderType
from chainops.operators.exchanges import ExchangeOperator, RuleViolation
from chainops.operators.exchanges.capabilities import Capability
from chainops.operators.exchanges.errors import VenueNotFound
from chainops.operators.exchanges.order_lists import OcoLeg

WAIT = 5.0


class VenueHarness(ABC):
    """What the suite needs from a venue (real or simulated)."""

    pair: TradingPair
    amount: Decimal  # a small amount that passes every rule
    journal_dir: Path

    @abstractmethod
    async def operator(self, **options: Any) -> ExchangeOperator:
        """A started operator for the test account."""

    @abstractmethod
    def passive_price(self, side: OrderSide) -> Decimal:
        """A price at which an order rests at the top of the book without trading."""

    @abstractmethod
    def aggressive_price(self, side: OrderSide) -> Decimal:
        """A price at which an order trades at once."""

    @abstractmethod
    async def counterparty_take(self, side: OrderSide, price: Decimal, amount: Decimal) -> None:
        """Another participant sends an immediate order on ``side`` at ``price``."""

    @abstractmethod
    def placements(self, client_id: str) -> int:
        """How many placement requests for ``client_id`` reached the venue."""

    @abstractmethod
    async def drop_next_reply(self) -> None:
        """Fault: the next order request executes but its reply is lost."""


async def settle(order: Order, *states: OrderState) -> Order:
    async with asyncio.timeout(WAIT):
        return await order._wait_for(lambda o: o.state in states)


class ExchangeConformance:
    """Scenarios every exchange adapter must pass."""

    @pytest.fixture
    def harness(self) -> VenueHarness:
        raise NotImplementedError("a venue's test module provides the harness fixture")

    @pytest.mark.parametrize("side", [OrderSide.BUY, OrderSide.SELL])
    async def test_create_and_cancel(self, harness: VenueHarness, side: OrderSide) -> None:
        op = await harness.operator()
        order = await op.place(
            harness.pair, side, "LIMIT", harness.amount, harness.passive_price(side)
        )
        assert order.state is OrderState.OPEN and order.venue_id is not None
        assert [o.client_id for o in await op.open_orders(harness.pair)] == [order.client_id]
        await op.cancel(order)
        assert order.state is OrderState.CANCELED
        assert await op.open_orders(harness.pair) == []

    async def test_rule_violations_rejected_locally(self, harness: VenueHarness) -> None:
        op = await harness.operator()
        rule = op.rule(harness.pair)
        price = harness.passive_price(OrderSide.BUY)
        cases = [
            (harness.amount, price + rule.tick_size / 2),
            (harness.amount + rule.step_size / 2, price),
            (
                rule.min_amount - rule.step_size
                if rule.min_amount > rule.step_size
                else Decimal(0),
                price,
            ),
            (rule.min_amount, price),  # notional below the minimum at a small amount
        ]
        for amount, bad_price in cases:
            with pytest.raises((RuleViolation, ValueError)) as info:
                await op.place(
                    harness.pair, "BUY", "LIMIT", amount, bad_price, client_id="ruletest"
                )
            assert info.value is not None
        assert harness.placements("ruletest") == 0

    async def test_partial_fill_then_fill(self, harness: VenueHarness) -> None:
        op = await harness.operator()
        price = harness.passive_price(OrderSide.BUY)
        order = await op.place(harness.pair, "BUY", "LIMIT", harness.amount * 2, price)
        await harness.counterparty_take(OrderSide.SELL, price, harness.amount)
        await settle(order, OrderState.PARTIALLY_FILLED)
        assert order.filled_base == harness.amount
        await harness.counterparty_take(OrderSide.SELL, price, harness.amount)
        await settle(order, OrderState.FILLED)
        assert order.filled_base == harness.amount * 2 and len(order.fills) == 2
        assert order.average_price == price

    async def test_cancel_of_filled_order(self, harness: VenueHarness) -> None:
        op = await harness.operator()
        side = OrderSide.BUY
        order = await op.place(
            harness.pair,
            side,
            "LIMIT",
            harness.amount,
            harness.aggressive_price(side),
            time_in_force="IOC",
        )
        await settle(order, OrderState.FILLED)
        await op.cancel(order)
        assert order.state is OrderState.FILLED

    async def test_cancel_filled_while_we_were_not_looking(self, harness: VenueHarness) -> None:
        op = await harness.operator(user_stream=False)
        price = harness.passive_price(OrderSide.SELL)
        order = await op.place(harness.pair, "SELL", "LIMIT", harness.amount, price)
        await harness.counterparty_take(OrderSide.BUY, price, harness.amount)
        await op.cancel(order)  # the venue says unknown order: we ask and learn it filled
        assert order.state is OrderState.FILLED and order.filled_base == harness.amount

    async def test_not_found(self, harness: VenueHarness) -> None:
        op = await harness.operator()
        with pytest.raises(VenueNotFound):
            await op.cancel("never-placed")
        with pytest.raises(VenueNotFound):
            await op.order_status("never-placed")

    async def test_cancel_all(self, harness: VenueHarness) -> None:
        op = await harness.operator()
        orders = [
            await op.place(harness.pair, side, "LIMIT", harness.amount, harness.passive_price(side))
            for side in (OrderSide.BUY, OrderSide.SELL, OrderSide.BUY)
        ]
        canceled = await op.cancel_all(harness.pair)
        assert {o.client_id for o in canceled} == {o.client_id for o in orders}
        assert all(o.state is OrderState.CANCELED for o in orders)
        assert await op.cancel_all(harness.pair) == []

    async def test_balances_after_fill(self, harness: VenueHarness) -> None:
        op = await harness.operator()
        pair = harness.pair
        before = await op.balances()
        order = await op.place(pair, "BUY", "MARKET", harness.amount)
        await settle(order, OrderState.FILLED)
        after = await op.balances()
        base_fees = sum(
            (
                f.fee.amount
                for f in order.fills.values()
                if f.fee and f.fee.asset.symbol == pair.base
            ),
            Decimal(0),
        )
        assert after[pair.base].total - before[pair.base].total == order.filled_base - base_fees
        assert before[pair.quote].total - after[pair.quote].total == order.filled_quote

    async def test_locked_balance_while_open(self, harness: VenueHarness) -> None:
        op = await harness.operator()
        price = harness.passive_price(OrderSide.BUY)
        before = await op.balances()
        order = await op.place(harness.pair, "BUY", "LIMIT", harness.amount, price)
        during = await op.balances()
        quote = harness.pair.quote
        assert during[quote].locked - before[quote].locked == harness.amount * price
        await op.cancel(order)
        assert (await op.balances())[quote].locked == before[quote].locked

    async def test_user_stream_reports_fills(self, harness: VenueHarness) -> None:
        op = await harness.operator()
        seen: list[OrderEvent] = []
        op.events.subscribe(OrderFilled, seen.append)
        price = harness.passive_price(OrderSide.SELL)
        order = await op.place(harness.pair, "SELL", "LIMIT", harness.amount, price)
        await harness.counterparty_take(OrderSide.BUY, price, harness.amount)
        await settle(order, OrderState.FILLED)  # pushed: nobody polled
        assert [e.client_id for e in seen] == [order.client_id]

    async def test_immediate_orders(self, harness: VenueHarness) -> None:
        op = await harness.operator()
        pair, amount = harness.pair, harness.amount
        market = await op.place(pair, "SELL", "MARKET", amount)
        assert market.state is OrderState.FILLED
        passive = harness.passive_price(OrderSide.BUY)
        ioc = await op.place(pair, "BUY", "LIMIT", amount, passive, time_in_force="IOC")
        fok = await op.place(pair, "BUY", "LIMIT", amount, passive, time_in_force="FOK")
        assert ioc.state is OrderState.EXPIRED and fok.state is OrderState.EXPIRED
        with pytest.raises(Rejected):
            await op.place(
                pair, "BUY", "LIMIT_MAKER", amount, harness.aggressive_price(OrderSide.BUY)
            )
        maker = await op.place(pair, "BUY", "LIMIT_MAKER", amount, passive)
        assert maker.state is OrderState.OPEN

    async def test_insufficient_funds(self, harness: VenueHarness) -> None:
        op = await harness.operator()
        rule = op.rule(harness.pair)
        with pytest.raises(InsufficientFunds):
            await op.place(
                harness.pair,
                "SELL",
                "LIMIT",
                rule.max_amount,
                harness.passive_price(OrderSide.SELL),
                client_id="toomuch",
            )
        order = op.tracker.get("toomuch")
        assert order is not None and order.state is OrderState.FAILED

    async def test_lost_reply_recovered_by_client_id(self, harness: VenueHarness) -> None:
        op = await harness.operator()
        await harness.drop_next_reply()
        price = harness.passive_price(OrderSide.BUY)
        order = await op.place(harness.pair, "BUY", "LIMIT", harness.amount, price)
        assert order.state in (OrderState.UNKNOWN, OrderState.OPEN)  # never FAILED
        await settle(order, OrderState.OPEN)
        assert harness.placements(order.client_id) == 1
        assert order.venue_id is not None

    async def test_restore_after_restart(self, harness: VenueHarness) -> None:
        journal = harness.journal_dir / "restart.sqlite"
        first = await harness.operator(journal_path=journal)
        price = harness.passive_price(OrderSide.SELL)
        stays = await first.place(harness.pair, "SELL", "LIMIT", harness.amount, price)
        fills = await first.place(
            harness.pair, "BUY", "LIMIT", harness.amount, harness.passive_price(OrderSide.BUY)
        )
        await first.close()
        await harness.counterparty_take(
            OrderSide.SELL, harness.passive_price(OrderSide.BUY), harness.amount
        )
        second = await harness.operator(journal_path=journal)
        restored = {o.client_id: o for o in second.tracker.all()}
        assert set(restored) == {stays.client_id, fills.client_id}
        assert restored[stays.client_id].state is OrderState.OPEN
        assert restored[fills.client_id].state is OrderState.FILLED
        assert restored[fills.client_id].filled_base == harness.amount
        again = await second.place(harness.pair, "SELL", "LIMIT", harness.amount, price)
        assert again.client_id > stays.client_id  # ids continue from the journal

    async def test_oco_list_one_leg_trades_the_other_ends(self, harness: VenueHarness) -> None:
        op = await harness.operator()
        if Capability.OCO not in op.capabilities:
            pytest.skip("the adapter has no native order lists")
        profit = harness.passive_price(OrderSide.SELL)
        stop = harness.passive_price(OrderSide.BUY)  # below the last trade: it waits
        order_list = await op.place_oco(
            harness.pair,
            "SELL",
            harness.amount,
            OcoLeg(order_type=OrderType.LIMIT_MAKER, price=profit),
            OcoLeg(order_type=OrderType.STOP_LOSS, stop_price=stop),
        )
        above, below = order_list.legs
        assert above.state is OrderState.OPEN and below.state is OrderState.OPEN
        assert below.stop_price == stop and order_list.venue_id is not None
        await harness.counterparty_take(OrderSide.BUY, profit, harness.amount)
        await settle(above, OrderState.FILLED)
        await settle(below, OrderState.CANCELED, OrderState.EXPIRED)  # the venue ended it
        second = await op.place_oco(
            harness.pair,
            "SELL",
            harness.amount,
            OcoLeg(order_type=OrderType.LIMIT_MAKER, price=profit),
            OcoLeg(order_type=OrderType.STOP_LOSS, stop_price=stop),
        )
        await op.cancel_order_list(second)
        assert {o.state for o in second.legs} == {OrderState.CANCELED}
        assert await op.open_orders(harness.pair) == []

    async def test_cancel_replace(self, harness: VenueHarness) -> None:
        op = await harness.operator()
        if Capability.CANCEL_REPLACE not in op.capabilities:
            pytest.skip("the adapter has no cancel-replace")
        price = harness.passive_price(OrderSide.BUY)
        old = await op.place(harness.pair, "BUY", "LIMIT", harness.amount, price)
        lower = price - op.rule(harness.pair).tick_size * 10
        new = await op.cancel_replace(old, harness.amount, lower)
        assert old.state is OrderState.CANCELED and new.state is OrderState.OPEN
        assert [o.client_id for o in await op.open_orders(harness.pair)] == [new.client_id]
        await harness.counterparty_take(OrderSide.SELL, lower, harness.amount)
        await settle(new, OrderState.FILLED)
        with pytest.raises(ValidationError):  # a filled order has nothing left to replace
            await op.cancel_replace(new, harness.amount, price)
