"""Recorded books on a paper venue: a maker account re-quotes every replayed book.

:class:`BookMirror` is a replay sink. On each recorded :class:`Orderbook` it
cancels the maker's resting orders of that pair and rests the recorded levels
again, through the venue's public API, so the paper venue's book follows
recorded history and any other account trades against it.
"""

from __future__ import annotations

from typing import Any, Protocol

from chainops.operators.exchanges.market_events import MarketEvent, Orderbook

__all__ = ["BookMirror", "Quoting"]


class Quoting(Protocol):
    """What the mirror needs of an exchange operator (``BinanceSpot`` is one)."""

    async def place(
        self, trading_pair: Any, side: Any, order_type: Any, amount: Any, price: Any = None
    ) -> Any: ...

    async def cancel_all(self, trading_pair: Any) -> Any: ...


class BookMirror:
    """Rests the top ``depth`` recorded levels of each side for the maker ``exchange``."""

    # Five levels a side cover what a test or paper order walks through; more costs requests.
    def __init__(self, exchange: Quoting, *, depth: int = 5) -> None:
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self.exchange, self.depth = exchange, depth
        self.books = 0

    async def __call__(self, event: MarketEvent) -> None:
        if not isinstance(event, Orderbook):
            return
        pair = event.trading_pair
        await self.exchange.cancel_all(pair)
        for side, levels in (("buy", event.bids), ("sell", event.asks)):
            for price, amount in levels[: self.depth]:
                await self.exchange.place(pair, side, "limit", amount, price)
        self.books += 1
