"""SqrtPriceMath: next prices and amount deltas between prices, as the V3 library rounds."""

from __future__ import annotations

from chainops.core.errors import ValidationError
from chainops.operators.dapps.uniswap.v3.math.full_math import (
    Q96,
    div_rounding_up,
    mul_div,
    mul_div_rounding_up,
)

_MAX_UINT160 = 2**160 - 1


def next_sqrt_price_from_amount0_rounding_up(
    sqrt_p: int, liquidity: int, amount: int, add: bool
) -> int:
    """Price after adding (or removing) ``amount`` of token0; rounds up."""
    if amount == 0:
        return sqrt_p
    numerator1 = liquidity << 96
    product = amount * sqrt_p
    if add:
        if product < 2**256:
            denominator = numerator1 + product
            if denominator >= numerator1 and denominator < 2**256:
                return mul_div_rounding_up(numerator1, sqrt_p, denominator)
        return div_rounding_up(numerator1, numerator1 // sqrt_p + amount)
    if product >= 2**256 or numerator1 <= product:
        raise ValidationError("not enough token0 liquidity for this output")
    return mul_div_rounding_up(numerator1, sqrt_p, numerator1 - product)


def next_sqrt_price_from_amount1_rounding_down(
    sqrt_p: int, liquidity: int, amount: int, add: bool
) -> int:
    """Price after adding (or removing) ``amount`` of token1; rounds down."""
    if add:
        quotient = (
            (amount << 96) // liquidity if amount < 2**160 else mul_div(amount, Q96, liquidity)
        )
        result = sqrt_p + quotient
        if result > _MAX_UINT160:
            raise ValidationError("sqrt price overflows uint160")
        return result
    quotient = (
        div_rounding_up(amount << 96, liquidity)
        if amount < 2**160
        else mul_div_rounding_up(amount, Q96, liquidity)
    )
    if sqrt_p <= quotient:
        raise ValidationError("not enough token1 liquidity for this output")
    return sqrt_p - quotient


def next_sqrt_price_from_input(
    sqrt_p: int, liquidity: int, amount_in: int, zero_for_one: bool
) -> int:
    if sqrt_p <= 0 or liquidity <= 0:
        raise ValidationError("price and liquidity must be positive")
    if zero_for_one:
        return next_sqrt_price_from_amount0_rounding_up(sqrt_p, liquidity, amount_in, True)
    return next_sqrt_price_from_amount1_rounding_down(sqrt_p, liquidity, amount_in, True)


def next_sqrt_price_from_output(
    sqrt_p: int, liquidity: int, amount_out: int, zero_for_one: bool
) -> int:
    if sqrt_p <= 0 or liquidity <= 0:
        raise ValidationError("price and liquidity must be positive")
    if zero_for_one:
        return next_sqrt_price_from_amount1_rounding_down(sqrt_p, liquidity, amount_out, False)
    return next_sqrt_price_from_amount0_rounding_up(sqrt_p, liquidity, amount_out, False)


def amount0_delta(sqrt_a: int, sqrt_b: int, liquidity: int, round_up: bool) -> int:
    """token0 between two prices for ``liquidity`` (unsigned)."""
    if sqrt_a > sqrt_b:
        sqrt_a, sqrt_b = sqrt_b, sqrt_a
    if sqrt_a <= 0:
        raise ValidationError("sqrt price must be positive")
    numerator1 = liquidity << 96
    numerator2 = sqrt_b - sqrt_a
    if round_up:
        return div_rounding_up(mul_div_rounding_up(numerator1, numerator2, sqrt_b), sqrt_a)
    return mul_div(numerator1, numerator2, sqrt_b) // sqrt_a


def amount1_delta(sqrt_a: int, sqrt_b: int, liquidity: int, round_up: bool) -> int:
    """token1 between two prices for ``liquidity`` (unsigned)."""
    if sqrt_a > sqrt_b:
        sqrt_a, sqrt_b = sqrt_b, sqrt_a
    if round_up:
        return mul_div_rounding_up(liquidity, sqrt_b - sqrt_a, Q96)
    return mul_div(liquidity, sqrt_b - sqrt_a, Q96)


def amount0_delta_signed(sqrt_a: int, sqrt_b: int, liquidity: int) -> int:
    """Signed token0 delta for a signed liquidity change (mint > 0, burn < 0)."""
    if liquidity < 0:
        return -amount0_delta(sqrt_a, sqrt_b, -liquidity, False)
    return amount0_delta(sqrt_a, sqrt_b, liquidity, True)


def amount1_delta_signed(sqrt_a: int, sqrt_b: int, liquidity: int) -> int:
    """Signed token1 delta for a signed liquidity change."""
    if liquidity < 0:
        return -amount1_delta(sqrt_a, sqrt_b, -liquidity, False)
    return amount1_delta(sqrt_a, sqrt_b, liquidity, True)
