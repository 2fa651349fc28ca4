"""A Uniswap V3 pool's state read from the chain, and an exact offline swap over it.

The state holds slot0, the active liquidity and the initialized ticks of the tick
bitmap words around the current tick (read through TickLens). The offline swap
walks the ticks as ``UniswapV3Pool.swap`` does, word boundaries included (each
boundary is a step of its own on chain, and steps round separately), so its
amounts equal QuoterV2's to the wei.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Any

from chainops.abis import decode_output, load_abi
from chainops.core.errors import ValidationError
from chainops.operators.dapps.uniswap.v3.math.swap_math import compute_swap_step
from chainops.operators.dapps.uniswap.v3.math.tick_math import (
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
)
from chainops.operators.evm.operator import EvmOperator

# 2 words each side: at spacing 10 that is +-5120 ticks (a price move of ~1.7x), more
# than one swap crosses on a liquid pool, in one small batch; a swap that leaves the
# loaded words raises TicksNotLoaded and the quote reads a wider span.
DEFAULT_WORD_RADIUS = 2


class TicksNotLoaded(ValidationError):
    """The swap reaches tick words that were not read; reload with a wider radius."""


class InsufficientLiquidity(ValidationError):
    """The pool cannot fill the trade before its price limit.

    ``available`` is what it could deliver (exact output) or take (exact input), raw.
    """

    def __init__(self, message: str, *, available: int) -> None:
        super().__init__(message)
        self.available = available


@dataclass(frozen=True)
class SwapResult:
    """What a pool swap would do: signed token deltas as the pool reports them."""

    amount0: int
    amount1: int
    sqrt_price_after: int
    tick_after: int
    liquidity_after: int
    ticks_crossed: int


@dataclass
class V3PoolState:
    """A snapshot of a V3 pool: enough to price swaps offline."""

    address: str
    token0: str
    token1: str
    fee: int
    tick_spacing: int
    sqrt_price_x96: int
    tick: int
    liquidity: int
    ticks: dict[int, int] = field(default_factory=dict)  # initialized tick -> liquidityNet
    words: tuple[int, int] = (0, -1)  # the loaded bitmap word range, inclusive
    block: int | None = None

    def __post_init__(self) -> None:
        self._sorted = sorted(t // self.tick_spacing for t in self.ticks)

    def _next_tick(self, tick: int, lte: bool) -> tuple[int, bool]:
        """TickBitmap.nextInitializedTickWithinOneWord over the loaded ticks."""
        compressed = tick // self.tick_spacing
        if lte:
            word = compressed >> 8
            self._check_word(word)
            start = word << 8
            i = bisect_right(self._sorted, compressed) - 1
            if i >= 0 and self._sorted[i] >= start:
                return self._sorted[i] * self.tick_spacing, True
            return start * self.tick_spacing, False
        word = (compressed + 1) >> 8
        self._check_word(word)
        end = (word << 8) + 255
        i = bisect_left(self._sorted, compressed + 1)
        if i < len(self._sorted) and self._sorted[i] <= end:
            return self._sorted[i] * self.tick_spacing, True
        return end * self.tick_spacing, False

    def _check_word(self, word: int) -> None:
        low, high = self.words
        if not low <= word <= high:
            raise TicksNotLoaded(
                f"the swap leaves the loaded tick words [{low}, {high}] of pool {self.address}; "
                "load the pool with a wider word radius"
            )

    def swap(
        self, zero_for_one: bool, amount_specified: int, sqrt_price_limit_x96: int = 0
    ) -> SwapResult:
        """Simulate ``pool.swap``: ``amount_specified`` > 0 exact in, < 0 exact out."""
        if amount_specified == 0:
            raise ValidationError("swap amount must not be zero")
        limit = sqrt_price_limit_x96 or (MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1)
        if zero_for_one and not MIN_SQRT_RATIO < limit < self.sqrt_price_x96:
            raise ValidationError("price limit must be below the current price")
        if not zero_for_one and not self.sqrt_price_x96 < limit < MAX_SQRT_RATIO:
            raise ValidationError("price limit must be above the current price")
        exact_in = amount_specified > 0
        remaining, calculated = amount_specified, 0
        sqrt_p, tick, liquidity, crossed = self.sqrt_price_x96, self.tick, self.liquidity, 0
        while remaining != 0 and sqrt_p != limit:
            start = sqrt_p
            tick_next, initialized = self._next_tick(tick, zero_for_one)
            tick_next = min(max(tick_next, MIN_TICK), MAX_TICK)
            sqrt_next = get_sqrt_ratio_at_tick(tick_next)
            beyond = sqrt_next < limit if zero_for_one else sqrt_next > limit
            target = limit if beyond else sqrt_next
            step = compute_swap_step(sqrt_p, target, liquidity, remaining, self.fee)
            sqrt_p = step.sqrt_price_next
            if exact_in:
                remaining -= step.amount_in + step.fee_amount
                calculated -= step.amount_out
            else:
                remaining += step.amount_out
                calculated += step.amount_in + step.fee_amount
            if sqrt_p == sqrt_next:
                if initialized:
                    net = self.ticks[tick_next]
                    liquidity += -net if zero_for_one else net
                    crossed += 1
                tick = tick_next - 1 if zero_for_one else tick_next
            elif sqrt_p != start:
                tick = get_tick_at_sqrt_ratio(sqrt_p)
        if zero_for_one == exact_in:
            amount0, amount1 = amount_specified - remaining, calculated
        else:
            amount0, amount1 = calculated, amount_specified - remaining
        return SwapResult(amount0, amount1, sqrt_p, tick, liquidity, crossed)

    def amount_out(self, token_in: str, amount_in: int) -> int:
        """Exact-input quote: what ``amount_in`` of ``token_in`` buys."""
        zero_for_one = self._direction(token_in)
        result = self.swap(zero_for_one, amount_in)
        out = -(result.amount1 if zero_for_one else result.amount0)
        return out

    def amount_in(self, token_in: str, amount_out: int) -> int:
        """Exact-output quote: input of ``token_in`` needed for ``amount_out``."""
        zero_for_one = self._direction(token_in)
        result = self.swap(zero_for_one, -amount_out)
        received = -(result.amount1 if zero_for_one else result.amount0)
        if received != amount_out:
            raise InsufficientLiquidity(
                f"pool {self.address} cannot deliver {amount_out}: only {received} before the "
                "price limit",
                available=received,
            )
        return result.amount0 if zero_for_one else result.amount1

    def _direction(self, token_in: str) -> bool:
        if token_in.lower() == self.token0.lower():
            return True
        if token_in.lower() == self.token1.lower():
            return False
        raise ValidationError(f"{token_in} is not a token of pool {self.address}")


@dataclass(frozen=True)
class PoolInfo:
    """What never changes about a pool: read once, cached by the caller."""

    address: str
    token0: str
    token1: str
    fee: int
    tick_spacing: int


async def pool_info(evm: EvmOperator, pool: str) -> PoolInfo:
    """Read a pool's tokens, fee and tick spacing."""
    handle = evm.contract(pool, load_abi("UniswapV3Pool"))

    async def read(function: str) -> str:
        return str(handle.decode_result(function, await evm.call(handle.request(function))))

    token0, token1, fee, spacing = await asyncio.gather(
        read("token0"), read("token1"), read("fee"), read("tickSpacing")
    )
    return PoolInfo(str(handle.address), token0, token1, int(fee), int(spacing))


async def load_pool(
    evm: EvmOperator,
    info: PoolInfo,
    tick_lens: str,
    *,
    block: int,
    word_radius: int = DEFAULT_WORD_RADIUS,
    hint_tick: int | None = None,
) -> V3PoolState:
    """Read a pool's slot0, liquidity and the initialized ticks near its price at ``block``.

    With ``hint_tick`` (the tick seen last time) the tick words are read in the same
    batch as slot0; if the price has moved out of them, they are read again.
    """
    handle = evm.contract(info.address, load_abi("UniswapV3Pool"))
    lens = evm.contract(tick_lens, load_abi("TickLens"))

    async def read(function: str) -> Any:
        return handle.decode_result(function, await evm.call(handle.request(function), block))

    async def word(index: int) -> list[tuple[int, int, int]]:
        request = lens.request("getPopulatedTicksInWord", handle.address, index)
        raw = await evm.call(request, block)
        ticks: list[tuple[int, int, int]] = decode_output(lens.abi, "getPopulatedTicksInWord", raw)
        return ticks

    def words_around(tick: int) -> tuple[int, int]:
        centre = (tick // info.tick_spacing) >> 8
        return centre - word_radius, centre + word_radius

    span = words_around(hint_tick) if hint_tick is not None else None
    pages: list[list[tuple[int, int, int]]] = []
    reads = [read("slot0"), read("liquidity")]
    if span is not None:
        reads += [word(i) for i in range(span[0], span[1] + 1)]
    slot0, liquidity, *pages = await asyncio.gather(*reads)
    sqrt_price, tick = int(slot0[0]), int(slot0[1])
    wanted = words_around(tick)
    if span is None or not span[0] <= (tick // info.tick_spacing) >> 8 <= span[1]:
        span = wanted
        pages = list(await asyncio.gather(*(word(i) for i in range(span[0], span[1] + 1))))
    ticks = {int(t[0]): int(t[1]) for page in pages for t in page}
    return V3PoolState(
        address=info.address,
        token0=info.token0,
        token1=info.token1,
        fee=info.fee,
        tick_spacing=info.tick_spacing,
        sqrt_price_x96=sqrt_price,
        tick=tick,
        liquidity=int(liquidity),
        ticks=ticks,
        words=span,
        block=block,
    )
