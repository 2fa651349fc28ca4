"""OCO leg checks and stop orders on the common order model: refused before anything is sent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chainops.core.errors import ValidationError
from chainops.core.order import Order, OrderSide, OrderType
from chainops.operators.exchanges.order_lists import InvalidOrderList, OcoLeg, check_oco

T = OrderType
TAKE = OcoLeg(order_type=T.LIMIT_MAKER, price=Decimal("2010"))
STOP = OcoLeg(order_type=T.STOP_LOSS_LIMIT, price=Decimal("1980"), stop_price=Decimal("1990"))


def test_a_sell_bracket_and_its_buy_mirror_pass() -> None:
    check_oco(OrderSide.SELL, TAKE, STOP)
    buy_stop = OcoLeg(order_type=T.STOP_LOSS, stop_price=Decimal("2010"))
    buy_take = OcoLeg(order_type=T.TAKE_PROFIT_LIMIT, price=Decimal(1990), stop_price=Decimal(1991))
    check_oco(OrderSide.BUY, buy_stop, buy_take)


def leg(kind: OrderType, price: int | None = None, stop: int | None = None) -> OcoLeg:
    return OcoLeg(
        order_type=kind,
        price=None if price is None else Decimal(price),
        stop_price=None if stop is None else Decimal(stop),
    )


@pytest.mark.parametrize(
    ("side", "above", "below", "says"),
    [
        (OrderSide.SELL, STOP, TAKE, "must be one of"),  # the legs swapped
        (OrderSide.BUY, TAKE, STOP, "must be one of"),  # a sell bracket sent as a buy
        (OrderSide.SELL, TAKE, TAKE, "must be one of"),  # two take-profit legs
        (OrderSide.SELL, leg(T.LIMIT, 2010), STOP, "must be one of"),
        (OrderSide.SELL, TAKE, leg(T.STOP_LOSS_LIMIT, stop=1990), "needs a price"),
        (OrderSide.SELL, TAKE, leg(T.STOP_LOSS, 1, 1990), "takes no price"),
        (OrderSide.SELL, TAKE, leg(T.STOP_LOSS), "needs a stop price"),
        (OrderSide.SELL, leg(T.LIMIT_MAKER, 2010, 1), STOP, "takes no stop price"),
        (OrderSide.SELL, leg(T.LIMIT_MAKER, 1985), STOP, "must act above"),
    ],
)
def test_inconsistent_legs_are_refused(
    side: OrderSide, above: OcoLeg, below: OcoLeg, says: str
) -> None:
    with pytest.raises(InvalidOrderList, match=says):
        check_oco(side, above, below)


def test_stop_orders_carry_their_stop_price_through_the_journal_form() -> None:
    order = Order(
        client_id="c1", platform="binance", owner="o", trading_pair="ETH-USDT", side="SELL",
        order_type="STOP_LOSS_LIMIT", amount="0.1", price="1980", stop_price="1990",
    )  # fmt: skip
    again = Order.from_dict(order.to_dict())
    assert again.stop_price == Decimal("1990") and again.order_type is T.STOP_LOSS_LIMIT
    legacy = order.to_dict()
    legacy.pop("stop_price")  # journalled before stop orders existed
    legacy |= {"order_type": "LIMIT"}
    assert Order.from_dict(legacy).stop_price is None


@pytest.mark.parametrize(
    ("kind", "price", "stop"),
    [("STOP_LOSS", None, None), ("STOP_LOSS_LIMIT", "1", None), ("LIMIT", "1", "2"),
     ("TAKE_PROFIT_LIMIT", None, "2"), ("MARKET", None, "2")],
)  # fmt: skip
def test_stop_and_price_rules_of_each_type(kind: str, price: str | None, stop: str | None) -> None:
    with pytest.raises(ValidationError):
        Order(
            client_id="c1", platform="binance", owner="o", trading_pair="ETH-USDT", side="SELL",
            order_type=kind, amount="0.1", price=price, stop_price=stop,
        )  # fmt: skip


def test_type_properties() -> None:
    assert {t for t in T if t.is_stop} == {
        T.STOP_LOSS, T.STOP_LOSS_LIMIT, T.TAKE_PROFIT, T.TAKE_PROFIT_LIMIT
    }  # fmt: skip
    assert {t for t in T if not t.priced} == {T.MARKET, T.STOP_LOSS, T.TAKE_PROFIT}
