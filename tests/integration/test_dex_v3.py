"""Uniswap V3 on a fork of the devnet world: offline quotes equal QuoterV2, swaps as Orders."""

from __future__ import annotations

from decimal import Decimal

import pytest
from dex_helpers import balance, dex_context
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chainops.core.errors import InvalidAmount, SlippageExceeded, ValidationError
from chainops.core.order import OrderState
from chainops.devnet.world import World
from chainops.operators.dapps import Erc20, UniswapV3, UnknownPool

pytestmark = pytest.mark.integration
FIXED = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@example(weth=500, direction=True, wei=1)  # crosses both concentrated ranges' edges
@example(weth=500, direction=False, wei=1)
@FIXED
@given(
    weth=st.integers(min_value=100, max_value=500),
    direction=st.booleans(),
    wei=st.integers(0, 10**18 - 1),
)
async def test_offline_exact_in_equals_quoter_across_ticks(
    devnet: World, weth: int, direction: bool, wei: int
) -> None:
    async with dex_context(devnet) as ctx:
        v3 = UniswapV3(ctx)
        if direction:
            path, amount = ["WETH", "USDC"], Decimal(weth) + Decimal(wei) / 10**18
        else:
            path, amount = ["USDC", "WETH"], Decimal(weth * 2000) + Decimal(wei % 10**6) / 10**6
        quote = await v3.quote_exact_in(path, amount, fee=500)
        assert quote.amount_out == await v3.quoter_exact_in(path, amount, fee=500)


@pytest.mark.parametrize("sell", ["WETH", "USDC"])
async def test_large_swaps_cross_several_initialized_ticks(devnet: World, sell: str) -> None:
    async with dex_context(devnet) as ctx:
        state = await UniswapV3(ctx).pool("WETH", "USDC", 500)
        token = ctx.token(sell)
        zero_for_one = str(token.address).lower() == state.token0.lower()
        amount = token.to_raw(Decimal(500) if sell == "WETH" else Decimal(1_000_000))
        result = state.swap(zero_for_one, amount)
    assert result.ticks_crossed >= 2


@FIXED
@given(usdc=st.integers(min_value=1, max_value=900_000), direction=st.booleans())
async def test_offline_exact_out_equals_quoter(devnet: World, usdc: int, direction: bool) -> None:
    async with dex_context(devnet) as ctx:
        v3 = UniswapV3(ctx)
        if direction:
            path, amount = ["WETH", "USDC"], Decimal(usdc)
        else:
            path, amount = ["USDC", "WETH"], Decimal(usdc) / 2000
        quote = await v3.quote_exact_out(path, amount, fee=500)
        assert quote.amount_in == await v3.quoter_exact_out(path, amount, fee=500)


@pytest.mark.parametrize(
    ("path", "fees", "amount"),
    [
        (["WBTC", "WETH", "USDC"], [3000, 3000], Decimal("3")),
        (["USDC", "DAI"], [100], Decimal("700000")),  # crosses the narrow stable range
        (["DAI", "WETH", "USDC"], [10000, 500], Decimal("50000")),
    ],
)
async def test_multi_hop_quotes_equal_quoter(
    devnet: World, path: list[str], fees: list[int], amount: Decimal
) -> None:
    async with dex_context(devnet) as ctx:
        v3 = UniswapV3(ctx)
        quote = await v3.quote_exact_in(path, amount, fee=fees)
        assert quote.amount_out == await v3.quoter_exact_in(path, amount, fee=fees)
        out = ctx.token(path[-1]).from_raw(quote.amount_out // 2)
        back = await v3.quote_exact_out(path, out, fee=fees)
        assert back.amount_in == await v3.quoter_exact_out(path, out, fee=fees)


async def test_v3_swaps_fill_equal_balance_changes(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        me = ctx.evm.owner
        v3 = UniswapV3(ctx)
        cases = [
            ("in", ["WETH", "USDC"], 500, Decimal("3")),
            ("out", ["USDC", "WETH"], 3000, Decimal("1.5")),
            ("in", ["WBTC", "WETH", "USDC"], [3000, 500], Decimal("0.1")),
            ("out", ["DAI", "WETH", "USDC"], [10000, 500], Decimal("1000")),
        ]
        for kind, path, fee, amount in cases:
            before_in, before_out = balance(devnet, path[0], me), balance(devnet, path[-1], me)
            if kind == "in":
                quote = await v3.quote_exact_in(path, amount, fee=fee)
            else:
                quote = await v3.quote_exact_out(path, amount, fee=fee)
            order = await (await v3.swap(quote)).wait()
            assert order.state is OrderState.FILLED
            (fill,) = order.fills.values()
            paid = before_in - balance(devnet, path[0], me)
            got = balance(devnet, path[-1], me) - before_out
            assert (paid, got) == (quote.amount_in, quote.amount_out)
            base, counter = (path[0], path[-1]) if kind == "in" else (path[-1], path[0])
            base_raw, counter_raw = (paid, got) if kind == "in" else (got, paid)
            assert ctx.token(base).to_raw(fill.base_amount) == base_raw
            assert ctx.token(counter).to_raw(fill.quote_amount) == counter_raw


async def test_v3_eth_in_and_out(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        me = ctx.evm.owner
        v3 = UniswapV3(ctx)
        usdc = balance(devnet, "USDC", me)
        q = await v3.quote_exact_out(["ETH", "USDC"], Decimal("1000"), fee=500)
        await (await v3.swap(q)).wait()
        assert balance(devnet, "USDC", me) - usdc == q.amount_out
        q2 = await v3.quote_exact_in(["USDC", "ETH"], Decimal("2000"), fee=500)
        await Erc20(ctx.evm, ctx.token("USDC")).ensure_allowance(
            str(v3.router.address), raw=q2.max_in
        )
        eth = await ctx.evm.balance()
        order = await (await v3.swap(q2)).wait()
        fee = order.network_fee.amount if order.network_fee else Decimal(0)
        assert await ctx.evm.balance() == eth + ctx.token("WETH").from_raw(q2.amount_out) - fee


async def test_v3_price_moved_is_slippage_exceeded_before_a_nonce(devnet: World) -> None:
    async with dex_context(devnet, 3) as ctx, dex_context(devnet, 5) as other:
        v3 = UniswapV3(ctx)
        quote = await v3.quote_exact_in(["WETH", "USDC"], Decimal("1"), fee=500, slippage="0.1%")
        whale = UniswapV3(other)
        await (
            await whale.swap(await whale.quote_exact_in(["ETH", "USDC"], Decimal(200), fee=500))
        ).wait()
        router = str(v3.router.address)
        await Erc20(ctx.evm, ctx.token("WETH")).ensure_allowance(router, raw=quote.max_in)
        nonce = await ctx.evm.nonce()
        weth = balance(devnet, "WETH", ctx.evm.owner)
        with pytest.raises(SlippageExceeded):
            await v3.swap(quote)
        assert await ctx.evm.nonce() == nonce
        assert balance(devnet, "WETH", ctx.evm.owner) == weth


async def test_v3_bad_inputs(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        v3 = UniswapV3(ctx)
        with pytest.raises(UnknownPool):
            await v3.quote_exact_in(["WBTC", "USDC"], Decimal(1), fee=500)
        with pytest.raises(UnknownPool):  # a path through a missing pool
            await v3.quote_exact_in(["WBTC", "DAI", "USDC"], Decimal(1), fee=[3000, 100])
        with pytest.raises(ValidationError):
            await v3.quote_exact_in(["WETH", "USDC"], Decimal(1), fee=[500, 500])
        with pytest.raises(InvalidAmount):
            await v3.quote_exact_in(["WETH", "USDC"], Decimal("-1"), fee=500)
        with pytest.raises(ValidationError):  # a deadline in the past
            await v3.quote_exact_in(["WETH", "USDC"], Decimal(1), fee=500, deadline=1_000)
        with pytest.raises(ValidationError):  # more than the pool holds
            await v3.quote_exact_out(["WETH", "USDC"], Decimal(10**9), fee=500)


async def test_quotes_stay_exact_after_the_price_moves_far(devnet: World) -> None:
    async with dex_context(devnet, 3) as ctx, dex_context(devnet, 5) as other:
        v3, whale = UniswapV3(ctx), UniswapV3(other)
        path = ["USDC", "DAI"]  # spacing 1: a big move leaves the tick words read before
        first = await v3.quote_exact_in(path, Decimal(1000), fee=100)
        assert first.amount_out == await v3.quoter_exact_in(path, Decimal(1000), fee=100)
        moved = await whale.quote_exact_in(path, Decimal(90_000), fee=100)
        await (await whale.swap(moved)).wait()
        second = await v3.quote_exact_in(path, Decimal(1000), fee=100)
        assert second.amount_out == await v3.quoter_exact_in(path, Decimal(1000), fee=100)
        assert second.amount_out < first.amount_out
