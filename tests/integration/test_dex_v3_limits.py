"""Uniswap V3 quotes at the edges: no lens contract, a spacing-1 pool pushed to its
price limit, trades the pool cannot fill, dust; each checked against QuoterV2."""

from __future__ import annotations

from decimal import Decimal

import pytest
from dex_helpers import balance, dex_context
from eth_abi.abi import encode
from eth_utils.crypto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainops.core.addressbook import AddressBook
from chainops.core.errors import ChainopsError, ValidationError
from chainops.core.order import OrderState
from chainops.devnet.world import World
from chainops.operators.dapps import (
    DexContext,
    DustAmount,
    InsufficientLiquidity,
    UniswapV3,
    UnknownPool,
    V3Positions,
)

pytestmark = pytest.mark.integration
FIXED = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def mint(world: World, symbol: str, to: str, raw: int) -> None:
    """Mint test tokens as their owner (the deployer, unlocked on the fork)."""
    data = keccak(text="mint(address,uint256)")[:4] + encode(["address", "uint256"], [to, raw])
    world.anvil.rpc(
        "eth_sendTransaction",
        [
            {
                "from": world.book.accounts[0].address,
                "to": world.book.token(symbol).address,
                "data": "0x" + data.hex(),
            }
        ],
    )


def canonical_shape(book: AddressBook) -> AddressBook:
    """The book as on a mainnet chain: no TickLens, no original SwapRouter."""
    data = book.to_dict()
    for name in ("TickLens", "SwapRouter"):
        data["contracts"].pop(name)
    return AddressBook.from_dict(data)


async def test_quotes_and_swaps_without_a_lens_contract(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        v3 = UniswapV3(DexContext(ctx.evm, canonical_shape(devnet.book)))
        for path, fee, amount in (
            (["WETH", "USDC"], 500, Decimal("250")),
            (["USDC", "DAI"], 100, Decimal("600000")),
            (["WETH", "DAI"], 10000, Decimal("3")),
        ):
            quote = await v3.quote_exact_in(path, amount, fee=fee)
            assert quote.amount_out == await v3.quoter_exact_in(path, amount, fee=fee)
        order = await (
            await v3.swap(await v3.quote_exact_in(["USDC", "WETH"], 500, fee=3000))
        ).wait()
        assert order.state is OrderState.FILLED


async def test_a_missing_pool_and_dust_are_refused(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        v3 = UniswapV3(ctx)
        with pytest.raises(UnknownPool):
            await v3.pool("WBTC", "DAI", 500)
        with pytest.raises(DustAmount):  # one USDC wei buys no WETH
            await v3.quote_exact_in(["USDC", "WETH"], Decimal("0.000001"), fee=500)


async def test_a_spacing_one_pool_pushed_to_its_price_limit(devnet_fresh: World) -> None:
    world = devnet_fresh
    async with dex_context(world, 5) as whale_ctx, dex_context(world, 3) as ctx:
        whale, v3 = UniswapV3(whale_ctx), UniswapV3(ctx)
        mint(world, "DAI", whale_ctx.evm.owner, 10**40)
        sell = ["DAI", "USDC"]
        # Selling more DAI than the pool can absorb: the quote says what it would take.
        huge = Decimal(10**21)
        with pytest.raises(InsufficientLiquidity) as exhausted:
            await whale.quote_exact_in(sell, huge, fee=100)
        taken, delivered = exhausted.value.amount_in, exhausted.value.amount_out
        assert 0 < taken < 10**39
        assert delivered == await whale.quoter_exact_in(sell, huge, fee=100)
        # Quoting what it would take is exact, and the real swap spends exactly that.
        dai = whale_ctx.token("DAI")
        quote = await whale.quote_exact_in(sell, dai.from_raw(taken), fee=100)
        assert (quote.amount_in, quote.amount_out) == (taken, delivered)
        before = balance(world, "DAI", whale_ctx.evm.owner)
        order = await (await whale.swap(quote)).wait()
        assert order.state is OrderState.FILLED
        assert before - balance(world, "DAI", whale_ctx.evm.owner) == taken

        # Now at its limit: the same direction cannot trade at all ...
        with pytest.raises(InsufficientLiquidity) as none:
            await v3.quote_exact_in(sell, Decimal("0.000000003"), fee=100)
        assert none.value.amount_out == 0
        # ... and the other direction walks back across thousands of words.
        back = ["USDC", "DAI"]
        with pytest.raises(DustAmount):  # the price is so low that one wei buys nothing
            await v3.quote_exact_in(back, Decimal("0.000001"), fee=100)
        assert await v3.quoter_exact_in(back, Decimal("0.000001"), fee=100) == 0
        for amount in (Decimal(3), Decimal(250_000)):
            q = await v3.quote_exact_in(back, amount, fee=100)
            assert q.amount_out == await v3.quoter_exact_in(back, amount, fee=100)
        q = await v3.quote_exact_out(back, Decimal("0.000000003"), fee=100)
        assert q.amount_in == await v3.quoter_exact_out(back, Decimal("0.000000003"), fee=100)
        # An over-ask says what the pool could deliver instead of failing to load ticks.
        with pytest.raises(InsufficientLiquidity) as short:
            await v3.quote_exact_out(back, dai.from_raw(taken * 2), fee=100)
        assert 0 < short.value.amount_out < taken * 2
        assert short.value.amount_in > 0


@FIXED
@given(usdc=st.integers(min_value=1, max_value=10**12), direction=st.booleans())
async def test_spacing_one_quotes_equal_quoter(devnet: World, usdc: int, direction: bool) -> None:
    async with dex_context(devnet) as ctx:
        v3 = UniswapV3(ctx)
        amount = Decimal(usdc) / 10**6
        path = ["USDC", "DAI"] if direction else ["DAI", "USDC"]
        try:
            quote = await v3.quote_exact_in(path, amount, fee=100)
        except DustAmount:
            assert await v3.quoter_exact_in(path, amount, fee=100) == 0
            return
        assert quote.amount_out == await v3.quoter_exact_in(path, amount, fee=100)
        try:
            out = await v3.quote_exact_out(path, amount, fee=100)
        except InsufficientLiquidity:
            with pytest.raises(ChainopsError):
                await v3.quoter_exact_out(path, amount, fee=100)
            return
        assert out.amount_in == await v3.quoter_exact_out(path, amount, fee=100)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pool=st.sampled_from([("WETH", "USDC", 500), ("WETH", "USDC", 3000), ("USDC", "DAI", 100)]),
    width=st.integers(1, 60),
    offset=st.integers(-40, 40),
    push=st.integers(1, 60),
    sell_first=st.booleans(),
    quote_units=st.integers(1, 10**6),
)
async def test_quotes_equal_quoter_in_random_pool_states(
    devnet: World,
    pool: tuple[str, str, int],
    width: int,
    offset: int,
    push: int,
    sell_first: bool,
    quote_units: int,
) -> None:
    """A random narrow position, then a random swap, then random quotes both ways: the
    pool's state differs in every example (they accumulate on the module's fork)."""
    a, b, fee = pool
    async with dex_context(devnet, 3) as ctx, dex_context(devnet, 6) as other:
        v3, lp, trader = UniswapV3(ctx), V3Positions(other), UniswapV3(other)
        state = await v3.pool(a, b, fee, ticks=False)
        spacing = state.tick_spacing
        lower = (state.tick // spacing + offset) * spacing
        ticks = (lower, lower + width * spacing)
        deposit_a = Decimal("0.5") if a == "WETH" else Decimal(500)
        try:
            plan = await lp.plan_mint(a, b, fee, deposit_a, Decimal(1000), ticks=ticks)
            await lp.mint(plan)
        except ValidationError:
            pass  # these amounts add nothing in this range: the swap still moves the price
        path = [a, b] if sell_first else [b, a]
        size = Decimal(push) / 20 if path[0] == "WETH" else Decimal(push * 100)
        sell = ["ETH", path[1]] if path[0] == "WETH" else path
        await (await trader.swap(await trader.quote_exact_in(sell, size, fee=fee))).wait()
        for p in ([a, b], [b, a]):
            amount = ctx.token(p[0]).from_raw(quote_units * 10 ** (ctx.token(p[0]).decimals - 4))
            try:
                quote = await v3.quote_exact_in(p, amount, fee=fee)
            except DustAmount:
                assert await v3.quoter_exact_in(p, amount, fee=fee) == 0
                continue
            assert quote.amount_out == await v3.quoter_exact_in(p, amount, fee=fee)
            back = ctx.token(p[1]).from_raw(max(1, quote.amount_out // 3))
            exact_out = await v3.quote_exact_out(p, back, fee=fee)
            assert exact_out.amount_in == await v3.quoter_exact_out(p, back, fee=fee)
