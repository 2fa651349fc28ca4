"""Exact best routes, offline: every Uniswap route between two tokens priced from pool state.

Candidates: V2 and every V3 fee tier, direct and through one intermediate token (the
wrapped native token and the major stablecoins of the address book). Every candidate
pool is read once at one block (or taken from a ``PoolCache``), then each route is priced
with the exact pool math; the comparison subtracts each route's gas cost, converted into
the traded token at the wrapped native token's pool price. The winner is returned as the
protocol's own Quote (V2, V3, or a route with one V2 and one V3 hop through SwapRouter02
for exact input), which ``swap`` sends.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from chainops.core.assets import Token
from chainops.core.errors import ChainopsError, ValidationError
from chainops.core.order import Order
from chainops.operators.dapps.checks import check_deadline
from chainops.operators.dapps.context import DexContext, UnknownPool
from chainops.operators.dapps.errors import NoRoute
from chainops.operators.dapps.quote import Quote, TradeKind
from chainops.operators.dapps.slippage import DEFAULT_SLIPPAGE, Bps
from chainops.operators.dapps.uniswap.cache import PoolCache
from chainops.operators.dapps.uniswap.mixed import UniswapMixed
from chainops.operators.dapps.uniswap.v2 import library
from chainops.operators.dapps.uniswap.v2.operator import UniswapV2, amount_out_with_transfer_fees
from chainops.operators.dapps.uniswap.v3.operator import UniswapV3
from chainops.operators.dapps.uniswap.v3.pool import V3PoolState

FEE_TIERS = (100, 500, 3000, 10000)
INTERMEDIATES = ("USDC", "USDT", "DAI")  # with the wrapped native token
# Gas of a swap through the routers, by parts (measured on the devnet, rounded up): the
# transaction and router overhead, each hop, and each initialized V3 tick crossed.
GAS_BASE = 90_000
GAS_V2_HOP = 60_000
GAS_V3_HOP = 75_000
GAS_V3_TICK = 25_000
_MIXED = UniswapMixed.dex


@dataclass(frozen=True)
class Route:
    """One priced candidate: raw amounts, gas units, and the amount net of gas (in the
    output token for exact input, the input token for exact output)."""

    dex: str
    path: tuple[Token, ...]
    fees: tuple[int, ...]
    amount_in: int
    amount_out: int
    gas: int
    net: int
    protocols: tuple[str, ...] = ()  # per hop, for a route mixing V2 and V3

    @property
    def symbols(self) -> str:
        return "->".join(t.symbol for t in self.path)


class UniswapRoutes:
    """Best routes over Uniswap V2 and V3 on the context's chain."""

    def __init__(
        self,
        ctx: DexContext,
        *,
        cache: PoolCache | None = None,
        v2: UniswapV2 | None = None,
        v3: UniswapV3 | None = None,
    ) -> None:
        self.ctx = ctx
        self.cache = cache
        self.v2 = v2 or UniswapV2(ctx, cache=cache)
        self.v3 = v3 or UniswapV3(ctx, cache=cache)
        self._absent: set[tuple[str, ...]] = set()  # pools found missing: not asked again
        # Mixed V2/V3 routes go through SwapRouter02, where the chain has one.
        has_02 = "SwapRouter02" in ctx.book.contracts
        self.mixed = UniswapMixed(ctx, self.v2, self.v3) if has_02 else None

    def intermediates(self, a: Token, b: Token) -> list[Token]:
        symbols = [self.ctx.wrapped, *INTERMEDIATES]
        found = [self.ctx.token(s) for s in symbols if s.upper() in self.ctx.book.tokens]
        return [t for t in dict.fromkeys(found) if t not in (a, b)]

    # -- pool state at one block ----------------------------------------------------------

    async def _block(self) -> tuple[int, int]:
        if self.cache is not None:
            head = await self.cache.current()
            return head.number, head.timestamp
        return await self.ctx.block()

    async def _v3_state(self, a: Token, b: Token, fee: int, block: int) -> V3PoolState | None:
        key = ("v3", str(a.address).lower(), str(b.address).lower(), str(fee))
        if key in self._absent:
            return None
        try:
            return await self.v3.pool(a, b, fee, block=block)
        except UnknownPool:
            self._absent.add(key)
            return None

    async def _v2_reserves(self, a: Token, b: Token, block: int) -> tuple[int, int] | None:
        key = ("v2", *sorted((str(a.address).lower(), str(b.address).lower())))
        if key in self._absent:
            return None
        try:
            return await self.v2.reserves(a, b, block)
        except UnknownPool:
            self._absent.add(key)
            return None

    # -- routes ----------------------------------------------------------------------------

    async def routes(
        self,
        token_in: str | Token,
        token_out: str | Token,
        amount: int,
        kind: TradeKind = TradeKind.EXACT_IN,
        *,
        gas_price: int | None = None,
    ) -> list[Route]:
        """Every candidate route that can fill ``amount`` (raw), best (net of gas) first."""
        a, b = self.ctx.token(token_in), self.ctx.token(token_out)
        if a == b:
            raise ValidationError("a route needs two different tokens")
        paths = [(a, b)] + [(a, x, b) for x in self.intermediates(a, b)]
        hops = {(x, y) for path in paths for x, y in itertools.pairwise(path)}
        block, _ = await self._block()
        v3_keys = [(x, y, fee) for x, y in hops for fee in FEE_TIERS]
        v2_keys = list(hops)
        price_call = (
            None if gas_price is not None else self.ctx.evm.batcher.call("eth_gasPrice", [])
        )
        loaded = await asyncio.gather(
            *(self._v3_state(x, y, f, block) for x, y, f in v3_keys),
            *(self._v2_reserves(x, y, block) for x, y in v2_keys),
            *([price_call] if price_call is not None else []),
        )
        v3 = {k: s for k, s in zip(v3_keys, loaded, strict=False) if isinstance(s, V3PoolState)}
        v2 = {
            k: r
            for k, r in zip(v2_keys, loaded[len(v3_keys) :], strict=False)
            if isinstance(r, tuple)
        }
        wei = gas_price if gas_price is not None else int(str(loaded[-1]), 16)
        taxes = {t: await self.v2.transfer_fee_bps(t) for p in paths for t in p if self._taxed(t)}
        found: list[Route] = []
        for path in paths:
            found += self._v2_routes(path, v2, amount, kind, taxes)
            found += await self._v3_routes(path, v3, amount, kind)
            if self.mixed is not None and kind is TradeKind.EXACT_IN and len(path) == 3:
                found += await self._mixed_routes(path, v2, v3, amount)
        gas_token = b if kind is TradeKind.EXACT_IN else a
        rate = self._native_rate(gas_token, v3, v2)
        priced = [self._net(r, wei, rate, kind) for r in found]
        if kind is TradeKind.EXACT_IN:
            priced.sort(key=lambda r: -r.net)
        else:
            priced.sort(key=lambda r: r.net)
        return priced

    def _v2_routes(
        self,
        path: Sequence[Token],
        pairs: dict[tuple[Token, Token], tuple[int, int]],
        amount: int,
        kind: TradeKind,
        taxes: dict[Token, int],
    ) -> list[Route]:
        """The V2 route of ``path``; through a fee-on-transfer token (``taxes``: its burn in
        bps) only for an exact input, as the router's supporting functions fill it."""
        hops = list(itertools.pairwise(path))
        if any(h not in pairs for h in hops):
            return []
        taxed = any(t in taxes for t in path)
        if taxed and kind is not TradeKind.EXACT_IN:
            return []
        reserves = [pairs[h] for h in hops]
        try:
            if taxed:
                burns = [taxes.get(t, 0) for t in path]
                out = amount_out_with_transfer_fees(amount, reserves, burns)
                if out <= 0:
                    return []  # the fees leave nothing to receive
                amounts = [amount, out]
            elif kind is TradeKind.EXACT_IN:
                amounts = library.get_amounts_out(amount, reserves)
            else:
                amounts = library.get_amounts_in(amount, reserves)
        except ChainopsError:
            return []  # this route cannot fill the trade
        gas = GAS_BASE + GAS_V2_HOP * len(hops)
        fees = (3000,) * len(hops)
        return [Route(self.v2.dex, tuple(path), fees, amounts[0], amounts[-1], gas, 0)]

    async def _mixed_routes(
        self,
        path: Sequence[Token],
        pairs: dict[tuple[Token, Token], tuple[int, int]],
        states: dict[tuple[Token, Token, int], V3PoolState],
        amount: int,
    ) -> list[Route]:
        """Exact-input routes with one V2 hop and one V3 hop (either order)."""
        if any(self._taxed(t) for t in path):
            return []
        a, x, b = path
        out: list[Route] = []
        for first_v2, fee in itertools.product((True, False), FEE_TIERS):
            v2_hop, v3_hop = ((a, x), (x, b, fee)) if first_v2 else ((x, b), (a, x, fee))
            if v2_hop not in pairs or v3_hop not in states:
                continue
            state = states[v3_hop]
            try:
                if first_v2:
                    middle = library.get_amounts_out(amount, [pairs[v2_hop]])[-1]
                    _, _, crossed = await self._v3_price(
                        (x, b), [state], middle, TradeKind.EXACT_IN
                    )
                    result = state.amount_out(str(x.address), middle)
                else:
                    _, middle, crossed = await self._v3_price(
                        (a, x), [state], amount, TradeKind.EXACT_IN
                    )
                    result = library.get_amounts_out(middle, [pairs[v2_hop]])[-1]
            except ChainopsError:
                continue
            protocols = ("v2", "v3") if first_v2 else ("v3", "v2")
            fees = (3000, fee) if first_v2 else (fee, 3000)
            gas = GAS_BASE + GAS_V2_HOP + GAS_V3_HOP + GAS_V3_TICK * crossed
            out.append(Route(_MIXED, tuple(path), fees, amount, result, gas, 0, protocols))
        return out

    def _taxed(self, token: Token) -> bool:
        entry = self.ctx.book.tokens.get(token.symbol.upper())
        return entry is not None and entry.kind == "fee-on-transfer"

    async def _v3_routes(
        self,
        path: Sequence[Token],
        states: dict[tuple[Token, Token, int], V3PoolState],
        amount: int,
        kind: TradeKind,
    ) -> list[Route]:
        if any(self._taxed(t) for t in path):
            return []  # a V3 pool checks what it received: a burn on the way reverts the swap
        hops = list(itertools.pairwise(path))
        out: list[Route] = []
        for fees in itertools.product(FEE_TIERS, repeat=len(hops)):
            keys = [(x, y, f) for (x, y), f in zip(hops, fees, strict=True)]
            if any(k not in states for k in keys):
                continue
            pools = [states[k] for k in keys]
            try:
                raw_in, raw_out, crossed = await self._v3_price(path, pools, amount, kind)
            except ChainopsError:
                continue  # cannot fill: too little liquidity, or dust
            gas = GAS_BASE + GAS_V3_HOP * len(hops) + GAS_V3_TICK * crossed
            out.append(Route(self.v3.dex, tuple(path), fees, raw_in, raw_out, gas, 0))
        return out

    async def _v3_price(
        self, path: Sequence[Token], pools: list[V3PoolState], amount: int, kind: TradeKind
    ) -> tuple[int, int, int]:
        crossed = 0

        def price(states: list[V3PoolState]) -> int:
            nonlocal crossed
            crossed, value = 0, amount
            order = (
                range(len(states)) if kind is TradeKind.EXACT_IN else reversed(range(len(states)))
            )
            for i in order:
                state, token = states[i], str(path[i].address)
                zero_for_one = token.lower() == state.token0.lower()
                if kind is TradeKind.EXACT_IN:
                    before, value = value, state.amount_out(token, value)
                    crossed += state.swap(zero_for_one, before).ticks_crossed
                else:
                    before, value = value, state.amount_in(token, value)
                    crossed += state.swap(zero_for_one, -before).ticks_crossed
            return value

        _, result = await self.v3.price_over(pools, price)
        if kind is TradeKind.EXACT_IN:
            return amount, result, crossed
        return result, amount, crossed

    def _native_rate(
        self,
        token: Token,
        v3: dict[tuple[Token, Token, int], V3PoolState],
        v2: dict[tuple[Token, Token], tuple[int, int]],
    ) -> Fraction | None:
        """Raw units of ``token`` per wei of the native coin, from the deepest direct pool."""
        native = self.ctx.token(self.ctx.wrapped)
        if token == native:
            return Fraction(1)
        best: tuple[int, Fraction] | None = None
        for (x, y, _), state in v3.items():
            if {x, y} == {native, token} and state.liquidity:
                ratio = Fraction(state.sqrt_price_x96**2, 2**192)  # token1 per token0
                native_is_0 = str(native.address).lower() == state.token0.lower()
                rate = ratio if native_is_0 else 1 / ratio
                if best is None or state.liquidity > best[0]:
                    best = (state.liquidity, rate)
        if best is not None:
            return best[1]
        for (x, y), (r_x, r_y) in v2.items():
            if (x, y) == (native, token):
                return Fraction(r_y, r_x)
            if (x, y) == (token, native):
                return Fraction(r_x, r_y)
        return None

    @staticmethod
    def _net(route: Route, wei: int, rate: Fraction | None, kind: TradeKind) -> Route:
        cost = 0 if rate is None else int(route.gas * wei * rate)
        net = route.amount_out - cost if kind is TradeKind.EXACT_IN else route.amount_in + cost
        return dataclasses.replace(route, net=net)

    # -- quote and swap --------------------------------------------------------------------

    async def best_quote(
        self,
        token_in: str,
        token_out: str,
        amount: Decimal | int | str,
        kind: TradeKind | str = TradeKind.EXACT_IN,
        *,
        slippage: Bps | str = DEFAULT_SLIPPAGE,
        deadline: int | None = None,
        gas_price: int | None = None,
        force: bool = False,
    ) -> Quote:
        """The best route's Quote (from V2 or V3), ready for :meth:`swap`.

        ``amount`` is what is sold (exact input) or bought (exact output), in human units;
        the native coin's symbol (``ETH``) routes through its wrapped token. A
        fee-on-transfer token is routed through V2 only, and for an exact input only.
        """
        try:
            trade = TradeKind(kind)
        except ValueError:
            raise ValidationError(f"kind must be one of {[k.value for k in TradeKind]}") from None
        Bps.parse(slippage).check(force=force)
        check_deadline(deadline)
        exact_in = trade is TradeKind.EXACT_IN
        sized = self.ctx.token(token_in if exact_in else token_out)
        raw = self.ctx.raw_amount(sized, amount)
        found = await self.routes(token_in, token_out, raw, trade, gas_price=gas_price)
        if not found:
            raise NoRoute(f"no Uniswap route from {token_in} to {token_out} can fill {amount}")
        best = found[0]
        symbols = [token_in, *(t.symbol for t in best.path[1:-1]), token_out]
        human = sized.from_raw(raw)
        if best.dex == self.v2.dex:
            if exact_in:
                return await self.v2.quote_exact_in(
                    symbols, human, slippage=slippage, deadline=deadline, force=force
                )
            return await self.v2.quote_exact_out(
                symbols, human, slippage=slippage, deadline=deadline, force=force
            )
        fees = list(best.fees)
        if best.dex == _MIXED and self.mixed is not None:
            hops = list(zip(best.protocols, fees, strict=True))
            return await self.mixed.quote_exact_in(
                symbols, human, hops=hops, slippage=slippage, deadline=deadline, force=force
            )
        if exact_in:
            return await self.v3.quote_exact_in(
                symbols, human, fee=fees, slippage=slippage, deadline=deadline, force=force
            )
        return await self.v3.quote_exact_out(
            symbols, human, fee=fees, slippage=slippage, deadline=deadline, force=force
        )

    async def swap(self, quote: Quote, *, recipient: str | None = None) -> Order:
        """Send a quote through the protocol it came from."""
        if not isinstance(quote, Quote):
            raise ValidationError(f"expected a Quote from best_quote, not {type(quote).__name__}")
        if quote.dex == _MIXED and self.mixed is not None:
            return await self.mixed.swap(quote, recipient=recipient)
        venue = self.v2 if quote.dex == self.v2.dex else self.v3
        return await venue.swap(quote, recipient=recipient)
