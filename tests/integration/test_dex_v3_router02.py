"""Uniswap V3 swaps through SwapRouter02 (deadline in multicall) on a fork of the devnet."""

from __future__ import annotations

from decimal import Decimal

import pytest
from dex_helpers import balance, dex_context
from eth_utils.crypto import keccak

from chainops.core.addressbook import AddressBook
from chainops.core.errors import ConfigurationError, ValidationError
from chainops.core.order import OrderState
from chainops.devnet.world import World
from chainops.operators.dapps import DexContext, Erc20, SwapSlippageExceeded, UniswapV3
from chainops.operators.dapps.uniswap.v3.routers import choose_router

pytestmark = pytest.mark.integration
R02 = "SwapRouter02"
MULTICALL_DEADLINE = keccak(text="multicall(uint256,bytes[])")[:4]


def test_router_choice_follows_the_address_book() -> None:
    assert choose_router(None, {"SwapRouter": "0x1", R02: "0x2"}) == "SwapRouter"
    assert choose_router(None, {R02: "0x2"}) == R02
    assert choose_router(R02, {"SwapRouter": "0x1"}) == R02
    with pytest.raises(ValidationError):
        choose_router("UniversalRouter", {R02: "0x2"})


async def test_router02_is_chosen_where_the_book_has_only_it(devnet: World) -> None:
    data = devnet.book.to_dict()
    data["contracts"].pop("SwapRouter")
    async with dex_context(devnet) as ctx:
        v3 = UniswapV3(DexContext(ctx.evm, AddressBook.from_dict(data)))
        assert v3.router_name == R02
        assert str(v3.router.address).lower() == devnet.book.contract(R02).lower()
        assert UniswapV3(ctx).router_name == "SwapRouter"  # the devnet has both
        data["contracts"].pop(R02)
        with pytest.raises(ConfigurationError):
            UniswapV3(DexContext(ctx.evm, AddressBook.from_dict(data)))


async def test_router02_swaps_equal_quotes_and_fill_the_order(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        me = ctx.evm.owner
        v3 = UniswapV3(ctx, router=R02)
        cases = [
            ("in", ["WETH", "USDC"], 500, Decimal("3")),
            ("in", ["USDC", "WETH"], 500, Decimal("4000")),
            ("out", ["USDC", "WETH"], 3000, Decimal("1.5")),
            ("out", ["WETH", "USDC"], 500, Decimal("2500")),
            ("in", ["WBTC", "WETH", "USDC"], [3000, 500], Decimal("0.1")),
            ("out", ["DAI", "WETH", "USDC"], [10000, 500], Decimal("1000")),
        ]
        for kind, path, fee, amount in cases:
            before_in, before_out = balance(devnet, path[0], me), balance(devnet, path[-1], me)
            if kind == "in":
                quote = await v3.quote_exact_in(path, amount, fee=fee)
            else:
                quote = await v3.quote_exact_out(path, amount, fee=fee)
            request = v3.build_swap(quote, me)
            assert request.data[:4] == MULTICALL_DEADLINE
            order = await (await v3.swap(quote)).wait()
            assert order.state is OrderState.FILLED
            (fill,) = order.fills.values()
            assert fill.fill_id.startswith(str(order.venue_id))
            paid = before_in - balance(devnet, path[0], me)
            got = balance(devnet, path[-1], me) - before_out
            assert (paid, got) == (quote.amount_in, quote.amount_out)
            base, counter = (path[0], path[-1]) if kind == "in" else (path[-1], path[0])
            base_raw, counter_raw = (paid, got) if kind == "in" else (got, paid)
            assert ctx.token(base).to_raw(fill.base_amount) == base_raw
            assert ctx.token(counter).to_raw(fill.quote_amount) == counter_raw


async def test_router02_eth_in_and_out(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        me = ctx.evm.owner
        v3 = UniswapV3(ctx, router=R02)
        weth = ctx.token("WETH")
        cases = [
            ("out", ["ETH", "USDC"], 500, Decimal("1000")),  # refundETH returns the rest
            ("in", ["ETH", "USDC"], 500, Decimal("0.5")),
            ("in", ["USDC", "ETH"], 500, Decimal("2000")),  # unwrapWETH9 pays the ETH
            ("out", ["DAI", "USDC", "ETH"], [100, 500], Decimal("0.25")),
            ("in", ["ETH", "USDC", "DAI"], [500, 100], Decimal("0.2")),
        ]
        for kind, path, fee, amount in cases:
            if kind == "in":
                quote = await v3.quote_exact_in(path, amount, fee=fee)
            else:
                quote = await v3.quote_exact_out(path, amount, fee=fee)
            token = path[-1] if path[0] == "ETH" else path[0]
            if path[0] != "ETH":  # approve first: the ETH balance below then pays one gas fee
                await Erc20(ctx.evm, ctx.token(token)).ensure_allowance(
                    str(v3.router.address), raw=quote.max_in
                )
            tokens = balance(devnet, token, me)
            eth = await ctx.evm.balance()
            order = await (await v3.swap(quote)).wait()
            assert order.state is OrderState.FILLED
            gas = order.network_fee.amount if order.network_fee else Decimal(0)
            moved = abs(balance(devnet, token, me) - tokens)
            if path[0] == "ETH":
                assert moved == quote.amount_out
                assert eth - await ctx.evm.balance() - gas == weth.from_raw(quote.amount_in)
            else:
                assert moved == quote.amount_in
                assert await ctx.evm.balance() - eth + gas == weth.from_raw(quote.amount_out)
            assert balance(devnet, "WETH", str(v3.router.address)) == 0


async def test_router02_slippage_exceeded_before_a_nonce(devnet: World) -> None:
    async with dex_context(devnet, 3) as ctx, dex_context(devnet, 5) as other:
        v3 = UniswapV3(ctx, router=R02)
        sell = await v3.quote_exact_in(["WETH", "USDC"], Decimal("1"), fee=500, slippage="0.1%")
        buy = await v3.quote_exact_out(["ETH", "USDC"], Decimal(1000), fee=500, slippage="0.1%")
        whale = UniswapV3(other, router=R02)
        await (
            await whale.swap(await whale.quote_exact_in(["ETH", "USDC"], Decimal(200), fee=500))
        ).wait()
        router = str(v3.router.address)
        await Erc20(ctx.evm, ctx.token("WETH")).ensure_allowance(router, raw=sell.max_in)
        nonce = await ctx.evm.nonce()
        weth = balance(devnet, "WETH", ctx.evm.owner)
        eth = await ctx.evm.balance()
        for quote in (sell, buy):
            with pytest.raises(SwapSlippageExceeded) as caught:
                await v3.swap(quote)
            order = caught.value.order
            assert order.state is OrderState.FAILED
        assert await ctx.evm.nonce() == nonce
        assert balance(devnet, "WETH", ctx.evm.owner) == weth
        assert await ctx.evm.balance() == eth


async def test_router02_refuses_a_v2_quote_and_a_past_deadline(devnet: World) -> None:
    from chainops.operators.dapps import UniswapV2

    async with dex_context(devnet) as ctx:
        v3 = UniswapV3(ctx, router=R02)
        v2_quote = await UniswapV2(ctx).quote_exact_in(["WETH", "USDC"], Decimal(1))
        with pytest.raises(ValidationError):
            await v3.swap(v2_quote)
        with pytest.raises(ValidationError):
            await v3.quote_exact_in(["WETH", "USDC"], Decimal(1), fee=500, deadline=1_000)
