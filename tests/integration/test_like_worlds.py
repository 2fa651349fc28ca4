"""Mainnet-shaped worlds: Anvil with Ethereum's (or Base's) chain id and Uniswap, WETH and
the stablecoins at their canonical addresses; the canonical-deployments path end to end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest
from dex_helpers import balance, eth_call

from chainops.core.order import OrderState
from chainops.deployments import UnknownToken, deployment
from chainops.devnet.like import UnknownLikeChain
from chainops.devnet.world import World
from chainops.operators.base import OperatorFactory
from chainops.operators.dapps import DexContext, UniswapV2, UniswapV3, V3Positions
from chainops.operators.evm import EvmOperator

pytestmark = pytest.mark.integration
# The pools a mainnet script finds at these addresses (derived from the canonical factories).
MAINNET_USDC_WETH_V2 = "0xB4e16d0168e52d35CaCD2c6185b44281Ec28C9Dc"
MAINNET_USDC_WETH_V3_500 = "0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640"


@pytest.fixture(params=["ethereum", "base"])
def like(request: pytest.FixtureRequest, devnet_like: Callable[[str], World]) -> World:
    return devnet_like(request.param)


@asynccontextmanager
async def canonical(world: World, index: int = 3) -> AsyncIterator[DexContext]:
    """An operator for the named network and the canonical deployments' address book:
    exactly what a script written for that chain uses."""
    network = deployment(world.chain_id).network
    evm = OperatorFactory.create(
        network, cache=False, rpc_url=world.rpc_url,
        private_key=world.book.accounts[index].private_key,
        confirmations=1,  # the world mines a block a second; one keeps the test short
    )  # fmt: skip
    assert isinstance(evm, EvmOperator)
    async with evm:
        yield DexContext(evm, deployment(network).address_book())


async def test_the_world_looks_like_the_chain(like: World) -> None:
    dep = deployment(like.chain_id)
    assert like.chain_id == dep.chain_id
    for name in ("WETH9", "UniswapV2Router02", "SwapRouter02", "QuoterV2"):
        assert like.anvil.rpc("eth_getCode", [dep.contracts[name], "latest"]) not in ("0x", None)
    for token in dep.tokens:
        (symbol,) = eth_call(like, str(token.address), "symbol()", [], [], ["string"])
        (decimals,) = eth_call(like, str(token.address), "decimals()", [], [], ["uint8"])
        assert (symbol, decimals) == (token.symbol, token.decimals)
    (weth,) = eth_call(like, dep.contracts["SwapRouter02"], "WETH9()", [], [], ["address"])
    assert weth.lower() == dep.contracts["WETH9"].lower()  # immutables point at the canon
    if dep.network == "ethereum":
        pools = {p.address for p in like.book.pools}
        assert {MAINNET_USDC_WETH_V2, MAINNET_USDC_WETH_V3_500} <= pools


async def test_swaps_through_swaprouter02_on_the_canonical_path(like: World) -> None:
    async with canonical(like) as ctx:
        usdc = ctx.token("USDC")
        assert str(usdc.address) == str(deployment(like.chain_id).token("USDC").address)
        with pytest.raises(UnknownToken):
            ctx.token("NOT-A-TOKEN")
        v3 = UniswapV3(ctx)
        assert v3.router_name == "SwapRouter02"
        me, before = ctx.evm.owner, balance(like, "USDC", ctx.evm.owner)
        quote = await v3.quote_exact_in(["ETH", "USDC"], Decimal(2), fee=500)
        assert quote.amount_out == await v3.quoter_exact_in(["WETH", "USDC"], Decimal(2), fee=500)
        order = await (await v3.swap(quote)).wait()
        assert order.state is OrderState.FILLED
        assert balance(like, "USDC", me) - before == quote.amount_out
        back = await v3.quote_exact_out(["USDC", "ETH"], Decimal("0.5"), fee=3000)
        assert (await (await v3.swap(back)).wait()).state is OrderState.FILLED


async def test_positions_and_v2_liquidity_on_the_canonical_path(like: World) -> None:
    async with canonical(like) as ctx:
        lp = V3Positions(ctx)
        plan = await lp.plan_mint(
            "WETH", "USDC", 500, Decimal(1), Decimal(2000), price_range=("1800", "2200")
        )
        _, token_id = await lp.mint(plan)
        position = await lp.position(token_id)
        assert position.liquidity == plan.liquidity and position.in_range
        await lp.close(token_id)
        v2 = UniswapV2(ctx)
        add = await v2.plan_add_liquidity("WETH", "USDC", Decimal(1), Decimal(2000))
        await (await v2.add_liquidity(add)).wait()
        held = await v2.position("WETH", "USDC")
        assert held.liquidity > 0
        remove = await v2.plan_remove_liquidity("WETH", "USDC")
        await (await v2.remove_liquidity(remove)).wait()
        assert (await v2.position("WETH", "USDC")).liquidity == 0


def test_an_unlisted_chain_is_refused() -> None:
    with pytest.raises(UnknownLikeChain, match="choose one of ethereum"):
        World.start(like="solana")


def test_devnet_up_refuses_an_unlisted_chain() -> None:
    from typer.testing import CliRunner

    from chainops.cli.main import app

    result = CliRunner().invoke(app, ["devnet", "up", "--like", "atlantis", "--no-exchange"])
    assert result.exit_code != 0
    assert "choose one of ethereum" in result.output
