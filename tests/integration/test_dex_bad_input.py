"""Bad input to the Uniswap wrappers: a typed error before anything is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import pytest
from dex_helpers import dex_context, eth_call

from chainops.core.errors import ValidationError
from chainops.devnet.world import World
from chainops.operators.dapps import (
    DexContext,
    InvalidTickRange,
    MintPlan,
    UniswapV2,
    UniswapV3,
    V3Positions,
)

pytestmark = pytest.mark.integration

FOREIGN = 1  # a devnet position minted by the deployer, not by the test account
RANGE = ("1800", "2200")


@asynccontextmanager
async def nothing_sent(ctx: DexContext) -> AsyncIterator[None]:
    """Asserts the account's nonce and its journal are the same after the block."""

    async def state() -> tuple[int, int]:
        return await ctx.evm.nonce(), len(ctx.evm.journal.list_operations())

    before = await state()
    yield
    assert await state() == before


async def own_position(lp: V3Positions) -> int:
    plan = await lp.plan_mint("WETH", "USDC", 500, Decimal("0.1"), Decimal(200), price_range=RANGE)
    _, token_id = await lp.mint(plan)
    return token_id


def position_owner(world: World, token_id: int) -> str:
    npm = world.book.contract("NonfungiblePositionManager")
    (owner,) = eth_call(world, npm, "ownerOf(uint256)", ["uint256"], [token_id], ["address"])
    return str(owner)


# -- 1. another account's position ----------------------------------------------------------


async def test_increase_of_another_accounts_position_is_refused(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        lp = V3Positions(ctx)
        owner = position_owner(devnet, FOREIGN)
        assert owner.lower() != ctx.evm.owner.lower()
        before = (await lp.position(FOREIGN)).liquidity
        async with nothing_sent(ctx):
            with pytest.raises(ValidationError, match=f"position {FOREIGN} belongs to 0x"):
                await lp.plan_increase(FOREIGN, Decimal("0.01"), Decimal(20))
            # A plan made by hand for it is refused by increase() too, before any approval.
            pos = await lp.position(FOREIGN)
            plan = MintPlan(
                pos.token0, pos.token1, pos.fee, pos.tick_lower, pos.tick_upper,
                (10**16, 20 * 10**6), (10**16, 20 * 10**6), (0, 0), 1, 2**40, FOREIGN,
            )  # fmt: skip
            with pytest.raises(ValidationError, match=f"position {FOREIGN} belongs to 0x"):
                await lp.increase(plan)
        assert (await lp.position(FOREIGN)).liquidity == before


@pytest.mark.parametrize("method", ["decrease", "close", "burn", "collect"])
async def test_managing_another_accounts_position_is_refused(devnet: World, method: str) -> None:
    async with dex_context(devnet) as ctx:
        lp = V3Positions(ctx)
        async with nothing_sent(ctx):
            with pytest.raises(ValidationError, match=f"position {FOREIGN} belongs to 0x"):
                await getattr(lp, method)(FOREIGN)


# -- 2. deadlines -----------------------------------------------------------------------------


BAD_DEADLINES = [
    ("x", "must be a number of seconds"),
    (True, "must be a number of seconds"),
    (None, None),  # the default: accepted
    (float("nan"), "must be finite"),
    (float("inf"), "must be finite"),
    (0, "must be positive"),
    (-5, "must be positive"),
]


@pytest.mark.parametrize(("deadline", "message"), BAD_DEADLINES)
async def test_deadline_must_be_positive_finite_seconds(
    devnet: World, deadline: Any, message: str | None
) -> None:
    async with dex_context(devnet) as ctx:
        v2, v3, lp = UniswapV2(ctx), UniswapV3(ctx), V3Positions(ctx)
        calls = [
            lambda: v3.quote_exact_in(["WETH", "USDC"], Decimal(1), fee=500, deadline=deadline),
            lambda: v3.quote_exact_out(["WETH", "USDC"], Decimal(1), fee=500, deadline=deadline),
            lambda: v2.quote_exact_in(["WETH", "USDC"], Decimal(1), deadline=deadline),
            lambda: v2.quote_exact_out(["WETH", "USDC"], Decimal(1), deadline=deadline),
            lambda: v2.plan_add_liquidity(
                "WETH", "USDC", Decimal(1), Decimal(2000), deadline=deadline
            ),
            lambda: lp.plan_mint(
                "WETH", "USDC", 500, Decimal(1), Decimal(2000), price_range=RANGE, deadline=deadline
            ),
        ]
        async with nothing_sent(ctx):
            for call in calls:
                if message is None:
                    await call()
                    continue
                with pytest.raises(ValidationError, match=f"deadline {message}"):
                    await call()


# -- 3. V3 fee tiers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fee", "message"),
    [
        (200, r"unknown V3 fee tier 200 \(known: \[100, 500, 3000, 10000\]\)"),
        (0, "unknown V3 fee tier 0 "),
        (-500, "unknown V3 fee tier -500 "),
        (3001, "unknown V3 fee tier 3001 "),
        (500.0, "fee must be a V3 fee tier .* not float 500.0"),
        ("500", "fee must be a V3 fee tier .* not str '500'"),
        (None, "fee must be a V3 fee tier .* not NoneType None"),
        (True, "fee must be a V3 fee tier .* not bool True"),
        ([500, 123], "unknown V3 fee tier 123 "),
        ([500.0, 100], "a V3 fee tier must be an int"),
        ([500], "2 hops need 2 fees"),
    ],
)
async def test_v3_fee_must_be_a_known_tier(devnet: World, fee: Any, message: str) -> None:
    async with dex_context(devnet) as ctx:
        v3 = UniswapV3(ctx)
        path = ["WETH", "USDC", "DAI"] if isinstance(fee, list) else ["WETH", "USDC"]
        async with nothing_sent(ctx):
            for method in (v3.quote_exact_in, v3.quote_exact_out, v3.quoter_exact_in):
                with pytest.raises(ValidationError, match=message):
                    await method(path, Decimal(1), fee=fee)


async def test_v3_fee_is_checked_alike_by_plan_mint_and_pool(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        v3, lp = UniswapV3(ctx), V3Positions(ctx)
        async with nothing_sent(ctx):
            fees: list[Any] = [123, 500.0]
            for fee in fees:
                with pytest.raises(ValidationError, match=f"V3 fee tier .*{fee}"):
                    await lp.plan_mint(
                        "WETH", "USDC", fee, Decimal(1), Decimal(2000), price_range=RANGE
                    )
                with pytest.raises(ValidationError, match=f"V3 fee tier .*{fee}"):
                    await v3.pool("WETH", "USDC", fee)


async def test_v3_multi_hop_fee_list_still_quotes(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        quote = await UniswapV3(ctx).quote_exact_in(
            ["WETH", "USDC", "DAI"], Decimal(1), fee=[500, 100]
        )
        assert quote.fees == (500, 100) and quote.amount_out > 0


# -- 4. swap of something that is not a quote -------------------------------------------------


async def test_swap_of_a_non_quote_names_the_expected_type(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        v2, v3 = UniswapV2(ctx), UniswapV3(ctx)
        v3_quote = await v3.quote_exact_in(["WETH", "USDC"], Decimal("0.01"), fee=500)
        async with nothing_sent(ctx):
            for venue in (v2, v3):
                with pytest.raises(ValidationError, match=r"expected a Quote .* not str"):
                    await venue.swap("notaquote")  # type: ignore[arg-type]
            with pytest.raises(ValidationError, match="uniswap-v3 quote cannot be sent through"):
                await v2.swap(v3_quote)


async def test_swap_path_must_be_a_list_of_tokens(devnet: World) -> None:
    async with dex_context(devnet) as ctx, nothing_sent(ctx):
        for venue in (UniswapV2(ctx), UniswapV3(ctx)):
            with pytest.raises(ValidationError, match="path must be a list of token symbols"):
                await venue.quote_exact_in("WETH", Decimal(1))


# -- 5. ticks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ticks", [(-200.0, 200.0), (-200, 200, 400), (-200,), (True, 200), ("-200", "200"), "ab"]
)
async def test_ticks_must_be_two_ints(devnet: World, ticks: Any) -> None:
    async with dex_context(devnet) as ctx:
        lp = V3Positions(ctx)
        async with nothing_sent(ctx):
            with pytest.raises(InvalidTickRange, match=r"ticks must be two ints \(lower, upper\)"):
                await lp.plan_mint("WETH", "USDC", 500, Decimal(1), Decimal(2000), ticks=ticks)


# -- 6. liquidity to withdraw ---------------------------------------------------------------


async def test_decrease_liquidity_must_be_a_positive_int(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        lp = V3Positions(ctx)
        token_id = await own_position(lp)
        held = (await lp.position(token_id)).liquidity
        async with nothing_sent(ctx):
            for bad in (1.5, "5", True, 0, -1, Decimal(5)):
                with pytest.raises(ValidationError, match="liquidity must be a positive int"):
                    await lp.decrease(token_id, liquidity=bad)  # type: ignore[arg-type]
            with pytest.raises(ValidationError, match=f"has {held} liquidity, not {held + 1}"):
                await lp.decrease(token_id, liquidity=held + 1)
        assert (await lp.position(token_id)).liquidity == held


async def test_v2_remove_liquidity_must_be_a_positive_int(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        v2 = UniswapV2(ctx)
        async with nothing_sent(ctx):
            for bad in (1.5, "5", True, 0):
                with pytest.raises(ValidationError, match="liquidity must be a positive int"):
                    await v2.plan_remove_liquidity("WETH", "USDC", bad)  # type: ignore[arg-type]


# -- 7. position ids --------------------------------------------------------------------------


@pytest.mark.parametrize("token_id", ["1", 1.0, True, -1, Decimal(1), None])
async def test_position_id_must_be_an_int(devnet: World, token_id: Any) -> None:
    async with dex_context(devnet) as ctx:
        lp = V3Positions(ctx)
        calls = [
            lambda: lp.position(token_id),
            lambda: lp.collect(token_id),
            lambda: lp.decrease(token_id),
            lambda: lp.burn(token_id),
            lambda: lp.close(token_id),
            lambda: lp.plan_increase(token_id, Decimal("0.01"), Decimal(20)),
        ]
        async with nothing_sent(ctx):
            for call in calls:
                with pytest.raises(ValidationError, match="token id must be a non-negative int"):
                    await call()
