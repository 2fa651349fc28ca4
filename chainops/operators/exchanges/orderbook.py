"""A local order book kept in sync by snapshot + diffs with update-id sequencing.

Binance's rule: drop diffs with ``u <= lastUpdateId`` of the snapshot; the
first one applied must straddle ``lastUpdateId + 1``; after that every diff
must start at the previous ``u + 1``. Anything else is a gap: the book is
no longer trustworthy and must be rebuilt from a new snapshot.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from decimal import Decimal

from chainops.core.errors import ChainopsError
from chainops.core.ids import TradingPair
from chainops.core.order import OrderSide

__all__ = ["Level", "OrderBook", "OrderBookGap"]

Level = tuple[Decimal, Decimal]  # (price, amount)
RawLevels = Iterable[Sequence[str]]
_CACHE_LIMIT = 100_000  # distinct level strings kept parsed per book (a few MB at most)


class OrderBookGap(ChainopsError):
    """A missed diff: the book must be resynced from a snapshot."""


class _Side:
    """Price -> amount, plus the prices kept sorted ascending."""

    __slots__ = ("amounts", "prices")

    def __init__(self) -> None:
        self.amounts: dict[Decimal, Decimal] = {}
        self.prices: list[Decimal] = []

    def update(self, rows: RawLevels, cache: dict[str, Decimal]) -> None:
        """Apply ``(price, amount)`` text rows; amount 0 removes the level (hot path).

        ``cache`` maps level text to Decimal: a stream repeats the same prices and
        amounts, and a dict hit is several times cheaper than parsing.
        """
        amounts, prices, get = self.amounts, self.prices, cache.get
        for price_text, amount_text in rows:
            price = get(price_text)
            if price is None:
                price = cache[price_text] = Decimal(price_text)
            amount = get(amount_text)
            if amount is None:
                amount = cache[amount_text] = Decimal(amount_text)
            if amount:
                if price not in amounts:
                    bisect.insort(prices, price)
                amounts[price] = amount
            elif amounts.pop(price, None) is not None:
                del prices[bisect.bisect_left(prices, price)]

    def clear(self) -> None:
        self.amounts.clear()
        self.prices.clear()


class OrderBook:
    """Bids and asks of one pair. ``synced`` is False until a snapshot lands and after a gap."""

    def __init__(self, trading_pair: TradingPair | str) -> None:
        self.trading_pair = TradingPair(trading_pair)
        self._bids = _Side()
        self._asks = _Side()
        self.last_update_id = 0
        self.synced = False
        self._expect_straddle = False
        self._parsed: dict[str, Decimal] = {}

    # -- sync --------------------------------------------------------------

    def apply_snapshot(self, last_update_id: int, bids: RawLevels, asks: RawLevels) -> None:
        """Replace the book with a snapshot."""
        self._bids.clear()
        self._asks.clear()
        self._parsed.clear()
        self._bids.update(bids, self._parsed)
        self._asks.update(asks, self._parsed)
        self.last_update_id = last_update_id
        self.synced = True
        self._expect_straddle = True

    def apply_diff(self, first: int, last: int, bids: RawLevels, asks: RawLevels) -> bool:
        """Apply one diff; False if it was already covered, :class:`OrderBookGap` on a gap."""
        if not self.synced:
            raise OrderBookGap(f"{self.trading_pair}: no snapshot yet")
        if last <= self.last_update_id:
            return False
        expected = self.last_update_id + 1
        ok = first <= expected if self._expect_straddle else first == expected
        if not ok:
            self.synced = False
            raise OrderBookGap(
                f"{self.trading_pair}: diff {first}..{last} does not follow {self.last_update_id}"
            )
        self._expect_straddle = False
        parsed = self._parsed
        if len(parsed) > _CACHE_LIMIT:
            parsed.clear()
        if bids:
            self._bids.update(bids, parsed)
        if asks:
            self._asks.update(asks, parsed)
        self.last_update_id = last
        return True

    def invalidate(self) -> None:
        """Mark the book stale (e.g. the stream dropped)."""
        self.synced = False

    # -- queries -----------------------------------------------------------

    @property
    def best_bid(self) -> Level | None:
        prices = self._bids.prices
        return (prices[-1], self._bids.amounts[prices[-1]]) if prices else None

    @property
    def best_ask(self) -> Level | None:
        prices = self._asks.prices
        return (prices[0], self._asks.amounts[prices[0]]) if prices else None

    @property
    def mid(self) -> Decimal | None:
        bid, ask = self.best_bid, self.best_ask
        if bid is None or ask is None:
            return None
        return (bid[0] + ask[0]) / 2

    def bids(self, depth: int | None = None) -> list[Level]:
        """Best first."""
        prices = self._bids.prices[::-1][:depth]
        return [(p, self._bids.amounts[p]) for p in prices]

    def asks(self, depth: int | None = None) -> list[Level]:
        """Best first."""
        prices = self._asks.prices[:depth]
        return [(p, self._asks.amounts[p]) for p in prices]

    def vwap(self, side: OrderSide | str, amount: Decimal) -> Decimal | None:
        """Average price to ``side`` (BUY takes asks) ``amount`` of base now; None if too thin."""
        levels = self.asks() if OrderSide(side) is OrderSide.BUY else self.bids()
        left, cost = amount, Decimal(0)
        for price, size in levels:
            take = min(left, size)
            cost += take * price
            left -= take
            if not left:
                return cost / amount
        return None

    def __repr__(self) -> str:
        return (
            f"OrderBook({self.trading_pair}, bid={self.best_bid}, ask={self.best_ask}, "
            f"update_id={self.last_update_id}, synced={self.synced})"
        )
