"""The DEX operators on every local node users run: the devnet world deployed onto Anvil,
Hardhat and Ganache, then swapped through (V2, V3, a routed fee-on-transfer sale) and
provided to (a V3 position minted, its fees collected, closed), read back through the node.

One node and one deployment per module and node; each test uses its own account.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import pytest
from eth_abi.abi import decode, encode
from eth_utils.crypto import keccak

from chainops.core.addressbook import AddressBook
from chainops.core.order import OrderState
from chainops.devnet.deploy import deploy_world
from chainops.devnet.node import LocalNode
from chainops.operators.base import OperatorFactory
from chainops.operators.dapps import (
    DexContext,
    Erc20,
    SwapSlippageExceeded,
    UniswapRoutes,
    UniswapV2,
    UniswapV3,
    V3Positions,
)
from chainops.operators.evm import EvmOperator
from chainops.testing.failures import in_one_line
from chainops.testing.nodes import NODE_KINDS, start_node

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=NODE_KINDS)
def world(request: pytest.FixtureRequest) -> Iterator[tuple[LocalNode[Any], AddressBook]]:
    with in_one_line():
        node = start_node(str(request.param))
    try:
        yield node, deploy_world(node)
    finally:
        node.stop()


@asynccontextmanager
async def dex(world: tuple[LocalNode[Any], AddressBook], index: int) -> AsyncIterator[DexContext]:
    node, book = world
    evm = OperatorFactory.create(
        "devnet", cache=False, rpc_url=node.url, private_key=book.accounts[index].private_key
    )
    assert isinstance(evm, EvmOperator)
    async with evm:
        yield DexContext(evm, book)


def held(world: tuple[LocalNode[Any], AddressBook], symbol: str, owner: str) -> int:
    """``balanceOf`` read with plain eth_abi through the node (none of our decoding)."""
    node, book = world
    data = keccak(text="balanceOf(address)")[:4] + encode(["address"], [owner])
    call = {"to": book.token(symbol).address, "data": "0x" + data.hex()}
    raw = node.rpc("eth_call", [call, "latest"])
    return int(decode(["uint256"], bytes.fromhex(raw[2:]))[0])


async def test_v2_and_v3_swaps_fill_their_quotes(world: Any) -> None:
    async with dex(world, 2) as ctx:
        me = ctx.evm.owner
        venues: list[tuple[UniswapV2 | UniswapV3, dict[str, Any]]] = [
            (UniswapV2(ctx), {}),
            (UniswapV3(ctx), {"fee": 500}),
        ]
        for venue, options in venues:
            quote = await venue.quote_exact_in(["WETH", "USDC"], Decimal("0.5"), **options)
            before = held(world, "USDC", me)
            order = await (await venue.swap(quote)).wait()
            assert order.state is OrderState.FILLED, venue.dex
            # nothing else trades here: the fill is the quote to the unit
            assert held(world, "USDC", me) - before == quote.amount_out, venue.dex


@pytest.mark.parametrize("protocol", ["v2", "v3"])
async def test_a_price_moved_past_the_minimum_is_refused_before_sending(
    world: Any, protocol: str
) -> None:
    """Each node words a revert its own way: the simulation still names the slippage."""
    me, whale = (3, 4) if protocol == "v2" else (8, 9)
    async with dex(world, me) as ctx, dex(world, whale) as other:
        venue: UniswapV2 | UniswapV3
        mover: UniswapV2 | UniswapV3
        options: dict[str, Any] = {} if protocol == "v2" else {"fee": 3000}
        venue, mover = (
            (UniswapV2(ctx), UniswapV2(other))
            if protocol == "v2"
            else (UniswapV3(ctx), UniswapV3(other))
        )
        quote = await venue.quote_exact_in(["WETH", "USDC"], Decimal(1), slippage="0.1%", **options)
        big = await mover.quote_exact_in(["WETH", "USDC"], Decimal(30), **options)
        await (await mover.swap(big)).wait()
        # the allowance first, on its own: the refused swap itself must use no nonce
        router = str(venue.router.address)
        await Erc20(ctx.evm, ctx.token("WETH")).ensure_allowance(router, raw=quote.max_in)
        nonce = await ctx.evm.nonce()
        usdc = held(world, "USDC", ctx.evm.owner)
        with pytest.raises(SwapSlippageExceeded) as info:
            await venue.swap(quote)
        assert await ctx.evm.nonce() == nonce  # nothing was sent
        assert held(world, "USDC", ctx.evm.owner) == usdc
        failed = info.value.order
        assert failed is not None and failed.state is OrderState.FAILED


async def test_a_fee_on_transfer_sale_is_routed_and_filled(world: Any) -> None:
    async with dex(world, 5) as ctx:
        me = ctx.evm.owner
        quote = await UniswapRoutes(ctx).best_quote("FOT", "USDC", Decimal(50), gas_price=10**9)
        assert quote.fee_on_transfer
        before = held(world, "USDC", me)
        order = await (await UniswapRoutes(ctx).swap(quote)).wait()
        assert order.state is OrderState.FILLED
        assert held(world, "USDC", me) - before >= quote.min_out


async def test_a_v3_position_earns_collects_and_closes(world: Any) -> None:
    async with dex(world, 6) as ctx, dex(world, 7) as trader:
        lp = V3Positions(ctx)
        plan = await lp.plan_mint(
            "WETH", "USDC", 500, Decimal(2), Decimal(4000), price_range=("1800", "2200")
        )
        _, token_id = await lp.mint(plan)
        v3 = UniswapV3(trader)
        for path, amount in ((["WETH", "USDC"], Decimal(5)), (["USDC", "WETH"], Decimal(9000))):
            await (await v3.swap(await v3.quote_exact_in(path, amount, fee=500))).wait()
        owed = await lp.position(token_id)
        assert owed.fees0 > 0 and owed.fees1 > 0
        t0 = owed.token0
        before = held(world, t0.symbol, ctx.evm.owner)
        await (await lp.collect(token_id)).wait()
        assert held(world, t0.symbol, ctx.evm.owner) - before == t0.to_raw(owed.fees0)
        await lp.close(token_id)
        assert await lp.positions() == []
