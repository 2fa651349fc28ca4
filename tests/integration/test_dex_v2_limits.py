"""Uniswap V2 at the edges: amounts the pair cannot hold (uint112) and trades it cannot
fill are refused with typed errors where the real router would revert."""

from __future__ import annotations

from decimal import Decimal

import pytest
from dex_helpers import dex_context, eth_call
from eth_abi.abi import encode
from eth_utils.crypto import keccak

from chainops.devnet.world import World
from chainops.operators.dapps import AmountOverflow, DustAmount, InsufficientLiquidity, UniswapV2

pytestmark = pytest.mark.integration


def send_as(
    world: World, sender: str, to: str, signature: str, types: list[str], args: list[object]
) -> str:
    data = keccak(text=signature)[:4] + encode(types, args)
    tx = {"from": sender, "to": to, "data": "0x" + data.hex()}
    result: str = world.anvil.rpc("eth_sendTransaction", [tx])
    return result


def call_as(
    world: World, sender: str, to: str, signature: str, types: list[str], args: list[object]
) -> object:
    data = keccak(text=signature)[:4] + encode(types, args)
    tx = {"from": sender, "to": to, "data": "0x" + data.hex()}
    try:
        return world.anvil.rpc("eth_call", [tx, "latest"])
    except Exception as exc:  # the node's revert, whatever its wrapper
        return exc


async def test_an_input_beyond_uint112_is_refused_where_the_pair_reverts(devnet: World) -> None:
    book = devnet.book
    whale = book.accounts[5].address
    dai, weth = book.token("DAI").address, book.token("WETH").address
    router = book.contract("UniswapV2Router02")
    send_as(
        devnet,
        book.accounts[0].address,
        dai,
        "mint(address,uint256)",
        ["address", "uint256"],
        [whale, 2**200],
    )
    send_as(
        devnet, whale, dai, "approve(address,uint256)", ["address", "uint256"], [router, 2**256 - 1]
    )
    async with dex_context(devnet, 5) as ctx:
        v2 = UniswapV2(ctx)
        reserve_dai, reserve_weth = await v2.reserves(ctx.token("DAI"), ctx.token("WETH"))
        ask = reserve_weth - 10**6  # nearly all of the pair's WETH: the input passes 2**112
        (needed,) = eth_call(
            devnet, router, "getAmountsIn(uint256,address[])", ["uint256", "address[]"],
            [ask, [dai, weth]], ["uint256[]"],
        )  # fmt: skip
        assert needed[0] + reserve_dai > 2**112 - 1  # the router answers without a flag ...
        signature = "swapTokensForExactTokens(uint256,uint256,address[],address,uint256)"
        reverted = call_as(
            devnet, whale, router, signature,
            ["uint256", "uint256", "address[]", "address", "uint256"],
            [ask, 2**256 - 1, [dai, weth], whale, 2**40],
        )  # fmt: skip
        assert "OVERFLOW" in str(reverted)  # ... and the pair refuses the swap
        with pytest.raises(AmountOverflow):
            await v2.quote_exact_out(["DAI", "WETH"], ctx.token("WETH").from_raw(ask))
        with pytest.raises(AmountOverflow):
            await v2.quote_exact_in(["DAI", "WETH"], ctx.token("DAI").from_raw(2**112))


async def test_asking_for_more_than_the_pair_holds_or_for_dust(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        v2 = UniswapV2(ctx)
        _, reserve_usdc = await v2.reserves(ctx.token("WETH"), ctx.token("USDC"))
        with pytest.raises(InsufficientLiquidity) as short:
            await v2.quote_exact_out(["WETH", "USDC"], ctx.token("USDC").from_raw(reserve_usdc))
        assert 0 < short.value.amount_out < reserve_usdc
        with pytest.raises(DustAmount):  # one USDC wei buys no WBTC through WETH
            await v2.quote_exact_in(["USDC", "WETH", "WBTC"], Decimal("0.000001"))
