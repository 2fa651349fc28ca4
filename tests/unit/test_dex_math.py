"""Pure DEX math: slippage values, V2 formulas, V3 tick/price/liquidity math, swap steps."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from math import isqrt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainops.core.errors import ValidationError
from chainops.operators.dapps import (
    AmountOverflow,
    Bps,
    DustAmount,
    InsufficientLiquidity,
    SlippageOutOfRange,
    TicksNotLoaded,
    V3PoolState,
)
from chainops.operators.dapps.uniswap.v2 import library
from chainops.operators.dapps.uniswap.v3.math.liquidity_amounts import (
    amounts_for_liquidity,
    liquidity_for_amounts,
)
from chainops.operators.dapps.uniswap.v3.math.swap_math import compute_swap_step
from chainops.operators.dapps.uniswap.v3.math.tick_math import (
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
)
from chainops.operators.dapps.uniswap.v3.prices import (
    InvalidTickRange,
    align_tick,
    check_ticks,
    price_to_tick,
    range_to_ticks,
    tick_to_price,
)

ticks = st.integers(MIN_TICK, MAX_TICK)


def test_bps_parsing_and_limits() -> None:
    assert Bps.parse("0.5%") == Bps(50)
    assert Bps.parse("50bps") == Bps(50) == Bps.parse("50") == Bps.parse(50)
    assert Bps.parse(Decimal("1.25")) == Bps(125)
    assert str(Bps(50)) == "0.5%"
    with pytest.raises(ValidationError):
        Bps.parse(0.5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Bps.parse("0.001%")
    with pytest.raises(ValidationError):
        Bps.parse("half")
    with pytest.raises(SlippageOutOfRange):
        Bps.parse("100%")
    with pytest.raises(SlippageOutOfRange):
        Bps.parse("51%").check()
    assert Bps.parse("51%").check(force=True).value == 5100
    assert Bps(50).min_out(10_000) == 9_950 and Bps(50).max_in(10_000) == 10_050
    assert Bps(50).max_in(1) == 2  # rounded against the trader's counterparty


@given(st.integers(1, 10**30), st.integers(10**3, 10**30), st.integers(10**3, 10**30))
def test_v2_amount_in_buys_at_least_the_amount_out(amount: int, r_in: int, r_out: int) -> None:
    out = library.get_amount_out(amount, r_in, r_out)
    if out:
        needed = library.get_amount_in(out, r_in, r_out)
        assert needed <= amount + 1  # getAmountIn always adds one unit for rounding
        assert library.get_amount_out(needed, r_in, r_out) >= out


def test_v2_bad_inputs() -> None:
    with pytest.raises(ValidationError):
        library.get_amount_out(0, 1, 1)
    with pytest.raises(ValidationError):
        library.get_amount_in(5, 10, 5)
    with pytest.raises(ValidationError):
        library.get_amount_out(1, 0, 1)


def test_v2_path_refusals_are_typed() -> None:
    big = library.MAX_UINT112
    with pytest.raises(AmountOverflow):  # the pair's balance would pass uint112
        library.get_amounts_out(2, [(big - 1, 10**18)])
    with pytest.raises(AmountOverflow):  # what an exact output needs may not fit either
        library.get_amounts_in(10**18 - 1, [(big // 2, 10**18)])
    with pytest.raises(DustAmount):
        library.get_amounts_out(1, [(10**18, 10**6)])
    with pytest.raises(InsufficientLiquidity) as short:
        library.get_amounts_in(10**6, [(10**18, 10**6)])
    assert 0 < short.value.amount_out < 10**6


@given(ticks)
def test_tick_sqrt_round_trip(tick: int) -> None:
    sqrt = get_sqrt_ratio_at_tick(tick)
    assert MIN_SQRT_RATIO <= sqrt <= MAX_SQRT_RATIO
    if tick < MAX_TICK:
        assert get_tick_at_sqrt_ratio(sqrt) == tick
        assert get_tick_at_sqrt_ratio(get_sqrt_ratio_at_tick(tick + 1) - 1) == tick


def _tick_by_bisection(sqrt_price: int) -> int:
    low, high = MIN_TICK, MAX_TICK
    while low < high:
        mid = (low + high + 1) // 2
        if get_sqrt_ratio_at_tick(mid) <= sqrt_price:
            low = mid
        else:
            high = mid - 1
    return low


@given(st.integers(MIN_SQRT_RATIO, MAX_SQRT_RATIO - 1))
def test_tick_at_sqrt_ratio_is_the_greatest_tick_below(sqrt_price: int) -> None:
    assert get_tick_at_sqrt_ratio(sqrt_price) == _tick_by_bisection(sqrt_price)


@given(st.integers(-400_000, 400_000))
def test_sqrt_ratio_is_close_to_the_exact_value(tick: int) -> None:
    exact = Fraction(10001, 10000) ** tick if abs(tick) < 2000 else None
    if exact is not None:
        ideal = isqrt(exact.numerator * 2**192 // exact.denominator)
        assert abs(get_sqrt_ratio_at_tick(tick) - ideal) <= max(2, ideal >> 80)


def test_price_tick_conversions() -> None:
    tick = price_to_tick(Decimal(2000), 18, 6)  # WETH(18)/USDC(6) as token0/token1
    assert tick_to_price(tick, 18, 6) <= 2000 < tick_to_price(tick + 1, 18, 6)
    inverted = price_to_tick(Decimal(2000), 6, 18, invert=True)  # USDC/WETH pool
    assert abs(inverted + tick) <= 1
    assert align_tick(-15, 10) == -20 and align_tick(-15, 10, up=True) == -10
    lower, upper = range_to_ticks("1800", "2200", 18, 6, 10)
    assert lower % 10 == upper % 10 == 0 and lower < upper
    with pytest.raises(InvalidTickRange):
        range_to_ticks("2200", "1800", 18, 6, 10)
    with pytest.raises(InvalidTickRange):
        check_ticks(10, 10, 10)
    with pytest.raises(InvalidTickRange):
        check_ticks(5, 20, 10)
    with pytest.raises(ValidationError):
        price_to_tick(Decimal(0), 18, 6)


@given(
    st.integers(-50_000, 50_000),
    st.integers(1, 5_000),
    st.integers(1, 5_000),
    st.integers(10**6, 10**24),
    st.integers(10**6, 10**24),
)
def test_liquidity_for_amounts_never_needs_more_than_given(
    price_tick: int, below: int, above: int, amount0: int, amount1: int
) -> None:
    sqrt_p = get_sqrt_ratio_at_tick(price_tick)
    sa, sb = get_sqrt_ratio_at_tick(price_tick - below), get_sqrt_ratio_at_tick(price_tick + above)
    liquidity = liquidity_for_amounts(sqrt_p, sa, sb, amount0, amount1)
    used0, used1 = amounts_for_liquidity(sqrt_p, sa, sb, liquidity)
    assert used0 <= amount0 and used1 <= amount1


@given(
    st.integers(-10_000, 10_000),
    st.integers(-10_000, 10_000),
    st.integers(10**10, 10**24),
    st.integers(-(10**20), 10**20).filter(bool),
    st.sampled_from([100, 500, 3000, 10000]),
)
def test_swap_step_conserves_amounts(
    current: int, target: int, liquidity: int, remaining: int, fee: int
) -> None:
    step = compute_swap_step(
        get_sqrt_ratio_at_tick(current), get_sqrt_ratio_at_tick(target), liquidity, remaining, fee
    )
    if remaining > 0:
        assert step.amount_in + step.fee_amount <= remaining
    else:
        assert step.amount_out <= -remaining


def test_pool_state_swap_crosses_ticks_and_refuses_unloaded_words() -> None:
    spacing = 10
    state = V3PoolState(
        address="0x" + "11" * 20,
        token0="0x" + "01" * 20,
        token1="0x" + "02" * 20,
        fee=500,
        tick_spacing=spacing,
        sqrt_price_x96=get_sqrt_ratio_at_tick(5),
        tick=5,
        liquidity=15 * 10**17,
        ticks={-100: 10**18, 100: -(10**18), -1000: 5 * 10**17, 1000: -5 * 10**17},
        words=(-1, 0),
    )
    # Two ranges, [-100, 100] and [-1000, 1000]: a sale crosses -100 and goes on into word -1.
    result = state.swap(True, 2 * 10**16)
    assert result.ticks_crossed >= 1 and result.amount0 == 2 * 10**16 and result.amount1 < 0
    with pytest.raises(TicksNotLoaded):
        state.swap(True, 10**22)
    with pytest.raises(ValidationError):
        state.swap(True, 0)


def test_a_quote_names_the_chains_own_coin() -> None:
    from chainops.core.assets import Token
    from chainops.operators.dapps import Quote, TradeKind

    wpol = Token("WPOL", 18, "polygon", "0x0d500B1d8E8eF31E21C99d1Db9A6444d3ADf1270")
    usdc = Token("USDC", 6, "polygon", "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359")
    quote = Quote(
        dex="uniswap-v3", kind=TradeKind.EXACT_IN, path=(wpol, usdc), fees=(500,), block=1,
        amount_in=10**18, amount_out=500_000, limit=497_500, slippage=Bps(50), deadline=2,
        mid_price=Decimal("0.5"), native_in=True, native="POL",
    )  # fmt: skip
    assert quote.symbols == ("POL", "USDC")
    assert quote.record()["path"] == "POL->USDC"
