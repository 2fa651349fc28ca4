"""Bad input to OCO lists, leg terms, client ids and stop prices: refused before sending."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from cex_helpers import AMOUNT, ETH, venue

from chainops.core.errors import InvalidAmount, InvalidIdentifier, ValidationError
from chainops.core.order import OrderState, OrderType, TimeInForce
from chainops.devnet.exchange import ExchangeSimulator
from chainops.operators.exchanges import BinanceSpot
from chainops.operators.exchanges.order_lists import OcoLeg

BID = Decimal("1999.80")
PROFIT, STOP, LIMIT = Decimal(2050), Decimal(1990), Decimal(1989)


def take_profit(price: Decimal = PROFIT) -> OcoLeg:
    return OcoLeg(order_type=OrderType.LIMIT_MAKER, price=price)


def stop_loss(stop: Decimal = STOP, limit: Decimal = LIMIT) -> OcoLeg:
    return OcoLeg(order_type=OrderType.STOP_LOSS_LIMIT, price=limit, stop_price=stop)


def nothing_sent(sim: ExchangeSimulator, op: BinanceSpot) -> None:
    assert sim.order_requests == {} and sim.engine.lists == {}
    assert op.tracker.all() == [] and op.order_lists == {}


async def test_a_duplicate_list_client_id_is_refused_and_the_live_list_kept() -> None:
    async with venue() as (sim, _, make):
        op = await make(user_stream=False).start()
        first = await op.place_oco(ETH, "SELL", AMOUNT, take_profit(), stop_loss(), client_id="ok1")
        assert {o.state for o in first.legs} == {OrderState.OPEN}
        with pytest.raises(ValidationError, match=r"^order list client id ok1 is already in use$"):
            await op.place_oco(
                ETH, "SELL", AMOUNT, take_profit(PROFIT + 1), stop_loss(), client_id="ok1"
            )
        assert len(sim.engine.lists) == 1 and len(op.tracker.all()) == 2  # nothing new
        assert op.order_lists["ok1"] is first
        await op.cancel_order_list("ok1")  # acts on the live list
        assert {o.state for o in first.legs} == {OrderState.CANCELED}
        assert await op.open_orders(ETH) == []


@pytest.mark.parametrize("client_id", ["L" * 40, "", "bad id!"])
async def test_a_malformed_list_client_id_is_refused(client_id: str) -> None:
    async with venue() as (sim, _, make):
        op = await make(user_stream=False).start()
        with pytest.raises(InvalidIdentifier, match="invalid client id"):
            await op.place_oco(ETH, "SELL", AMOUNT, take_profit(), stop_loss(), client_id=client_id)
        nothing_sent(sim, op)


async def test_an_empty_order_client_id_is_refused_not_replaced() -> None:
    async with venue() as (sim, _, make):
        op = await make(user_stream=False).start()
        with pytest.raises(InvalidIdentifier, match=r"^invalid client id '': must be 1-36"):
            await op.place(ETH, "BUY", "LIMIT", AMOUNT, BID, client_id="")
        nothing_sent(sim, op)


async def test_a_zero_oco_amount_is_an_invalid_amount() -> None:
    async with venue() as (sim, _, make):
        op = await make(user_stream=False).start()
        with pytest.raises(InvalidAmount, match=r"^order amount must be positive, got 0$"):
            await op.place_oco(ETH, "SELL", Decimal(0), take_profit(), stop_loss())
        nothing_sent(sim, op)


def test_leg_names_and_prices_are_coerced() -> None:
    leg = OcoLeg(order_type="limit_maker", price="2050", time_in_force="gtc")  # type: ignore[arg-type]
    assert leg.order_type is OrderType.LIMIT_MAKER and leg.time_in_force is TimeInForce.GTC
    assert leg.price == Decimal(2050) and isinstance(leg.price, Decimal)


BAD_LEGS: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("float price", {"price": 2050.0}, InvalidAmount, "^leg price must be a Decimal, int or str"),
    ("text price", {"price": "abc"}, InvalidAmount, "^leg price 'abc' is not a number$"),
    ("zero price", {"price": 0}, InvalidAmount, "^leg price must be positive, got 0$"),
    ("float stop", {"stop_price": 1990.0}, InvalidAmount, "^stop price must be a Decimal"),
    (
        "unknown tif",
        {"time_in_force": "GTX"},
        ValidationError,
        "^time in force must be one of GTC, IOC, FOK, got 'GTX'$",
    ),
    ("unknown type", {"order_type": "ICEBERG"}, ValidationError, "^order type must be one of"),
    ("bad client id", {"client_id": "bad id"}, InvalidIdentifier, "^invalid client id 'bad id'"),
]


@pytest.mark.parametrize(
    ("label", "change", "error", "message"), BAD_LEGS, ids=[c[0] for c in BAD_LEGS]
)
def test_bad_leg_terms_are_refused_when_the_leg_is_built(
    label: str, change: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        OcoLeg(**({"order_type": OrderType.LIMIT_MAKER, "price": PROFIT} | change))


async def test_a_leg_given_by_names_and_strings_is_placed() -> None:
    async with venue() as (sim, _, make):
        op = await make(user_stream=False).start()
        above = OcoLeg(order_type="LIMIT_MAKER", price="2050")  # type: ignore[arg-type]
        placed = await op.place_oco(ETH, "SELL", AMOUNT, above, stop_loss())
        assert placed.above.price == PROFIT and placed.above.state is OrderState.OPEN
        assert len(sim.engine.lists) == 1


async def test_a_stop_price_on_a_limit_order_is_refused_in_plain_words() -> None:
    async with venue() as (sim, _, make):
        op = await make(user_stream=False).start()
        with pytest.raises(ValidationError, match=r"^a LIMIT order takes no stop price$"):
            await op.place(ETH, "BUY", "LIMIT", AMOUNT, BID, stop_price=Decimal(1950))
        with pytest.raises(ValidationError, match=r"^a MARKET order takes no price$"):
            await op.place(ETH, "BUY", "MARKET", AMOUNT, BID)
        nothing_sent(sim, op)


async def test_cancel_replace_with_a_stop_price_on_a_limit_order_is_refused() -> None:
    async with venue() as (sim, _, make):
        op = await make(user_stream=False).start()
        order = await op.place(ETH, "BUY", "LIMIT", AMOUNT, BID)
        with pytest.raises(ValidationError, match=r"^a LIMIT order takes no stop price$"):
            await op.cancel_replace(order, AMOUNT, BID, stop_price=Decimal(5))
        with pytest.raises(InvalidIdentifier, match=r"^invalid client id ''"):
            await op.cancel_replace(order, AMOUNT, BID, client_id="")
        assert sim.order_requests == {order.client_id: 1}
        assert op.tracker.all() == [order] and order.state is OrderState.OPEN
