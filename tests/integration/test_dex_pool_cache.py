"""The pool-state cache: warm quotes make no request, logs keep states exact, a reorg
drops them; every quote still equals QuoterV2."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from dex_helpers import Counter, dex_context, eth_call

from chainops.devnet.world import World
from chainops.operators.dapps import PoolCache, UniswapV2, UniswapV3, V3Positions

pytestmark = pytest.mark.integration
PATH, FEE, AMOUNT = ["WETH", "USDC"], 500, Decimal("250")


async def test_a_warm_quote_makes_no_request(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        cache = PoolCache(ctx.evm.batcher, poll_interval=3600)
        v3 = UniswapV3(ctx, cache=cache)
        async with cache:
            cold = await v3.quote_exact_in(PATH, AMOUNT, fee=FEE)
            counter = Counter(ctx)
            warm = await v3.quote_exact_in(PATH, AMOUNT, fee=FEE)
            assert counter.calls == 0
            assert warm.amount_out == cold.amount_out
            assert cache.head is not None and warm.block == cache.head.number
            assert warm.amount_out == await v3.quoter_exact_in(PATH, AMOUNT, fee=FEE)


async def test_logs_keep_the_cached_state_exact(devnet: World) -> None:
    async with dex_context(devnet, 3) as ctx, dex_context(devnet, 6) as other:
        cache = PoolCache(ctx.evm.batcher)
        v3 = UniswapV3(ctx, cache=cache)  # not following: each quote updates it first
        await v3.quote_exact_in(PATH, AMOUNT, fee=FEE)
        trader, lp = UniswapV3(other), V3Positions(other)
        for path, amount in ((["ETH", "USDC"], Decimal(400)), (["USDC", "WETH"], Decimal(90_000))):
            await (await trader.swap(await trader.quote_exact_in(path, amount, fee=FEE))).wait()
        plan = await lp.plan_mint(
            "WETH", "USDC", FEE, Decimal(3), Decimal(6000), price_range=("1990", "2010")
        )
        _, token_id = await lp.mint(plan)
        await (await lp.decrease(token_id, plan.liquidity // 3)).wait()
        head = await cache.update()
        cached = cache.v3(await v3.pool_address(ctx.token("WETH"), ctx.token("USDC"), FEE))
        assert cached is not None and cached.block == head.number
        fresh = await UniswapV3(ctx).pool("WETH", "USDC", FEE, block=head.number)
        assert (cached.sqrt_price_x96, cached.tick, cached.liquidity) == (
            fresh.sqrt_price_x96,
            fresh.tick,
            fresh.liquidity,
        )
        shared = {t: n for t, n in cached.ticks.items() if fresh.loaded(t)}
        assert shared == fresh.ticks
        for amount in (Decimal(1), Decimal(300)):
            quote = await v3.quote_exact_in(PATH, amount, fee=FEE)
            assert quote.amount_out == await v3.quoter_exact_in(PATH, amount, fee=FEE)


async def test_a_reorg_drops_the_states_and_quotes_stay_exact(devnet_fresh: World) -> None:
    world = devnet_fresh
    async with dex_context(world, 3) as ctx, dex_context(world, 6) as other:
        cache = PoolCache(ctx.evm.batcher)
        v3, trader = UniswapV3(ctx, cache=cache), UniswapV3(other)
        await v3.quote_exact_in(PATH, AMOUNT, fee=FEE)
        snapshot = world.anvil.rpc("evm_snapshot")
        sell = await trader.quote_exact_in(["ETH", "USDC"], Decimal(300), fee=FEE)
        await (await trader.swap(sell)).wait()
        moved = await v3.quote_exact_in(PATH, AMOUNT, fee=FEE)  # the cache applied the Swap
        world.anvil.rpc("evm_revert", [snapshot])  # that block is gone ...
        world.anvil.rpc("anvil_mine", ["0x3"])  # ... and others took its number
        again = await v3.quote_exact_in(PATH, AMOUNT, fee=FEE)
        assert cache.reorgs == 1
        assert again.amount_out != moved.amount_out
        assert again.amount_out == await v3.quoter_exact_in(PATH, AMOUNT, fee=FEE)


async def test_v2_reserves_follow_sync_logs(devnet: World) -> None:
    path = ["WETH", "USDC", "DAI"]
    async with dex_context(devnet, 3) as ctx, dex_context(devnet, 6) as other:
        cache = PoolCache(ctx.evm.batcher, poll_interval=3600)
        v2, trader = UniswapV2(ctx, cache=cache), UniswapV2(other)
        async with cache:
            cold = await v2.quote_exact_in(path, Decimal(2))
            counter = Counter(ctx)
            warm = await v2.quote_exact_in(path, Decimal(2))
            assert counter.calls == 0 and warm.amount_out == cold.amount_out
            await (await trader.swap(await trader.quote_exact_in(["ETH", "USDC"], 30))).wait()
            await cache.update()
            moved = await v2.quote_exact_in(path, Decimal(2))
        assert moved.amount_out != cold.amount_out
        assert moved.amount_out == router_amounts(devnet, moved.amount_in, path)[-1]


def router_amounts(world: World, amount: int, path: list[str]) -> list[int]:
    addresses = [world.book.token(s).address for s in path]
    (amounts,) = eth_call(
        world, world.book.contracts["UniswapV2Router02"], "getAmountsOut(uint256,address[])",
        ["uint256", "address[]"], [amount, addresses], ["uint256[]"],
    )  # fmt: skip
    return list(amounts)


async def test_a_following_cache_catches_up_by_itself(devnet: World) -> None:
    async with dex_context(devnet, 3) as ctx, dex_context(devnet, 6) as other:
        cache = PoolCache(ctx.evm.batcher, poll_interval=0.05)
        v3, trader = UniswapV3(ctx, cache=cache), UniswapV3(other)
        async with cache:
            before = await v3.quote_exact_in(PATH, AMOUNT, fee=FEE)
            sell = await trader.quote_exact_in(["ETH", "USDC"], Decimal(300), fee=FEE)
            await (await trader.swap(sell)).wait()
            mined = await ctx.evm.batcher.call("eth_blockNumber", [])
            for _ in range(200):  # the follower's next turns (0.05 s apart) apply the Swap
                if cache.head is not None and cache.head.number >= int(mined, 16):
                    break
                await asyncio.sleep(0.05)
            after = await v3.quote_exact_in(PATH, AMOUNT, fee=FEE)
        assert after.block >= int(mined, 16) and after.amount_out < before.amount_out
        assert after.amount_out == await v3.quoter_exact_in(PATH, AMOUNT, fee=FEE)
