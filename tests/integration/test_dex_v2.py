"""Uniswap V2 on a fork of the devnet world: exact quotes, swaps as Orders, liquidity."""

from __future__ import annotations

from decimal import Decimal

import pytest
from dex_helpers import balance, dex_context, eth_call
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainops.core.errors import (
    InsufficientFunds,
    InvalidAmount,
    SlippageExceeded,
    ValidationError,
)
from chainops.core.order import OrderState
from chainops.devnet.world import World
from chainops.operators.dapps import (
    Erc20,
    SlippageOutOfRange,
    SwapSlippageExceeded,
    UniswapV2,
    UnknownPool,
    UnknownToken,
)

pytestmark = pytest.mark.integration
PATHS = [["WETH", "USDC"], ["USDC", "WETH"], ["WBTC", "WETH", "DAI"], ["USDC", "DAI", "WETH"]]
FIXED = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def router_amounts(world: World, fn: str, amount: int, path: list[str]) -> list[int]:
    router = world.book.contracts["UniswapV2Router02"]
    addresses = [world.book.token(s).address for s in path]
    (amounts,) = eth_call(
        world,
        router,
        f"{fn}(uint256,address[])",
        ["uint256", "address[]"],
        [amount, addresses],
        ["uint256[]"],
    )
    return list(amounts)


@FIXED
@given(path=st.sampled_from(PATHS), units=st.integers(min_value=1, max_value=10**6))
async def test_exact_in_quote_equals_get_amounts_out(
    devnet: World, path: list[str], units: int
) -> None:
    async with dex_context(devnet) as ctx:
        v2 = UniswapV2(ctx)
        token = ctx.token(path[0])
        amount = token.from_raw(units * 10 ** max(token.decimals - 3, 0))
        quote = await v2.quote_exact_in(path, amount)
    assert quote.amount_out == router_amounts(devnet, "getAmountsOut", quote.amount_in, path)[-1]
    assert quote.min_out == quote.amount_out * 9950 // 10000


@FIXED
@given(path=st.sampled_from(PATHS), units=st.integers(min_value=1, max_value=10**5))
async def test_exact_out_quote_equals_get_amounts_in(
    devnet: World, path: list[str], units: int
) -> None:
    async with dex_context(devnet) as ctx:
        v2 = UniswapV2(ctx)
        token = ctx.token(path[-1])
        amount = token.from_raw(units * 10 ** max(token.decimals - 3, 0))
        quote = await v2.quote_exact_out(path, amount)
    assert quote.amount_in == router_amounts(devnet, "getAmountsIn", quote.amount_out, path)[0]
    assert quote.max_in >= quote.amount_in


async def test_swap_is_an_order_whose_fill_equals_balance_changes(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        me = ctx.evm.owner
        before_in, before_out = balance(devnet, "WETH", me), balance(devnet, "USDC", me)
        v2 = UniswapV2(ctx)
        quote = await v2.quote_exact_in(["WETH", "USDC"], Decimal("1.25"), slippage="0.5%")
        order = await v2.swap(quote)
        assert order.execution is not None and order.venue_id is not None
        await order.wait()
    assert order.state is OrderState.FILLED
    (fill,) = order.fills.values()
    assert fill.fill_id.startswith(f"{order.venue_id}:")
    paid = before_in - balance(devnet, "WETH", me)
    got = balance(devnet, "USDC", me) - before_out
    assert ctx.token("WETH").to_raw(fill.base_amount) == paid == quote.amount_in
    assert ctx.token("USDC").to_raw(fill.quote_amount) == got == quote.amount_out
    assert order.network_fee is not None and order.network_fee.amount > 0
    assert order.quote is not None and order.quote["slippage_bps"] == 50


async def test_exact_out_multi_hop_and_eth_in_out(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        me = ctx.evm.owner
        v2 = UniswapV2(ctx)
        before_dai = balance(devnet, "DAI", me)
        quote = await v2.quote_exact_out(["USDC", "WETH", "DAI"], Decimal("150"))
        order = await (await v2.swap(quote)).wait()
        assert balance(devnet, "DAI", me) - before_dai == quote.amount_out
        assert order.state is OrderState.FILLED
        eth_before = await ctx.evm.balance()
        q_in = await v2.quote_exact_in(["ETH", "USDC"], Decimal("0.5"))
        await (await v2.swap(q_in)).wait()
        assert await ctx.evm.balance() < eth_before - Decimal("0.5") + Decimal("0.01")
        q_out = await v2.quote_exact_in(["USDC", "ETH"], Decimal("500"))
        mid = await ctx.evm.balance()
        await (await v2.swap(q_out)).wait()
        assert await ctx.evm.balance() > mid
        q_eth_exact = await v2.quote_exact_out(["ETH", "DAI"], Decimal("10"))
        before_dai = balance(devnet, "DAI", me)
        await (await v2.swap(q_eth_exact)).wait()
        assert balance(devnet, "DAI", me) - before_dai == q_eth_exact.amount_out


@pytest.mark.parametrize(
    "path", [["FOT", "WETH"], ["WETH", "FOT"], ["ETH", "FOT"], ["USDT", "WETH"], ["WETH", "USDT"]]
)
async def test_fee_on_transfer_and_no_bool_tokens_swap(devnet: World, path: list[str]) -> None:
    async with dex_context(devnet) as ctx:
        me = ctx.evm.owner
        v2 = UniswapV2(ctx)
        amount = Decimal("100") if path[0] in ("FOT", "USDT") else Decimal("0.05")
        before = balance(devnet, path[-1], me)
        quote = await v2.quote_exact_in(path, amount)
        order = await (await v2.swap(quote)).wait()
        got = balance(devnet, path[-1], me) - before
    assert order.state is OrderState.FILLED
    assert got >= quote.min_out and got > 0
    if "FOT" in path:
        assert quote.fee_on_transfer
        assert got == quote.amount_out  # the transfer fee is part of the exact quote


@pytest.mark.parametrize("path", [["WETH", "FOT"], ["USDC", "WETH", "FOT"]])
async def test_fill_of_a_fee_on_transfer_output_is_what_arrived(
    devnet: World, path: list[str]
) -> None:
    async with dex_context(devnet) as ctx:
        me = ctx.evm.owner
        v2 = UniswapV2(ctx)
        before = balance(devnet, "FOT", me)
        amount = Decimal("0.05") if path[0] == "WETH" else Decimal(100)
        quote = await v2.quote_exact_in(path, amount)
        order = await (await v2.swap(quote)).wait()
        got = balance(devnet, "FOT", me) - before
    (fill,) = order.fills.values()
    # the pair sends more than arrives: the token burns its fee on the way
    assert ctx.token("FOT").to_raw(fill.quote_amount) == got == quote.amount_out


async def test_price_moved_by_another_account_is_slippage_exceeded(devnet: World) -> None:
    async with dex_context(devnet, 3) as ctx, dex_context(devnet, 4) as other:
        me = ctx.evm.owner
        v2 = UniswapV2(ctx)
        quote = await v2.quote_exact_in(["WETH", "USDC"], Decimal("2"), slippage="0.1%")
        whale = UniswapV2(other)
        await (await whale.swap(await whale.quote_exact_in(["WETH", "USDC"], Decimal("40")))).wait()
        # the allowance is set first, on its own: the swap itself must use no nonce
        router = str(v2.router.address)
        await Erc20(ctx.evm, ctx.token("WETH")).ensure_allowance(router, raw=quote.max_in)
        nonce = await ctx.evm.nonce()
        weth, usdc = balance(devnet, "WETH", me), balance(devnet, "USDC", me)
        with pytest.raises(SwapSlippageExceeded) as info:
            await v2.swap(quote)
        assert await ctx.evm.nonce() == nonce
        assert (balance(devnet, "WETH", me), balance(devnet, "USDC", me)) == (weth, usdc)
        assert info.value.order.state is OrderState.FAILED
        with pytest.raises(SlippageExceeded):  # waiting on the failed order: its typed error
            await info.value.order.wait()


async def test_add_then_remove_liquidity_returns_the_deposit_minus_rounding(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        me = ctx.evm.owner
        v2 = UniswapV2(ctx)
        weth0, usdc0 = balance(devnet, "WETH", me), balance(devnet, "USDC", me)
        plan = await v2.plan_add_liquidity("WETH", "USDC", Decimal("1"), Decimal("2500"))
        assert plan.min_a > 0 and plan.min_b > 0
        await (await v2.add_liquidity(plan)).wait()
        pos = await v2.position("WETH", "USDC")
        assert pos.liquidity > 0 and 0 < pos.share < 1
        removal = await v2.plan_remove_liquidity("WETH", "USDC")
        await (await v2.remove_liquidity(removal)).wait()
        assert (await v2.position("WETH", "USDC")).liquidity == 0
    lost_weth = weth0 - balance(devnet, "WETH", me)
    lost_usdc = usdc0 - balance(devnet, "USDC", me)
    assert 0 <= lost_weth <= 10**6 and 0 <= lost_usdc <= 10  # rounding only, no fees without swaps


async def test_bad_inputs_are_typed_errors_before_sending(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        v2 = UniswapV2(ctx)
        nonce = await ctx.evm.nonce()
        with pytest.raises(UnknownToken):
            await v2.quote_exact_in(["WETH", "NOPE"], Decimal(1))
        with pytest.raises(InvalidAmount):
            await v2.quote_exact_in(["WETH", "USDC"], Decimal(0))
        with pytest.raises(InvalidAmount):
            await v2.quote_exact_in(["WETH", "USDC"], Decimal(-1))
        with pytest.raises(InvalidAmount):
            await v2.quote_exact_in(["USDC", "WETH"], Decimal("1.0000001"))
        with pytest.raises(SlippageOutOfRange):
            await v2.quote_exact_in(["WETH", "USDC"], Decimal(1), slippage="60%")
        forced = await v2.quote_exact_in(["WETH", "USDC"], Decimal(1), slippage="60%", force=True)
        assert forced.slippage.value == 6000
        with pytest.raises(ValidationError):
            await v2.quote_exact_in(["WETH", "USDC"], Decimal(1), deadline=1)
        with pytest.raises(UnknownPool):
            await v2.quote_exact_in(["WBTC", "DAI"], Decimal(1))  # no V2 pair in the world
        big = await v2.quote_exact_in(["WBTC", "WETH"], Decimal(50))  # holds ~2.5 WBTC
        with pytest.raises(InsufficientFunds):
            await v2.swap(big)
        assert await ctx.evm.nonce() == nonce


async def test_fee_on_transfer_token_into_eth(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        v2 = UniswapV2(ctx)
        quote = await v2.quote_exact_in(["FOT", "ETH"], Decimal(500))
        router = str(v2.router.address)
        await Erc20(ctx.evm, ctx.token("FOT")).ensure_allowance(router, raw=quote.max_in)
        eth = await ctx.evm.balance()
        order = await (await v2.swap(quote)).wait()
        assert order.network_fee is not None
        got = await ctx.evm.balance() - eth + order.network_fee.amount
        assert ctx.token("WETH").to_raw(got) == quote.amount_out and quote.fee_on_transfer


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pair=st.sampled_from([("WETH", "USDC"), ("USDC", "DAI"), ("WBTC", "WETH")]),
    push=st.integers(1, 60),
    sell_first=st.booleans(),
    units=st.integers(1, 10**6),
)
async def test_quotes_equal_the_router_in_random_pool_states(
    devnet: World, pair: tuple[str, str], push: int, sell_first: bool, units: int
) -> None:
    """A random swap moves the reserves (examples accumulate on the module's fork), then
    quotes both ways equal the router's getAmountsOut / getAmountsIn."""
    a, b = pair
    async with dex_context(devnet, 6) as other, dex_context(devnet) as ctx:
        trader, v2 = UniswapV2(other), UniswapV2(ctx)
        sell = [a, b] if sell_first else [b, a]
        token = other.token(sell[0])
        size = token.from_raw(push * 10 ** max(token.decimals - 2, 0))
        await (await trader.swap(await trader.quote_exact_in(sell, size))).wait()
        for path in ([a, b], [b, a]):
            first = ctx.token(path[0])
            amount = first.from_raw(units * 10 ** max(first.decimals - 4, 0))
            quote = await v2.quote_exact_in(path, amount)
            raw_in = quote.amount_in
            assert quote.amount_out == router_amounts(devnet, "getAmountsOut", raw_in, path)[-1]
            last = ctx.token(path[-1])
            want = last.from_raw(max(1, quote.amount_out // 3))
            exact_out = await v2.quote_exact_out(path, want)
            wanted = exact_out.amount_out
            assert exact_out.amount_in == router_amounts(devnet, "getAmountsIn", wanted, path)[0]
