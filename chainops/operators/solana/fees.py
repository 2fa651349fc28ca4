"""Priority fees: the compute-unit limit from simulation, the price from the fee market.

* **Limit**: the units a simulation consumed, plus ``headroom_bps`` (default
  +10 %) and at least ``min_headroom`` units (default 1,000), never above the
  runtime's 1.4 M. Simulation is exact for the state it ran on; the headroom
  covers state that moves before landing (an account created or grown meanwhile),
  while a tight limit keeps the priority fee (price x *requested* limit) low.
* **Price**: the ``percentile`` (default 75th) of the per-slot prices from
  ``getRecentPrioritizationFees`` for the accounts the transaction writes, never
  above ``cap`` (default 1,000,000 micro-lamports = 1 lamport per unit, i.e. at
  most 0.0002 SOL of priority fee for a 200k-unit transaction) nor below ``floor``.
  Fetched at most once per ``cache_seconds`` per account set (concurrent sends
  share one fetch), and refreshed in the background once half that old: the
  market moves per slot, not per transaction.
* Both are overridable per operator and per send.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from chainops.core.errors import ValidationError
from chainops.operators.refreshing import Refreshing
from chainops.operators.solana.programs import MAX_COMPUTE_UNIT_LIMIT

__all__ = ["FeeOracle", "PriorityFeePolicy", "compute_unit_limit", "percentile_price"]


# Cached prices are pruned of stale entries once this many sets of accounts are known.
_PRUNE_AT = 256


@dataclass(frozen=True)
class PriorityFeePolicy:
    """How the operator prices compute; every field has a one-line reason above."""

    percentile: int = 75
    cap: int = 1_000_000
    floor: int = 0
    headroom_bps: int = 11_000
    min_headroom: int = 1_000
    cache_seconds: float = 2.0
    compute_unit_price: int | None = None  # fixed price: skips the market
    compute_unit_limit: int | None = None  # fixed limit: skips the simulation's figure

    def __post_init__(self) -> None:
        if not 0 <= self.percentile <= 100:
            raise ValidationError("percentile must be within 0..100")
        if self.floor < 0 or self.cap < self.floor:
            raise ValidationError("need 0 <= floor <= cap")
        if self.headroom_bps < 10_000:
            raise ValidationError("headroom_bps below 10000 would cut the simulated units")
        if self.compute_unit_limit is not None and not (
            0 < self.compute_unit_limit <= MAX_COMPUTE_UNIT_LIMIT
        ):
            raise ValidationError(f"compute_unit_limit must be within 1..{MAX_COMPUTE_UNIT_LIMIT}")


def percentile_price(prices: Sequence[int], percentile: int) -> int:
    """Nearest-rank percentile of the prices (0 for an empty market)."""
    if not prices:
        return 0
    ordered = sorted(prices)
    rank = max(1, math.ceil(percentile / 100 * len(ordered)))
    return ordered[rank - 1]


def compute_unit_limit(units_consumed: int, policy: PriorityFeePolicy) -> int:
    """The limit to request for a transaction that simulated at ``units_consumed``."""
    padded = max(
        -(-units_consumed * policy.headroom_bps // 10_000), units_consumed + policy.min_headroom
    )
    return min(padded, MAX_COMPUTE_UNIT_LIMIT)


class FeeOracle:
    """Compute-unit prices from the fee market, cached per set of accounts."""

    def __init__(
        self,
        fetch: Callable[[Sequence[str]], Awaitable[list[int]]],
        policy: PriorityFeePolicy,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._market = fetch
        self.policy = policy
        # One entry per set of written accounts, pruned of stale ones past _PRUNE_AT: a
        # long-running operator paying ever new recipients does not keep every price.
        self._prices: Refreshing[frozenset[str], int] = Refreshing(
            self._price_of, lambda: self.policy.cache_seconds, clock=clock, keep=_PRUNE_AT
        )

    @property
    def fetches(self) -> int:
        """Market fetches made so far."""
        return self._prices.fetches

    def cached_price(self, accounts: Sequence[str], override: int | None = None) -> int | None:
        """The price if it is known without a fetch (override, fixed or fresh), else None.

        Once a price is half ``cache_seconds`` old, a refresh starts in the background
        (so call it from the event loop): a steady stream of sends never waits for the market.
        """
        if override is not None:
            if override < 0:
                raise ValidationError("compute unit price must be >= 0")
            return override
        if self.policy.compute_unit_price is not None:
            return self.policy.compute_unit_price
        return self._prices.cached(frozenset(accounts))

    async def price(self, accounts: Sequence[str], override: int | None = None) -> int:
        """The compute-unit price to pay for a transaction writing ``accounts``."""
        known = self.cached_price(accounts, override)
        if known is not None:
            return known
        return await self._prices.get(frozenset(accounts))

    def fetching(self, accounts: Sequence[str]) -> asyncio.Future[int]:
        """The market fetch for ``accounts`` in flight, started if there is none."""
        return self._prices.fetching(frozenset(accounts))

    async def stop(self) -> None:
        """Cancel the fetches still in flight (closing: a background refresh has no waiter)."""
        await self._prices.stop()

    async def _price_of(self, key: frozenset[str]) -> int:
        market = percentile_price(await self._market(sorted(key)), self.policy.percentile)
        return min(max(market, self.policy.floor), self.policy.cap)
