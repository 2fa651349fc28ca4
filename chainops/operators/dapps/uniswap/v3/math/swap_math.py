"""SwapMath.computeSwapStep: one step of a V3 swap within a price range."""

from __future__ import annotations

from typing import NamedTuple

from chainops.operators.dapps.uniswap.v3.math.full_math import mul_div, mul_div_rounding_up
from chainops.operators.dapps.uniswap.v3.math.sqrt_price_math import (
    amount0_delta,
    amount1_delta,
    next_sqrt_price_from_input,
    next_sqrt_price_from_output,
)

FEE_DENOMINATOR = 1_000_000  # V3 fees are in hundredths of a basis point


class SwapStep(NamedTuple):
    """One step's outcome (a tuple: a quote makes several of these per swap)."""

    sqrt_price_next: int
    amount_in: int
    amount_out: int
    fee_amount: int


def compute_swap_step(
    sqrt_current: int, sqrt_target: int, liquidity: int, amount_remaining: int, fee_pips: int
) -> SwapStep:
    """Swap toward ``sqrt_target``; ``amount_remaining`` > 0 is exact in, < 0 exact out."""
    zero_for_one = sqrt_current >= sqrt_target
    exact_in = amount_remaining >= 0
    amount_in = amount_out = 0
    if exact_in:
        remaining_less_fee = mul_div(amount_remaining, FEE_DENOMINATOR - fee_pips, FEE_DENOMINATOR)
        amount_in = _delta_in(sqrt_target, sqrt_current, liquidity, zero_for_one)
        if remaining_less_fee >= amount_in:
            sqrt_next = sqrt_target
        else:
            sqrt_next = next_sqrt_price_from_input(
                sqrt_current, liquidity, remaining_less_fee, zero_for_one
            )
    else:
        amount_out = _delta_out(sqrt_target, sqrt_current, liquidity, zero_for_one)
        if -amount_remaining >= amount_out:
            sqrt_next = sqrt_target
        else:
            sqrt_next = next_sqrt_price_from_output(
                sqrt_current, liquidity, -amount_remaining, zero_for_one
            )
    reached = sqrt_target == sqrt_next
    if not (reached and exact_in):
        amount_in = _delta_in(sqrt_next, sqrt_current, liquidity, zero_for_one)
    if not (reached and not exact_in):
        amount_out = _delta_out(sqrt_next, sqrt_current, liquidity, zero_for_one)
    if not exact_in and amount_out > -amount_remaining:
        amount_out = -amount_remaining  # the output is capped at what was asked for
    if exact_in and sqrt_next != sqrt_target:
        fee_amount = amount_remaining - amount_in  # the rest of the input is all fee
    else:
        fee_amount = mul_div_rounding_up(amount_in, fee_pips, FEE_DENOMINATOR - fee_pips)
    return SwapStep(sqrt_next, amount_in, amount_out, fee_amount)


def _delta_in(sqrt_to: int, sqrt_from: int, liquidity: int, zero_for_one: bool) -> int:
    if zero_for_one:
        return amount0_delta(sqrt_to, sqrt_from, liquidity, True)
    return amount1_delta(sqrt_from, sqrt_to, liquidity, True)


def _delta_out(sqrt_to: int, sqrt_from: int, liquidity: int, zero_for_one: bool) -> int:
    if zero_for_one:
        return amount1_delta(sqrt_to, sqrt_from, liquidity, False)
    return amount0_delta(sqrt_from, sqrt_to, liquidity, False)
