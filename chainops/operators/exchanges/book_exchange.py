"""OrderBookExchange: an ExchangeOperator that also keeps order books in sync."""

from __future__ import annotations

import asyncio
import logging
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chainops.core.errors import RpcTransientError
from chainops.core.ids import TradingPair
from chainops.operators.exchanges.market_events import Orderbook
from chainops.operators.exchanges.operator import ExchangeOperator
from chainops.operators.exchanges.orderbook import OrderBook, OrderBookGap

__all__ = ["DepthDiff", "DepthSnapshot", "OrderBookExchange"]

log = logging.getLogger("chainops.exchanges")

RawLevels = Sequence[Sequence[str]]
MAX_BUFFERED = 10_000  # diffs kept while a snapshot is fetched; older ones are useless anyway
RETRY_DELAY = 0.05  # seconds between snapshot attempts: short, the book is unusable meanwhile


@dataclass(frozen=True)
class DepthSnapshot:
    last_update_id: int
    bids: RawLevels
    asks: RawLevels


@dataclass(frozen=True)
class DepthDiff:
    first: int
    last: int
    bids: RawLevels
    asks: RawLevels


class OrderBookExchange(ExchangeOperator):
    """Books synced by snapshot + diffs; a gap resyncs that pair only."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._books: dict[TradingPair, OrderBook] = {}
        self._buffers: dict[TradingPair, list[DepthDiff]] = {}
        self._resyncs: dict[TradingPair, asyncio.Task[None]] = {}
        self.resync_count: dict[TradingPair, int] = {}  # snapshots taken per pair
        # levels per side in the Orderbook event after each diff; 0 publishes none (cheaper)
        self.publish_books = 20

    @abstractmethod
    async def _venue_snapshot(self, pair: TradingPair) -> DepthSnapshot: ...

    @abstractmethod
    async def _venue_watch_depth(self, pairs: Sequence[TradingPair]) -> None:
        """Subscribe to depth diffs of ``pairs``; they arrive through :meth:`_on_depth`."""

    def book(self, trading_pair: TradingPair | str) -> OrderBook:
        """The live book of a watched pair."""
        return self._books[self.rule(trading_pair).trading_pair]

    async def watch_book(self, trading_pair: TradingPair | str, timeout: float = 10.0) -> OrderBook:
        """Start syncing a pair's book and return it once it is synced."""
        pair = self.rule(trading_pair).trading_pair
        if pair not in self._books:
            self._books[pair] = OrderBook(pair)
            self._buffers[pair] = []
            await self._venue_watch_depth([pair])
            self._schedule_resync(pair)
        async with asyncio.timeout(timeout):
            await asyncio.shield(self._resyncs[pair])
        return self._books[pair]

    def _on_depth(self, pair: TradingPair, diff: DepthDiff) -> None:
        book = self._books.get(pair)
        if book is None:
            return
        if not book.synced:
            buffer = self._buffers[pair]
            buffer.append(diff)
            if len(buffer) > MAX_BUFFERED:
                del buffer[: len(buffer) - MAX_BUFFERED]  # the replay will gap and refetch
            self._schedule_resync(pair)
            return
        try:
            book.apply_diff(diff.first, diff.last, diff.bids, diff.asks)
        except OrderBookGap as exc:
            log.info("%s; resyncing", exc)
            self._buffers[pair] = [diff]
            self._schedule_resync(pair)
            return
        if self.publish_books:
            self.events.publish(
                Orderbook(
                    platform=self.platform.name,
                    trading_pair=pair,
                    bids=tuple(book.bids(self.publish_books)),
                    asks=tuple(book.asks(self.publish_books)),
                    update_id=diff.last,
                )
            )

    def _on_depth_reconnect(self) -> None:
        """The depth stream dropped: every book may have missed diffs."""
        for pair, book in self._books.items():
            book.invalidate()
            self._buffers[pair] = []
            self._schedule_resync(pair)

    def _schedule_resync(self, pair: TradingPair) -> None:
        running = self._resyncs.get(pair)
        if running is None or running.done():
            self._resyncs[pair] = self._spawn(self._resync(pair))

    async def _resync(self, pair: TradingPair) -> None:
        book = self._books[pair]
        self.resync_count[pair] = self.resync_count.get(pair, 0) + 1
        while True:
            try:
                snapshot = await self._venue_snapshot(pair)
            except RpcTransientError as exc:
                log.info("%s snapshot failed, retrying: %s", pair, exc)
                await asyncio.sleep(RETRY_DELAY)
                continue
            book.apply_snapshot(snapshot.last_update_id, snapshot.bids, snapshot.asks)
            pending, self._buffers[pair] = self._buffers[pair], []
            try:
                for diff in pending:
                    book.apply_diff(diff.first, diff.last, diff.bids, diff.asks)
                return
            except OrderBookGap:
                # the snapshot is older than the buffered diffs: take a newer one
                self._buffers[pair] = pending + self._buffers[pair]
                book.invalidate()
                await asyncio.sleep(RETRY_DELAY)
