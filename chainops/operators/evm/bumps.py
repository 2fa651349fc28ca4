"""Fee bumps: the fees of a replacement (speed-up or cancel) at the same nonce.

geth refuses a replacement unless both the tip and the fee cap rise by at least
10 %; Anvil accepts less, we never rely on it. All arithmetic is on integer wei.
"""

from __future__ import annotations

from chainops.core.attempt import FeeParams
from chainops.core.errors import ValidationError

__all__ = ["bump"]

BPS = 10_000


def _raise_by(value: int, factor_bps: int) -> int:
    """``ceil(value * (1 + factor))``, and always at least ``value + 1``.

    geth refuses a replacement unless both fees are strictly higher and at least
    ``old * 110 / 100``; rounding up and the +1 satisfy both for every value.
    """
    return max(-(-value * (BPS + factor_bps) // BPS), value + 1)


def bump(
    previous: FeeParams, *, factor_bps: int = 1000, market: FeeParams | None = None
) -> FeeParams:
    """Fees for a replacement (speed-up or cancel) of a transaction priced at ``previous``.

    Both the tip and the cap rise by at least ``factor_bps`` (rounded up, and by
    at least 1 wei), and to at least ``market`` when given; the tip never ends
    above the cap. Legacy ``gas_price`` is raised the same way. A legacy
    ``previous`` with an EIP-1559 ``market`` is raised to at least the market's cap.
    """
    if not isinstance(factor_bps, int) or isinstance(factor_bps, bool) or factor_bps < 0:
        raise ValidationError(f"factor_bps must be a non-negative int, got {factor_bps!r}")
    if previous.gas_price is not None:
        price = _raise_by(previous.gas_price, factor_bps)
        if market is not None:
            floor = market.gas_price if market.gas_price is not None else market.max_fee_per_gas
            if floor is None:
                raise ValidationError("market fees carry no EVM gas price")
            price = max(price, floor)
        return FeeParams(gas_price=price)
    if previous.max_fee_per_gas is None or previous.max_priority_fee_per_gas is None:
        raise ValidationError("previous fees carry no EVM gas price to bump")
    tip = _raise_by(previous.max_priority_fee_per_gas, factor_bps)
    cap = _raise_by(previous.max_fee_per_gas, factor_bps)
    if market is not None:
        if market.max_fee_per_gas is None or market.max_priority_fee_per_gas is None:
            raise ValidationError("an EIP-1559 transaction needs EIP-1559 market fees to bump")
        tip = max(tip, market.max_priority_fee_per_gas)
        cap = max(cap, market.max_fee_per_gas)
    return FeeParams(max_fee_per_gas=max(cap, tip), max_priority_fee_per_gas=tip)
