"""Uniswap V3 swaps: offline exact quotes (tick-crossing math) and QuoterV2 quotes, path
encoding, exactInput(Single) and exactOutput(Single), ETH in/out through the router
(SwapRouter, or SwapRouter02 as deployed on mainnet chains: see router02.py).

Offline quotes read each pool once (slot0, liquidity, initialized ticks near the price)
and then price any amount locally; they equal QuoterV2 to the wei.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from eth_utils.crypto import keccak

from chainops.abis import load_abi
from chainops.core.assets import Token
from chainops.core.errors import ValidationError
from chainops.core.order import Order
from chainops.operators.dapps.checks import check_deadline, check_path
from chainops.operators.dapps.context import DexContext, UnknownPool
from chainops.operators.dapps.quote import Quote, TradeKind, check_quote
from chainops.operators.dapps.slippage import DEFAULT_SLIPPAGE, Bps
from chainops.operators.dapps.swaps import HopLog, SwapExecutor
from chainops.operators.dapps.uniswap.cache import PoolCache
from chainops.operators.dapps.uniswap.v3.path import encode_path
from chainops.operators.dapps.uniswap.v3.pool import TicksNotLoaded, V3PoolState
from chainops.operators.dapps.uniswap.v3.prices import (
    check_fee,
    check_fees,
    sqrt_price_x96_to_price,
)
from chainops.operators.dapps.uniswap.v3.reader import (
    DEFAULT_WORD_RADIUS,
    EmptyAccount,
    PoolInfo,
    PoolReader,
    pool_address,
)
from chainops.operators.dapps.uniswap.v3.routers import build_swap, choose_router
from chainops.operators.evm.requests import TxRequest

SWAP_TOPIC = "0x" + keccak(text="Swap(address,address,int256,int256,uint160,uint128,int24)").hex()


class UniswapV3:
    """Uniswap V3 SwapRouter, QuoterV2 and pools on the operator's chain."""

    dex = "uniswap-v3"

    def __init__(
        self, ctx: DexContext, *, router: str | None = None, cache: PoolCache | None = None
    ) -> None:
        """``router``: "SwapRouter" or "SwapRouter02" (default: SwapRouter if the book has it).

        ``cache``: pool states kept current from logs (see ``PoolCache``); quotes then
        read no pool again, and none at all while the cache follows the chain.
        """
        self.ctx = ctx
        self.cache = cache
        evm = ctx.evm
        self.router_name = choose_router(router, ctx.book.contracts)
        self.router = evm.contract(
            ctx.contract_address(self.router_name), load_abi(self.router_name)
        )
        self.quoter = evm.contract(ctx.contract_address("QuoterV2"), load_abi("QuoterV2"))
        self.factory = evm.contract(
            ctx.contract_address("UniswapV3Factory"), load_abi("UniswapV3Factory")
        )
        self.reader = PoolReader(evm.batcher)
        self.executor = SwapExecutor(ctx, str(self.router.address), self._parse_logs, self.reprice)
        self._info: dict[str, PoolInfo] = {}  # immutable pool facts, read once
        self._last_tick: dict[str, int] = {}  # where to read tick words in the first batch
        self._addresses: dict[tuple[str, str, int], str] = {}
        self._known: dict[str, list[int]] = {}  # initialized ticks seen last time, per pool

    # -- pools ------------------------------------------------------------------------------

    async def pool_address(self, a: Token, b: Token, fee: int) -> str:
        """The pool's address, derived from the factory (CREATE2); its existence is
        checked when it is first read."""
        key = (str(a.address).lower(), str(b.address).lower(), fee)
        found = self._addresses.get(key)
        if found is None:
            found = pool_address(str(self.factory.address), str(a.address), str(b.address), fee)
            self._addresses[key] = found
        return found

    async def pool_info(self, a: Token, b: Token, fee: int) -> PoolInfo:
        """The pool's immutable facts (read once); UnknownPool when there is no pool."""
        address = await self.pool_address(a, b, fee)
        info = self._info.get(address)
        if info is None:
            try:
                info = await self.reader.info(address)
            except EmptyAccount:
                raise UnknownPool(
                    f"no Uniswap V3 pool for {a.symbol}/{b.symbol} with fee {fee}"
                ) from None
            self._info[address] = info
        return info

    async def pool(
        self,
        a: str | Token,
        b: str | Token,
        fee: int,
        radius: int = DEFAULT_WORD_RADIUS,
        block: int | None = None,
        *,
        ticks: bool = True,
    ) -> V3PoolState:
        """The pool's state at ``block``: price, liquidity and (with ``ticks``) the
        initialized ticks of the bitmap words within ``radius`` of the price."""
        ta, tb = self.ctx.token(a), self.ctx.token(b)
        if ta == tb:
            raise ValidationError("a pool needs two different tokens")
        info = await self.pool_info(ta, tb, check_fee(fee))
        if block is None:
            block, _ = await self.head()
        cache = self.cache
        cached = cache is not None and cache.head is not None and cache.head.number == block
        if cached and ticks and cache is not None:
            found = cache.v3(info.address)
            if found is not None:
                return found  # the live cached state: later updates move it along
        state = await self.reader.read(
            info, block, hint_tick=self._last_tick.get(info.address), radius=radius, ticks=ticks
        )
        self._last_tick[info.address] = state.tick
        if cached and ticks and cache is not None:
            cache.put_v3(state)
        return state

    async def head(self) -> tuple[int, int]:
        """(number, timestamp) of the block to quote at: the cache's head when there is one."""
        if self.cache is None:
            return await self.ctx.block()
        head = await self.cache.current()
        return head.number, head.timestamp

    async def _route(
        self, path: Sequence[str], fees: int | Sequence[int]
    ) -> tuple[list[Token], list[int], bool, bool]:
        path = check_path(path)
        fee_list = check_fees(fees, len(path) - 1)
        tokens = [self.ctx.token(p) for p in path]
        for x, y in itertools.pairwise(tokens):
            if x == y:
                raise ValidationError(f"path repeats {x.symbol} in one hop")
        native_in = self.ctx.is_native(path[0])
        native_out = self.ctx.is_native(path[-1])
        return tokens, fee_list, native_in, native_out

    # -- quotes -----------------------------------------------------------------------------

    async def quote_exact_in(
        self,
        path: Sequence[str],
        amount_in: Decimal | int | str,
        *,
        fee: int | Sequence[int] = 3000,
        slippage: Bps | str = DEFAULT_SLIPPAGE,
        deadline: int | None = None,
        force: bool = False,
    ) -> Quote:
        """Quote selling exactly ``amount_in``, offline over the pools' ticks."""
        bps = Bps.parse(slippage).check(force=force)
        check_deadline(deadline)
        tokens, fees, native_in, native_out = await self._route(path, fee)
        raw_in = self.ctx.raw_amount(tokens[0], amount_in)
        now, states = await self._pools_now(tokens, fees)
        when = self.ctx.deadline_at(now, deadline)

        def price(pools: list[V3PoolState]) -> int:
            amount = raw_in
            for i, state in enumerate(pools):
                amount = state.amount_out(str(tokens[i].address), amount)
            return amount

        pools, amount = await self.price_over(states, price)
        return self._quote(
            TradeKind.EXACT_IN,
            tokens,
            fees,
            pools,
            raw_in,
            amount,
            bps.min_out(amount),
            bps,
            when,
            native_in,
            native_out,
        )

    async def quote_exact_out(
        self,
        path: Sequence[str],
        amount_out: Decimal | int | str,
        *,
        fee: int | Sequence[int] = 3000,
        slippage: Bps | str = DEFAULT_SLIPPAGE,
        deadline: int | None = None,
        force: bool = False,
    ) -> Quote:
        """Quote buying exactly ``amount_out``, offline over the pools' ticks."""
        bps = Bps.parse(slippage).check(force=force)
        check_deadline(deadline)
        tokens, fees, native_in, native_out = await self._route(path, fee)
        raw_out = self.ctx.raw_amount(tokens[-1], amount_out)
        now, states = await self._pools_now(tokens, fees)
        when = self.ctx.deadline_at(now, deadline)

        def price(pools: list[V3PoolState]) -> int:
            amount = raw_out
            for i in reversed(range(len(pools))):
                amount = pools[i].amount_in(str(tokens[i].address), amount)
            return amount

        pools, amount = await self.price_over(states, price)
        return self._quote(
            TradeKind.EXACT_OUT,
            tokens,
            fees,
            pools,
            amount,
            raw_out,
            bps.max_in(amount),
            bps,
            when,
            native_in,
            native_out,
        )

    async def _pools_now(
        self, tokens: Sequence[Token], fees: Sequence[int]
    ) -> tuple[int, list[V3PoolState]]:
        """(chain time, pool per hop, each at the block read): from the cache, in one batch
        for pools read before, or read afresh."""
        hops = list(zip(tokens, tokens[1:], fees, strict=False))
        warm = self._followed(hops)
        if warm is not None:
            return warm
        infos = list(await asyncio.gather(*(self.pool_info(a, b, f) for a, b, f in hops)))
        if self.cache is None and all(i.address in self._last_tick for i in infos):
            hints = [(i, self._last_tick[i.address], self._known.get(i.address, [])) for i in infos]
            (_, now), pools = await self.reader.read_latest(hints)
        else:
            block, now = await self.head()
            reads = (self.pool(a, b, f, block=block) for a, b, f in hops)
            pools = list(await asyncio.gather(*reads))
        for state in pools:
            self._last_tick[state.address] = state.tick
            self._known[state.address] = sorted(state.ticks)
        return now, pools

    def _followed(
        self, hops: list[tuple[Token, Token, int]]
    ) -> tuple[int, list[V3PoolState]] | None:
        """Every hop's state from a cache that follows the chain, without awaiting anything."""
        cache = self.cache
        if cache is None or not cache.following or cache.head is None:
            return None
        pools = []
        for a, b, fee in hops:
            address = self._addresses.get((str(a.address).lower(), str(b.address).lower(), fee))
            state = cache.v3(address) if address is not None else None
            if state is None:
                return None
            pools.append(state)
        return cache.head.timestamp, pools

    async def price_over(
        self, pools: list[V3PoolState], price: Callable[[list[V3PoolState]], int]
    ) -> tuple[list[V3PoolState], int]:
        """Price over the pools, loading tick words as far as the swap reaches (only the
        pool that ran out of words is read again, at the same block)."""
        while True:
            try:
                return pools, price(pools)
            except TicksNotLoaded as exc:
                state = next(p for p in pools if p.address == exc.pool)
                if state.complete:
                    raise  # cannot happen with a consistent bitmap; never loop on it
                await self.reader.extend_to(state, self._info[state.address], exc.word)

    def _quote(
        self,
        kind: TradeKind,
        tokens: list[Token],
        fees: list[int],
        pools: list[V3PoolState],
        raw_in: int,
        raw_out: int,
        limit: int,
        bps: Bps,
        deadline: int,
        native_in: bool,
        native_out: bool,
    ) -> Quote:
        mid = Decimal(1)
        for i, state in enumerate(pools):
            a, b = tokens[i], tokens[i + 1]
            zero_in = str(a.address).lower() == state.token0.lower()
            t0, t1 = (a, b) if zero_in else (b, a)
            price = sqrt_price_x96_to_price(state.sqrt_price_x96, t0.decimals, t1.decimals)
            mid *= price if zero_in else 1 / price
        return Quote(
            dex=self.dex, kind=kind, path=tuple(tokens), fees=tuple(fees),
            block=min(p.block or 0 for p in pools), amount_in=raw_in, amount_out=raw_out,
            limit=limit, slippage=bps, deadline=deadline, mid_price=mid, native_in=native_in,
            native_out=native_out, pools=tuple(p.address for p in pools),
            native=self.ctx.evm.native.symbol,
        )  # fmt: skip

    async def quoter_exact_in(
        self,
        path: Sequence[str],
        amount_in: Decimal | int | str,
        *,
        fee: int | Sequence[int] = 3000,
    ) -> int:
        """QuoterV2's output for selling ``amount_in`` (one ``eth_call``)."""
        tokens, fees, _, _ = await self._route(path, fee)
        raw = self.ctx.raw_amount(tokens[0], amount_in)
        return await self.quoter_raw(tokens, fees, raw, exact_in=True)

    async def quoter_exact_out(
        self,
        path: Sequence[str],
        amount_out: Decimal | int | str,
        *,
        fee: int | Sequence[int] = 3000,
    ) -> int:
        """QuoterV2's input for buying ``amount_out`` (one ``eth_call``)."""
        tokens, fees, _, _ = await self._route(path, fee)
        raw = self.ctx.raw_amount(tokens[-1], amount_out)
        return await self.quoter_raw(tokens, fees, raw, exact_in=False)

    async def quoter_raw(
        self, tokens: Sequence[Token], fees: Sequence[int], raw: int, *, exact_in: bool
    ) -> int:
        q = self.quoter
        if len(fees) == 1:
            a, b = tokens[0].address, tokens[1].address
            name = "quoteExactInputSingle" if exact_in else "quoteExactOutputSingle"
            request = q.request(name, (a, b, raw, fees[0], 0))
        elif exact_in:
            name = "quoteExactInput"
            request = q.request(name, encode_path(tokens, fees), raw)
        else:
            name = "quoteExactOutput"
            request = q.request(name, encode_path(tokens[::-1], fees[::-1]), raw)
        result = q.decode_result(name, await self.ctx.evm.call(request))
        return int(result[0])

    # -- swaps ------------------------------------------------------------------------------

    def build_swap(self, quote: Quote, recipient: str) -> TxRequest:
        """The router call for ``quote`` (pure); ETH in/out go through ``multicall``."""
        check_quote(quote, self.dex)
        return build_swap(self.router_name, self.router, quote, recipient)

    async def reprice(self, quote: Quote) -> Quote:
        """``quote``'s path, pools and amount priced again, offline, from the pools now."""
        fees = list(quote.fees)
        if quote.kind is TradeKind.EXACT_IN:
            amount = quote.token_in.from_raw(quote.amount_in)
            return await self.quote_exact_in(
                quote.symbols, amount, fee=fees, slippage=quote.slippage, force=True
            )
        amount = quote.token_out.from_raw(quote.amount_out)
        return await self.quote_exact_out(
            quote.symbols, amount, fee=fees, slippage=quote.slippage, force=True
        )

    async def swap(self, quote: Quote, *, recipient: str | None = None) -> Order:
        """Send the swap (allowance ensured first); returns its Order, OPEN until mined
        (``await order.wait()`` for the fill)."""
        check_quote(quote, self.dex)
        request = self.build_swap(quote, recipient or self.ctx.evm.owner)
        return await self.executor.execute(quote, request)

    def _parse_logs(self, quote: Quote, logs: list[dict[str, Any]]) -> list[HopLog]:
        """Swap logs matched to hops by pool (exact-output hops execute innermost first)."""
        by_pool = {p.lower(): i for i, p in enumerate(quote.pools)}
        found: dict[int, HopLog] = {}
        for log in logs:
            hop = by_pool.get(str(log["address"]).lower())
            if hop is None or not log["topics"] or log["topics"][0] != SWAP_TOPIC:
                continue
            data = bytes.fromhex(log["data"][2:])
            amount0 = int.from_bytes(data[0:32], "big", signed=True)
            amount1 = int.from_bytes(data[32:64], "big", signed=True)
            into, out = (amount0, -amount1) if amount0 > 0 else (amount1, -amount0)
            found[hop] = (int(log["logIndex"], 16), into, out)
        return [found[i] for i in sorted(found)]
