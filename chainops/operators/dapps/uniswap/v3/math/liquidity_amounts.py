"""LiquidityAmounts: liquidity for token amounts in a range, and amounts for liquidity."""

from __future__ import annotations

from chainops.core.errors import ValidationError
from chainops.operators.dapps.uniswap.v3.math.full_math import Q96, mul_div
from chainops.operators.dapps.uniswap.v3.math.sqrt_price_math import amount0_delta, amount1_delta
from chainops.operators.dapps.uniswap.v3.math.tick_math import get_tick_at_sqrt_ratio

_MAX_UINT128 = 2**128 - 1


def _ordered(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a <= b else (b, a)


def _to_u128(value: int) -> int:
    if value > _MAX_UINT128:
        raise ValidationError("liquidity overflows uint128")
    return value


def liquidity_for_amount0(sqrt_a: int, sqrt_b: int, amount0: int) -> int:
    sqrt_a, sqrt_b = _ordered(sqrt_a, sqrt_b)
    intermediate = mul_div(sqrt_a, sqrt_b, Q96)
    return _to_u128(mul_div(amount0, intermediate, sqrt_b - sqrt_a))


def liquidity_for_amount1(sqrt_a: int, sqrt_b: int, amount1: int) -> int:
    sqrt_a, sqrt_b = _ordered(sqrt_a, sqrt_b)
    return _to_u128(mul_div(amount1, Q96, sqrt_b - sqrt_a))


def liquidity_for_amounts(sqrt_p: int, sqrt_a: int, sqrt_b: int, amount0: int, amount1: int) -> int:
    """The most liquidity that ``amount0`` and ``amount1`` can provide in [a, b] at price p."""
    sqrt_a, sqrt_b = _ordered(sqrt_a, sqrt_b)
    if sqrt_p <= sqrt_a:
        return liquidity_for_amount0(sqrt_a, sqrt_b, amount0)
    if sqrt_p < sqrt_b:
        return min(
            liquidity_for_amount0(sqrt_p, sqrt_b, amount0),
            liquidity_for_amount1(sqrt_a, sqrt_p, amount1),
        )
    return liquidity_for_amount1(sqrt_a, sqrt_b, amount1)


def amount0_for_liquidity(sqrt_a: int, sqrt_b: int, liquidity: int) -> int:
    sqrt_a, sqrt_b = _ordered(sqrt_a, sqrt_b)
    return mul_div(liquidity << 96, sqrt_b - sqrt_a, sqrt_b) // sqrt_a


def amount1_for_liquidity(sqrt_a: int, sqrt_b: int, liquidity: int) -> int:
    sqrt_a, sqrt_b = _ordered(sqrt_a, sqrt_b)
    return mul_div(liquidity, sqrt_b - sqrt_a, Q96)


def amounts_for_liquidity(sqrt_p: int, sqrt_a: int, sqrt_b: int, liquidity: int) -> tuple[int, int]:
    """Token amounts (rounded down) that ``liquidity`` in [a, b] holds at price p."""
    sqrt_a, sqrt_b = _ordered(sqrt_a, sqrt_b)
    if sqrt_p <= sqrt_a:
        return amount0_for_liquidity(sqrt_a, sqrt_b, liquidity), 0
    if sqrt_p < sqrt_b:
        return (
            amount0_for_liquidity(sqrt_p, sqrt_b, liquidity),
            amount1_for_liquidity(sqrt_a, sqrt_p, liquidity),
        )
    return 0, amount1_for_liquidity(sqrt_a, sqrt_b, liquidity)


def amounts_for_mint(
    tick: int, sqrt_p: int, sqrt_a: int, sqrt_b: int, liquidity: int
) -> tuple[int, int]:
    """What the pool takes to add ``liquidity`` in [a, b] (``UniswapV3Pool._modifyPosition``).

    The pool decides the side by its current *tick* and rounds up (in its favour), so a
    mint costs up to one unit more per side than :func:`amounts_for_liquidity` says.
    """
    sqrt_a, sqrt_b = _ordered(sqrt_a, sqrt_b)
    lower, upper = get_tick_at_sqrt_ratio(sqrt_a), get_tick_at_sqrt_ratio(sqrt_b)
    if tick < lower:
        return amount0_delta(sqrt_a, sqrt_b, liquidity, True), 0
    if tick < upper:
        return (
            amount0_delta(sqrt_p, sqrt_b, liquidity, True),
            amount1_delta(sqrt_a, sqrt_p, liquidity, True),
        )
    return 0, amount1_delta(sqrt_a, sqrt_b, liquidity, True)
