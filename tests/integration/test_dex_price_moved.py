"""A swap whose price moved past its minimum before its token was approved: refused
before anything is sent, the approval included (its gas would be spent for nothing)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from dex_helpers import balance, dex_context

from chainops.core.errors import SlippageExceeded
from chainops.core.order import OrderState
from chainops.devnet.world import World
from chainops.operators.dapps import (
    Erc20,
    SwapSlippageExceeded,
    UniswapMixed,
    UniswapV2,
    UniswapV3,
)

pytestmark = pytest.mark.integration

VENUES: dict[str, tuple[type[Any], dict[str, Any]]] = {
    "v2": (UniswapV2, {}),
    "v3": (UniswapV3, {"fee": 10000}),
}


@pytest.mark.parametrize("venue", sorted(VENUES))
@pytest.mark.parametrize("exact_out", [False, True])
async def test_a_moved_price_is_refused_before_the_approval(
    devnet: World, venue: str, exact_out: bool
) -> None:
    kind, options = VENUES[venue]
    async with dex_context(devnet, 7) as ctx, dex_context(devnet, 8) as other:
        me, mine, whale = ctx.evm.owner, kind(ctx), kind(other)
        if exact_out:
            quote = await mine.quote_exact_out(
                ["WETH", "DAI"], Decimal(1000), slippage="0.1%", **options
            )
        else:
            quote = await mine.quote_exact_in(
                ["WETH", "DAI"], Decimal("0.5"), slippage="0.1%", **options
            )
        router = str(mine.router.address)
        assert await Erc20(ctx.evm, ctx.token("WETH")).allowance_raw(router) < quote.max_in
        moved = await whale.quote_exact_in(["WETH", "DAI"], Decimal(40), **options)
        await (await whale.swap(moved)).wait()
        nonce = await ctx.evm.nonce()
        weth = balance(devnet, "WETH", me)
        with pytest.raises(SwapSlippageExceeded, match="nothing was sent") as info:
            await mine.swap(quote)
        assert await ctx.evm.nonce() == nonce  # not even the approval went out
        assert await Erc20(ctx.evm, ctx.token("WETH")).allowance_raw(router) < quote.max_in
        assert balance(devnet, "WETH", me) == weth
        order = info.value.order
        assert order is not None and order.state is OrderState.FAILED
        with pytest.raises(SlippageExceeded):
            await order.wait()


async def test_an_unmoved_price_still_approves_and_fills(devnet: World) -> None:
    async with dex_context(devnet, 7) as ctx:
        v3 = UniswapV3(ctx)
        quote = await v3.quote_exact_in(["USDC", "DAI"], Decimal(500), fee=100)
        order = await (await v3.swap(quote)).wait()
        assert order.state is OrderState.FILLED


async def test_a_mixed_route_is_checked_too(devnet: World) -> None:
    async with dex_context(devnet, 9) as ctx, dex_context(devnet, 8) as other:
        mixed = UniswapMixed(ctx, UniswapV2(ctx), UniswapV3(ctx, router="SwapRouter02"))
        hops = [("v2", 3000), ("v3", 100)]
        quote = await mixed.quote_exact_in(
            ["WETH", "USDC", "DAI"], Decimal(1), hops=hops, slippage="0.1%"
        )
        whale = UniswapV2(other)
        await (await whale.swap(await whale.quote_exact_in(["WETH", "USDC"], Decimal(40)))).wait()
        nonce = await ctx.evm.nonce()
        with pytest.raises(SwapSlippageExceeded, match="nothing was sent"):
            await mixed.swap(quote)
        assert await ctx.evm.nonce() == nonce


@pytest.mark.parametrize("venue", sorted(VENUES))
async def test_an_exact_output_approved_to_its_maximum_reports_the_moved_price(
    devnet: World, venue: str
) -> None:
    """Approved exactly ``max_in``, a dearer exact-output swap fails at the token's
    transferFrom (V3: "STF") before the router's own check: still a slippage refusal."""
    kind, options = VENUES[venue]
    async with dex_context(devnet, 5) as ctx, dex_context(devnet, 6) as other:
        mine, whale = kind(ctx), kind(other)
        quote = await mine.quote_exact_out(
            ["WETH", "DAI"], Decimal(1000), slippage="0.1%", **options
        )
        erc = Erc20(ctx.evm, ctx.token("WETH"))
        await erc.ensure_allowance(str(mine.router.address), raw=quote.max_in)
        await (
            await whale.swap(await whale.quote_exact_in(["WETH", "DAI"], Decimal(40), **options))
        ).wait()
        nonce = await ctx.evm.nonce()
        with pytest.raises(SwapSlippageExceeded):
            await mine.swap(quote)
        assert await ctx.evm.nonce() == nonce
