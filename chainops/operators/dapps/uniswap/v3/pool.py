"""A Uniswap V3 pool's state, and an exact offline swap over it.

The state holds slot0, the active liquidity and the initialized ticks of a contiguous
range of tick-bitmap words. The offline swap walks the ticks as ``UniswapV3Pool.swap``
does, word boundaries included (each boundary is a step of its own on chain, and steps
round separately), so its amounts equal QuoterV2's to the wei. A swap that reaches a
word that was not loaded raises :class:`TicksNotLoaded` naming the word, and the reader
loads up to it (see ``reader.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chainops.core.errors import ValidationError
from chainops.operators.dapps.errors import DustAmount, InsufficientLiquidity
from chainops.operators.dapps.uniswap.v3.math.swap_math import compute_swap_step
from chainops.operators.dapps.uniswap.v3.math.tick_bitmap import (
    next_initialized_tick_within_one_word,
    word_range,
)
from chainops.operators.dapps.uniswap.v3.math.tick_math import (
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
)


class TicksNotLoaded(ValidationError):
    """The swap reaches a tick-bitmap word that was not read (``word``, of ``pool``)."""

    def __init__(self, message: str, *, pool: str, word: int) -> None:
        super().__init__(message)
        self.pool = pool
        self.word = word


@dataclass(frozen=True)
class SwapResult:
    """What a pool swap would do: signed token deltas as the pool reports them."""

    amount0: int
    amount1: int
    sqrt_price_after: int
    liquidity_after: int
    ticks_crossed: int
    remaining: int = 0  # the part of the specified amount left when the price limit was hit
    tick_hint: int | None = None  # the tick, when it is not the price's own (on a boundary)

    @property
    def tick_after(self) -> int:
        """The pool's tick afterwards (computed on demand: quotes never need it)."""
        if self.tick_hint is not None:
            return self.tick_hint
        return get_tick_at_sqrt_ratio(self.sqrt_price_after)


@dataclass
class V3PoolState:
    """A snapshot of a V3 pool at ``block``: enough to price swaps offline."""

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
    gross: dict[int, int] = field(default_factory=dict)  # initialized tick -> liquidityGross

    def __post_init__(self) -> None:
        self._sorted = sorted(t // self.tick_spacing for t in self.ticks)

    def loaded(self, tick: int) -> bool:
        """Whether ``tick``'s bitmap word is loaded."""
        return self.words[0] <= (tick // self.tick_spacing) >> 8 <= self.words[1]

    @property
    def complete(self) -> bool:
        """Every word of the tick range is loaded: no swap can need more."""
        low, high = word_range(self.tick_spacing)
        return self.words[0] <= low and self.words[1] >= high

    def add_words(self, low: int, high: int, ticks: dict[int, tuple[int, int]]) -> None:
        """Extend the loaded range to ``[low, high]`` (adjacent to or covering the current
        one) with the initialized ticks read from those words: tick -> (gross, net)."""
        for tick, (gross, net) in ticks.items():
            self.ticks[tick], self.gross[tick] = net, gross
        self._sorted = sorted(t // self.tick_spacing for t in self.ticks)
        if self.words[0] > self.words[1]:
            self.words = (low, high)
        else:
            self.words = (min(low, self.words[0]), max(high, self.words[1]))

    # -- changes, as the pool's events report them --------------------------------------

    def on_swap(self, sqrt_price_x96: int, liquidity: int, tick: int) -> None:
        """A Swap event: it carries the pool's price, liquidity and tick afterwards."""
        self.sqrt_price_x96, self.liquidity, self.tick = sqrt_price_x96, liquidity, tick

    def on_liquidity(self, lower: int, upper: int, delta: int) -> None:
        """A Mint (``delta`` > 0) or Burn (< 0) of ``|delta|`` liquidity in [lower, upper):
        the ticks update as ``Tick.update`` does, the active liquidity when in range."""
        if delta == 0:
            return  # a burn of 0 only settles fees
        for tick, net in ((lower, delta), (upper, -delta)):
            if not self.loaded(tick):
                continue  # read with its word, later, at the state's block
            gross = self.gross.get(tick, 0) + delta
            if gross == 0:
                self.ticks.pop(tick, None)
                self.gross.pop(tick, None)
            else:
                self.ticks[tick] = self.ticks.get(tick, 0) + net
                self.gross[tick] = gross
        if lower <= self.tick < upper:
            self.liquidity += delta
        self._sorted = sorted(t // self.tick_spacing for t in self.ticks)

    def _next_tick(self, tick: int, lte: bool) -> tuple[int, bool]:
        """TickBitmap.nextInitializedTickWithinOneWord over the loaded words."""
        found, initialized, word = next_initialized_tick_within_one_word(
            self._sorted, tick, self.tick_spacing, lte
        )
        low, high = self.words
        if not low <= word <= high:
            raise TicksNotLoaded(
                f"the swap reaches tick word {word} of pool {self.address}, outside the "
                f"loaded words [{low}, {high}]",
                pool=self.address,
                word=word,
            )
        return found, initialized

    def swap(
        self, zero_for_one: bool, amount_specified: int, sqrt_price_limit_x96: int = 0
    ) -> SwapResult:
        """Simulate ``pool.swap``: ``amount_specified`` > 0 exact in, < 0 exact out."""
        if amount_specified == 0:
            raise ValidationError("swap amount must not be zero")
        limit = sqrt_price_limit_x96 or (MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1)
        if zero_for_one and not MIN_SQRT_RATIO < limit < self.sqrt_price_x96:
            raise InsufficientLiquidity(
                f"pool {self.address} is at its lowest price: it cannot sell token1",
                amount_in=0,
                amount_out=0,
            )
        if not zero_for_one and not self.sqrt_price_x96 < limit < MAX_SQRT_RATIO:
            raise InsufficientLiquidity(
                f"pool {self.address} is at its highest price: it cannot sell token0",
                amount_in=0,
                amount_out=0,
            )
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
                # Stopping inside a range ends the swap (the amount is used up): the tick
                # of the new price is only needed for the result, and found on demand.
                hint = None
                break
        else:
            hint = tick
        if zero_for_one == exact_in:
            amount0, amount1 = amount_specified - remaining, calculated
        else:
            amount0, amount1 = calculated, amount_specified - remaining
        return SwapResult(amount0, amount1, sqrt_p, liquidity, crossed, remaining, hint)

    def amount_out(self, token_in: str, amount_in: int) -> int:
        """Exact-input quote: what ``amount_in`` of ``token_in`` buys.

        Raises InsufficientLiquidity when the pool reaches its price limit first (it would
        take less than ``amount_in``), and DustAmount when nothing comes out.
        """
        zero_for_one = self._direction(token_in)
        result = self.swap(zero_for_one, amount_in)
        taken = result.amount0 if zero_for_one else result.amount1
        out = -(result.amount1 if zero_for_one else result.amount0)
        if result.remaining:
            raise InsufficientLiquidity(
                f"pool {self.address} can take only {taken} of the {amount_in} offered "
                f"(for {out}) before its price limit",
                amount_in=taken,
                amount_out=out,
            )
        if out <= 0:
            raise DustAmount(f"{amount_in} into pool {self.address} buys nothing")
        return out

    def amount_in(self, token_in: str, amount_out: int) -> int:
        """Exact-output quote: input of ``token_in`` needed for ``amount_out``."""
        zero_for_one = self._direction(token_in)
        result = self.swap(zero_for_one, -amount_out)
        received = -(result.amount1 if zero_for_one else result.amount0)
        paid = result.amount0 if zero_for_one else result.amount1
        if received != amount_out:
            raise InsufficientLiquidity(
                f"pool {self.address} cannot deliver {amount_out}: only {received} "
                f"(for {paid}) before its price limit",
                amount_in=paid,
                amount_out=received,
            )
        return paid

    def _direction(self, token_in: str) -> bool:
        if token_in.lower() == self.token0.lower():
            return True
        if token_in.lower() == self.token1.lower():
            return False
        raise ValidationError(f"{token_in} is not a token of pool {self.address}")
