"""Uniswap V3 positions on a fork of the devnet world: ranges, mint, fees, collect, close."""

from __future__ import annotations

from decimal import Decimal

import pytest
from dex_helpers import balance, dex_context
from eth_utils.crypto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainops.core.errors import InsufficientFunds, NotFound, ValidationError
from chainops.devnet.world import World
from chainops.operators.dapps import InvalidTickRange, UniswapV3, V3Positions

pytestmark = pytest.mark.integration


async def test_mint_swap_through_collect_fees_equal_owed_then_close(devnet: World) -> None:
    async with dex_context(devnet, 3) as ctx, dex_context(devnet, 6) as trader:
        me = ctx.evm.owner
        lp = V3Positions(ctx)
        plan = await lp.plan_mint(
            "WETH", "USDC", 500, Decimal(5), Decimal(10_000), price_range=("1900", "2100")
        )
        assert all(m > 0 for m in plan.minimum)
        _, token_id = await lp.mint(plan)
        (listed,) = await lp.positions()
        assert (
            listed.token_id == token_id and listed.in_range and listed.liquidity == plan.liquidity
        )
        assert listed.price_lower <= Decimal(1900) and listed.price_upper >= Decimal(2100)
        v3 = UniswapV3(trader)
        for path, amount in ((["ETH", "USDC"], Decimal(20)), (["USDC", "WETH"], Decimal(30_000))):
            await (await v3.swap(await v3.quote_exact_in(path, amount, fee=500))).wait()
        owed = await lp.position(token_id)
        assert owed.fees0 > 0 and owed.fees1 > 0
        t0, t1 = owed.token0, owed.token1
        b0, b1 = balance(devnet, t0.symbol, me), balance(devnet, t1.symbol, me)
        await (await lp.collect(token_id)).wait()
        assert balance(devnet, t0.symbol, me) - b0 == t0.to_raw(owed.fees0)
        assert balance(devnet, t1.symbol, me) - b1 == t1.to_raw(owed.fees1)
        after = await lp.position(token_id)
        assert after.fees0 == 0 and after.fees1 == 0
        await lp.close(token_id)
        assert await lp.positions() == []


async def test_v3_add_then_remove_returns_the_deposit_minus_rounding(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        me = ctx.evm.owner
        lp = V3Positions(ctx)
        weth, usdc = balance(devnet, "WETH", me), balance(devnet, "USDC", me)
        plan = await lp.plan_mint(
            "WETH", "USDC", 3000, Decimal(2), Decimal(4000), price_range=("1500", "2600")
        )
        _, token_id = await lp.mint(plan)
        increase = await lp.plan_increase(token_id, Decimal(1), Decimal(2000))
        await (await lp.increase(increase)).wait()
        assert (await lp.position(token_id)).liquidity == plan.liquidity + increase.liquidity
        await lp.close(token_id)
    assert 0 <= weth - balance(devnet, "WETH", me) <= 4
    assert 0 <= usdc - balance(devnet, "USDC", me) <= 4


async def test_mint_minimum_is_never_zero_for_a_side_the_range_takes(devnet: World) -> None:
    async with dex_context(devnet, 3) as ctx:
        lp = V3Positions(ctx)
        plan = await lp.plan_mint(
            "WETH", "USDC", 500, Decimal(1), Decimal("0.000001"), price_range=("1800", "2200")
        )
        assert plan.expected[1] == 1  # one raw unit of USDC is taken
        assert plan.minimum[1] == 1  # not 0: a moved price is refused, never absorbed
        _, token_id = await lp.mint(plan)
        assert (await lp.position(token_id)).liquidity == plan.liquidity


async def test_one_sided_range_and_tick_conversions(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        lp = V3Positions(ctx)
        lower, upper = lp.ticks_for_range("WETH", "USDC", 500, "2500", "3000")
        assert lower % 10 == 0 and upper % 10 == 0 and lower < upper
        # Above the price, a WETH/USDC range holds only WETH.
        plan = await lp.plan_mint("WETH", "USDC", 500, Decimal(1), 0, price_range=("2500", "3000"))
        weth_side = 0 if plan.token0.symbol == "WETH" else 1
        assert plan.expected[weth_side] > 0 and plan.expected[1 - weth_side] == 0
        _, token_id = await lp.mint(plan)
        assert not (await lp.position(token_id)).in_range


async def test_position_bad_inputs(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        lp = V3Positions(ctx)
        nonce = await ctx.evm.nonce()
        with pytest.raises(InvalidTickRange):
            await lp.plan_mint("WETH", "USDC", 500, 1, 2000, ticks=(-200000, -200100))
        with pytest.raises(InvalidTickRange):
            await lp.plan_mint("WETH", "USDC", 500, 1, 2000, ticks=(-200005, -199000))
        with pytest.raises(InvalidTickRange):
            await lp.plan_mint("WETH", "USDC", 500, 1, 2000, price_range=("2100", "1900"))
        with pytest.raises(ValidationError):
            await lp.plan_mint("WETH", "USDC", 777, 1, 2000, price_range=("1900", "2100"))
        with pytest.raises(ValidationError):
            await lp.plan_mint("WETH", "USDC", 500, 1, 2000)
        big = await lp.plan_mint("WETH", "USDC", 500, 1000, 2_000_000, price_range=("1900", "2100"))
        with pytest.raises(InsufficientFunds):
            await lp.mint(big)
        with pytest.raises(NotFound):
            await lp.position(10**9)
        assert await ctx.evm.nonce() == nonce


INCREASE = "0x" + keccak(text="IncreaseLiquidity(uint256,uint128,uint256,uint256)").hex()


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pool=st.sampled_from([("WETH", "USDC", 500), ("WETH", "USDC", 3000), ("USDC", "DAI", 100)]),
    low=st.integers(1, 400),
    high=st.integers(1, 400),
    side=st.sampled_from(["both", "below", "above"]),
    wei=st.integers(1, 10**6),
)
async def test_planned_amounts_equal_what_the_manager_takes(
    devnet: World, pool: tuple[str, str, int], low: int, high: int, side: str, wei: int
) -> None:
    a, b, fee = pool
    async with dex_context(devnet) as ctx:
        lp = V3Positions(ctx)
        state = await lp.v3.pool(a, b, fee, ticks=False)
        spacing = state.tick_spacing
        centre = state.tick // spacing * spacing
        lower, upper = {
            "both": (centre - low * spacing, centre + high * spacing),
            "below": (centre - (low + high) * spacing, centre - low * spacing),
            "above": (centre + low * spacing, centre + (low + high) * spacing),
        }[side]
        amount_a = Decimal(1) + Decimal(wei) / 10**6 if a == "WETH" else Decimal(1000 + wei % 1000)
        amount_b = Decimal(3000) + Decimal(wei) / 10**6
        plan = await lp.plan_mint(a, b, fee, amount_a, amount_b, ticks=(lower, upper))
        tx, _ = await lp.mint(plan)
        receipt = await ctx.receipt(tx)
        (log,) = [x for x in receipt["logs"] if x["topics"][0] == INCREASE]
        data = bytes.fromhex(log["data"][2:])
        liquidity, taken0, taken1 = (int.from_bytes(data[i : i + 32], "big") for i in (0, 32, 64))
        assert liquidity == plan.liquidity
        assert (taken0, taken1) == plan.expected
