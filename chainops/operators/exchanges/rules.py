"""Trading rules and quantisation: tick size, step size, min/max quantity, min notional."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from chainops.core.ids import TradingPair
from chainops.core.order import OrderType
from chainops.operators.exchanges.errors import RuleViolation

__all__ = ["TradingRule"]


def _step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    return (value / step).to_integral_value(rounding) * step


@dataclass(frozen=True, kw_only=True)
class TradingRule:
    """What the venue accepts for one pair; :meth:`check` runs before anything is sent."""

    trading_pair: TradingPair
    venue_symbol: str
    tick_size: Decimal
    step_size: Decimal
    min_amount: Decimal
    max_amount: Decimal
    min_notional: Decimal = Decimal(0)
    min_price: Decimal = Decimal(0)
    max_price: Decimal | None = None
    order_types: frozenset[OrderType] = field(
        default_factory=lambda: frozenset(OrderType)  # every type unless the venue says otherwise
    )

    def quantize_price(self, price: Decimal, rounding: str = ROUND_DOWN) -> Decimal:
        """``price`` on the tick grid (down by default: a buyer never pays more than asked)."""
        return _step(price, self.tick_size, rounding)

    def quantize_amount(self, amount: Decimal, rounding: str = ROUND_DOWN) -> Decimal:
        """``amount`` on the step grid above ``min_amount``."""
        return self.min_amount + _step(amount - self.min_amount, self.step_size, rounding)

    def check(self, order_type: OrderType, amount: Decimal, price: Decimal | None) -> None:
        """Raise :class:`RuleViolation` naming the broken rule and the nearest valid value."""
        pair = self.trading_pair
        if order_type not in self.order_types:
            raise RuleViolation(f"{pair}: the venue does not accept {order_type.name} orders")
        if amount < self.min_amount:
            raise RuleViolation(f"{pair}: amount {amount} is below the minimum {self.min_amount}")
        if amount > self.max_amount:
            raise RuleViolation(f"{pair}: amount {amount} is above the maximum {self.max_amount}")
        if (amount - self.min_amount) % self.step_size:
            raise RuleViolation(
                f"{pair}: amount {amount} is not a multiple of the step {self.step_size}; "
                f"nearest below: {self.quantize_amount(amount)}"
            )
        if price is None:
            return
        if price % self.tick_size:
            raise RuleViolation(
                f"{pair}: price {price} is not a multiple of the tick {self.tick_size}; "
                f"nearest below: {self.quantize_price(price)}"
            )
        if price < self.min_price or (self.max_price is not None and price > self.max_price):
            raise RuleViolation(f"{pair}: price {price} is outside the allowed range")
        if price * amount < self.min_notional:
            raise RuleViolation(
                f"{pair}: notional {price * amount} is below the minimum {self.min_notional}"
            )
