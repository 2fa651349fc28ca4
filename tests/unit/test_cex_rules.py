"""Trading rules: quantised values always pass; off-grid values name the broken rule."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainops.core.order import OrderType
from chainops.operators.exchanges import RuleViolation, TradingRule
from chainops.operators.exchanges.capabilities import Capability, require
from chainops.operators.exchanges.errors import Unsupported

RULE = TradingRule(
    trading_pair="ETH-USDT",  # type: ignore[arg-type]
    venue_symbol="ETHUSDT",
    tick_size=Decimal("0.01"),
    step_size=Decimal("0.0001"),
    min_amount=Decimal("0.001"),
    max_amount=Decimal("1000"),
    min_notional=Decimal("5"),
    order_types=frozenset({OrderType.LIMIT, OrderType.MARKET}),
)

decimals = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("999"), places=7)


@given(decimals, st.decimals(min_value=Decimal("10"), max_value=Decimal("5000"), places=5))
def test_quantised_values_pass(amount: Decimal, price: Decimal) -> None:
    q_amount, q_price = RULE.quantize_amount(amount), RULE.quantize_price(price)
    assert q_amount <= amount and q_price <= price
    assert amount - q_amount < RULE.step_size and price - q_price < RULE.tick_size
    if q_amount * q_price >= RULE.min_notional:
        RULE.check(OrderType.LIMIT, q_amount, q_price)


@pytest.mark.parametrize(
    ("kind", "amount", "price", "match"),
    [
        (OrderType.LIMIT, "0.01", "2000.005", "tick"),
        (OrderType.LIMIT, "0.01005", "2000", "step"),
        (OrderType.LIMIT, "0.0005", "2000", "minimum"),
        (OrderType.LIMIT, "1001", "2000", "maximum"),
        (OrderType.LIMIT, "0.002", "2000", "notional"),
        (OrderType.LIMIT_MAKER, "0.01", "2000", "LIMIT_MAKER"),
    ],
)
def test_violations(kind: OrderType, amount: str, price: str, match: str) -> None:
    with pytest.raises(RuleViolation, match=match):
        RULE.check(kind, Decimal(amount), Decimal(price))


def test_market_orders_skip_price_rules() -> None:
    RULE.check(OrderType.MARKET, Decimal("0.002"), None)


def test_capabilities() -> None:
    require(frozenset({Capability.LIMIT}), Capability.LIMIT, "x")
    with pytest.raises(Unsupported, match="x does not support fok"):
        require(frozenset({Capability.LIMIT}), Capability.FOK, "x")
