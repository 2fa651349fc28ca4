"""Exact best routes, offline: every candidate equals the on-chain quote of its own path,
the best one (net of gas) is what ``best_quote`` returns, and ``swap`` sends it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from dex_helpers import Counter, balance, dex_context, eth_call

from chainops.core.errors import ValidationError
from chainops.core.order import OrderState
from chainops.devnet.world import World
from chainops.operators.dapps import (
    NoRoute,
    PoolCache,
    Route,
    TradeKind,
    UniswapRoutes,
    UnknownToken,
)

pytestmark = pytest.mark.integration


def v2_amounts(world: World, fn: str, amount: int, route: Route) -> list[int]:
    (amounts,) = eth_call(
        world, world.book.contracts["UniswapV2Router02"], f"{fn}(uint256,address[])",
        ["uint256", "address[]"], [amount, [str(t.address) for t in route.path]], ["uint256[]"],
    )  # fmt: skip
    return list(amounts)


@pytest.mark.parametrize("kind", [TradeKind.EXACT_IN, TradeKind.EXACT_OUT])
async def test_every_candidate_is_exact_and_the_best_is_sent(
    devnet: World, kind: TradeKind
) -> None:
    async with dex_context(devnet) as ctx:
        router = UniswapRoutes(ctx)
        weth, dai = ctx.token("WETH"), ctx.token("DAI")
        raw = weth.to_raw(Decimal(3)) if kind is TradeKind.EXACT_IN else dai.to_raw(Decimal(5000))
        routes = await router.routes("WETH", "DAI", raw, kind, gas_price=10**9)
        assert {"uniswap-v2", "uniswap-v3"} <= {r.dex for r in routes}
        if kind is TradeKind.EXACT_IN:
            assert any(r.dex == "uniswap-mixed" for r in routes)
        assert any(len(r.path) == 3 for r in routes) and any(len(r.path) == 2 for r in routes)
        for route in routes:
            if route.dex == "uniswap-mixed":
                middle = raw
                for i, protocol in enumerate(route.protocols):
                    hop = Route("", route.path[i : i + 2], route.fees[i : i + 1], 0, 0, 0, 0)
                    if protocol == "v2":
                        middle = v2_amounts(devnet, "getAmountsOut", middle, hop)[-1]
                    else:
                        middle = await router.v3.quoter_raw(
                            hop.path, hop.fees, middle, exact_in=True
                        )
                onchain = middle
            elif route.dex == "uniswap-v3":
                onchain = await router.v3.quoter_raw(
                    route.path, route.fees, raw, exact_in=kind is TradeKind.EXACT_IN
                )
            elif kind is TradeKind.EXACT_IN:
                onchain = v2_amounts(devnet, "getAmountsOut", raw, route)[-1]
            else:
                onchain = v2_amounts(devnet, "getAmountsIn", raw, route)[0]
            exact = route.amount_out if kind is TradeKind.EXACT_IN else route.amount_in
            assert exact == onchain, route.symbols
        nets = [r.net for r in routes]
        assert nets == sorted(nets, reverse=kind is TradeKind.EXACT_IN)
        best = routes[0]
        amount = Decimal(3) if kind is TradeKind.EXACT_IN else Decimal(5000)
        quote = await router.best_quote("WETH", "DAI", amount, kind, gas_price=10**9)
        assert (quote.dex, quote.path, quote.fees) == (best.dex, best.path, best.fees)
        assert (quote.amount_in, quote.amount_out) == (best.amount_in, best.amount_out)
        before = balance(devnet, "DAI", ctx.evm.owner)
        order = await (await router.swap(quote)).wait()
        assert order.state is OrderState.FILLED
        assert balance(devnet, "DAI", ctx.evm.owner) - before >= quote.min_out


async def test_routes_from_a_following_cache_make_no_request(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        cache = PoolCache(ctx.evm.batcher, poll_interval=3600)
        router = UniswapRoutes(ctx, cache=cache)
        async with cache:
            raw = ctx.token("USDC").to_raw(Decimal(2500))
            first = await router.routes("USDC", "WBTC", raw, gas_price=10**9)
            counter = Counter(ctx)
            again = await router.routes("USDC", "WBTC", raw, gas_price=10**9)
            assert counter.calls == 0
            assert again == first and len(first) >= 2


@pytest.mark.parametrize(("sell", "buy"), [("FOT", "USDC"), ("USDC", "FOT")])
async def test_a_fee_on_transfer_token_is_routed_through_v2_only(
    devnet: World, sell: str, buy: str
) -> None:
    async with dex_context(devnet) as ctx:
        router = UniswapRoutes(ctx)
        amount = Decimal(100)
        raw = ctx.token(sell).to_raw(amount)
        routes = await router.routes(sell, buy, raw, gas_price=10**9)
        assert routes and {r.dex for r in routes} == {"uniswap-v2"}  # V3 cannot carry the fee
        quote = await router.best_quote(sell, buy, amount, gas_price=10**9)
        direct = await router.v2.quote_exact_in(
            [t.symbol for t in routes[0].path], amount, slippage=quote.slippage
        )
        assert quote.fee_on_transfer and quote.amount_out == direct.amount_out
        assert quote.amount_out == routes[0].amount_out
        before = balance(devnet, buy, ctx.evm.owner)
        order = await (await router.swap(quote)).wait()
        assert order.state is OrderState.FILLED
        assert balance(devnet, buy, ctx.evm.owner) - before >= quote.min_out
        with pytest.raises(NoRoute):  # an exact output cannot be promised through the fee
            await router.best_quote(sell, buy, amount, TradeKind.EXACT_OUT, gas_price=10**9)


async def test_routing_bad_input(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        router = UniswapRoutes(ctx)
        with pytest.raises(ValidationError):
            await router.best_quote("WETH", "WETH", Decimal(1))
        with pytest.raises(UnknownToken):
            await router.best_quote("WETH", "NOPE", Decimal(1))
        with pytest.raises(NoRoute):  # one USDC wei buys no WBTC on any route
            await router.best_quote("USDC", "WBTC", Decimal("0.000001"), gas_price=10**9)


@pytest.mark.parametrize(
    ("path", "hops"),
    [
        (["WETH", "USDC", "DAI"], [("v2", 3000), ("v3", 100)]),
        (["ETH", "USDC", "DAI"], [("v3", 500), ("v2", 3000)]),
        (["DAI", "USDC", "ETH"], [("v3", 100), ("v2", 3000)]),
    ],
)
async def test_a_mixed_route_is_sent_as_one_swaprouter02_multicall(
    devnet: World, path: list[str], hops: list[tuple[str, int]]
) -> None:
    async with dex_context(devnet) as ctx:
        router = UniswapRoutes(ctx)
        assert router.mixed is not None
        amount = Decimal(2) if path[0] in ("WETH", "ETH") else Decimal(4000)
        quote = await router.mixed.quote_exact_in(path, amount, hops=hops)
        me = ctx.evm.owner
        out_symbol = "WETH" if path[-1] == "ETH" else path[-1]
        before = await ctx.evm.balance() if path[-1] == "ETH" else balance(devnet, out_symbol, me)
        order = await (await router.swap(quote)).wait()
        assert order.state is OrderState.FILLED
        if path[-1] == "ETH":
            assert await ctx.evm.balance() > before  # gas paid, yet more ETH than before
        else:
            assert balance(devnet, out_symbol, me) - before == quote.amount_out
        (fill,) = order.fills.values()
        received = fill.quote_amount
        assert received == ctx.token(out_symbol).from_raw(quote.amount_out)
