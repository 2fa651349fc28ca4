"""One symbol's order book: FIFO queues per price level and its depth diffs."""

from __future__ import annotations

import bisect
from collections import deque
from decimal import Decimal

from chainops.devnet.exchange.filters import SymbolSpec, fmt
from chainops.devnet.exchange.orders import SimOrder

__all__ = ["Book"]


class Book:
    """One symbol's resting orders: FIFO queues per price level."""

    def __init__(self, spec: SymbolSpec) -> None:
        self.spec = spec
        self.levels: dict[str, dict[Decimal, deque[SimOrder]]] = {"BUY": {}, "SELL": {}}
        self.prices: dict[str, list[Decimal]] = {"BUY": [], "SELL": []}  # ascending
        self.update_id = 1
        self.changed: dict[str, set[Decimal]] = {"BUY": set(), "SELL": set()}

    def best(self, side: str) -> Decimal | None:
        prices = self.prices[side]
        if not prices:
            return None
        return prices[-1] if side == "BUY" else prices[0]

    def level_qty(self, side: str, price: Decimal) -> Decimal:
        queue = self.levels[side].get(price)
        return sum((o.remaining for o in queue), Decimal(0)) if queue else Decimal(0)

    def add(self, order: SimOrder) -> None:
        assert order.price is not None
        side = self.levels[order.side]
        queue = side.get(order.price)
        if queue is None:
            queue = side[order.price] = deque()
            bisect.insort(self.prices[order.side], order.price)
        queue.append(order)
        self.changed[order.side].add(order.price)

    def remove(self, order: SimOrder) -> None:
        assert order.price is not None
        queue = self.levels[order.side][order.price]
        queue.remove(order)
        self._drop_if_empty(order.side, order.price)
        self.changed[order.side].add(order.price)

    def _drop_if_empty(self, side: str, price: Decimal) -> None:
        if not self.levels[side][price]:
            del self.levels[side][price]
            prices = self.prices[side]
            del prices[bisect.bisect_left(prices, price)]

    def crossing(self, side: str, limit: Decimal | None) -> list[Decimal]:
        """Opposite levels a taker on ``side`` may trade with, best first."""
        if side == "BUY":
            asks = self.prices["SELL"]
            end = len(asks) if limit is None else bisect.bisect_right(asks, limit)
            return asks[:end]
        bids = self.prices["BUY"]
        start = 0 if limit is None else bisect.bisect_left(bids, limit)
        return bids[start:][::-1]

    def top(self, side: str) -> tuple[Decimal, Decimal] | None:
        """Best price and its quantity on one side."""
        best = self.best(side)
        return None if best is None else (best, self.level_qty(side, best))

    def depth(self, limit: int) -> dict[str, list[list[str]]]:
        bids = self.prices["BUY"][::-1][:limit]
        asks = self.prices["SELL"][:limit]
        return {
            "bids": [[fmt(p), fmt(self.level_qty("BUY", p))] for p in bids],
            "asks": [[fmt(p), fmt(self.level_qty("SELL", p))] for p in asks],
        }

    def take_diff(self) -> tuple[int, int, list[list[str]], list[list[str]]] | None:
        """The depth diff since the last call (U, u, bids, asks), or None if nothing moved."""
        n = len(self.changed["BUY"]) + len(self.changed["SELL"])
        if not n:
            return None
        first = self.update_id + 1
        self.update_id += n  # one update id per changed level
        sides = [
            [[fmt(p), fmt(self.level_qty(s, p))] for p in sorted(self.changed[s])]
            for s in ("BUY", "SELL")
        ]
        self.changed = {"BUY": set(), "SELL": set()}
        return first, self.update_id, sides[0], sides[1]
