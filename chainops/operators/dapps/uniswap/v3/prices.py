"""Price <-> tick <-> sqrtPriceX96 for V3 pools, exact (integers and Fractions, no floats).

A *price* here is human units of token1 per token0 (``2000`` USDC per WETH when WETH is
token0); pass ``invert=True`` to speak in token0 per token1.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction
from math import isqrt

from chainops.core.assets import to_decimal
from chainops.core.errors import ValidationError
from chainops.operators.dapps.uniswap.v3.math.tick_math import (
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
)

TICK_SPACING = {100: 1, 500: 10, 3000: 60, 10000: 200}  # fee tier -> spacing, as on mainnet


class InvalidTickRange(ValidationError):
    """Lower tick not below upper, ticks off the spacing, or outside the tick range."""


def _raw_price(
    price: Decimal | int | str, decimals0: int, decimals1: int, invert: bool
) -> Fraction:
    value = to_decimal(price, what="price")
    if value <= 0:
        raise ValidationError(f"price must be positive, got {value}")
    human = Fraction(value)
    if invert:
        human = 1 / human
    return human * Fraction(10**decimals1, 10**decimals0)


def price_to_sqrt_price_x96(
    price: Decimal | int | str, decimals0: int, decimals1: int, *, invert: bool = False
) -> int:
    """sqrtPriceX96 for a human price (rounded down)."""
    raw = _raw_price(price, decimals0, decimals1, invert)
    sqrt = isqrt(raw.numerator * 2**192 // raw.denominator)
    if not MIN_SQRT_RATIO <= sqrt < MAX_SQRT_RATIO:
        raise ValidationError(f"price {price} is outside what a V3 pool can represent")
    return sqrt


def sqrt_price_x96_to_price(
    sqrt_price_x96: int, decimals0: int, decimals1: int, *, invert: bool = False
) -> Decimal:
    """The human price of a sqrtPriceX96 (40 significant digits)."""
    numerator = sqrt_price_x96 * sqrt_price_x96 * 10**decimals0
    denominator = 2**192 * 10**decimals1
    if invert:
        numerator, denominator = denominator, numerator
    with localcontext() as ctx:
        ctx.prec = 40
        return Decimal(numerator) / Decimal(denominator)


def price_to_tick(
    price: Decimal | int | str, decimals0: int, decimals1: int, *, invert: bool = False
) -> int:
    """The greatest tick whose price is <= ``price`` (in token1 per token0 terms)."""
    return get_tick_at_sqrt_ratio(
        price_to_sqrt_price_x96(price, decimals0, decimals1, invert=invert)
    )


def tick_to_price(tick: int, decimals0: int, decimals1: int, *, invert: bool = False) -> Decimal:
    return sqrt_price_x96_to_price(
        get_sqrt_ratio_at_tick(tick), decimals0, decimals1, invert=invert
    )


def check_fee(fee: object) -> int:
    """A known V3 fee tier (an int; bool, float and str refused)."""
    if not isinstance(fee, int) or isinstance(fee, bool):
        raise ValidationError(
            f"a V3 fee tier must be an int (one of {sorted(TICK_SPACING)}), "
            f"not {type(fee).__name__} {fee!r}"
        )
    if fee not in TICK_SPACING:
        raise ValidationError(f"unknown V3 fee tier {fee} (known: {sorted(TICK_SPACING)})")
    return fee


def check_fees(fees: object, hops: int) -> list[int]:
    """One fee tier per hop: an int for every hop, or a sequence of ``hops`` ints."""
    if isinstance(fees, int) and not isinstance(fees, bool):
        return [check_fee(fees)] * hops
    if not isinstance(fees, list | tuple):
        raise ValidationError(
            f"fee must be a V3 fee tier (int) or a list of one per hop, "
            f"not {type(fees).__name__} {fees!r}"
        )
    if len(fees) != hops:
        raise ValidationError(f"{hops} hops need {hops} fees, got {list(fees)}")
    return [check_fee(f) for f in fees]


def spacing_for(fee: int) -> int:
    return TICK_SPACING[check_fee(fee)]


def align_tick(tick: int, spacing: int, *, up: bool = False) -> int:
    """Round ``tick`` down (or up) to a multiple of ``spacing`` within the usable range."""
    aligned = tick // spacing * spacing
    if up and aligned < tick:
        aligned += spacing
    highest = MAX_TICK // spacing * spacing
    return min(max(aligned, -highest), highest)


def check_tick_pair(ticks: object) -> tuple[int, int]:
    """``ticks`` as (lower, upper): a pair of ints (bool refused)."""
    if isinstance(ticks, tuple | list) and len(ticks) == 2:
        lower, upper = ticks
        if all(isinstance(t, int) and not isinstance(t, bool) for t in (lower, upper)):
            return lower, upper
    raise InvalidTickRange(f"ticks must be two ints (lower, upper), got {ticks!r}")


def check_ticks(lower: int, upper: int, spacing: int) -> None:
    """Refuse ranges the pool would refuse: types, order, spacing and bounds."""
    check_tick_pair((lower, upper))
    if lower >= upper:
        raise InvalidTickRange(f"lower tick {lower} must be below upper tick {upper}")
    for tick in (lower, upper):
        if tick % spacing:
            raise InvalidTickRange(f"tick {tick} is not a multiple of the tick spacing {spacing}")
        if not MIN_TICK <= tick <= MAX_TICK:
            raise InvalidTickRange(f"tick {tick} is outside [{MIN_TICK}, {MAX_TICK}]")


def range_to_ticks(
    low: Decimal | int | str,
    high: Decimal | int | str,
    decimals0: int,
    decimals1: int,
    spacing: int,
    *,
    invert: bool = False,
) -> tuple[int, int]:
    """Ticks for a price range, widened outward to the spacing.

    With ``invert`` the prices are token0 per token1, so the low price gives the upper tick.
    """
    if to_decimal(low, what="price") >= to_decimal(high, what="price"):
        raise InvalidTickRange(f"the low price {low} must be below the high price {high}")
    a = price_to_tick(low, decimals0, decimals1, invert=invert)
    b = price_to_tick(high, decimals0, decimals1, invert=invert)
    lower, upper = (b, a) if invert else (a, b)
    lower, upper = align_tick(lower, spacing), align_tick(upper, spacing, up=True)
    if lower == upper:
        upper += spacing
    check_ticks(lower, upper, spacing)
    return lower, upper
