"""The replayer: streams a recorded time range back, paced or as fast as possible.

``speed=1`` keeps the recorded gaps between events, ``speed=10`` plays ten
times faster, ``speed=None`` does not wait at all. Chunks that cannot be
read are skipped with a warning (see :attr:`Replayer.skipped`); the rest is
replayed.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path

import msgspec

from chainops.core.errors import ValidationError
from chainops.marketdata.chunks import ChunkInfo, SkippedChunk, read_chunks, read_index
from chainops.marketdata.codec import EventCodec, at_ns
from chainops.marketdata.messages import market_data
from chainops.marketdata.recorder import SUFFIX, market_dir
from chainops.operators.exchanges.market_events import MarketEvent
from chainops.queues import Publisher

__all__ = ["ReplayRangeError", "Replayer"]

log = logging.getLogger(__name__)


class ReplayRangeError(ValidationError):
    """The asked time range is empty or outside what was recorded for that market."""


class Replayer:
    """Reads what a :class:`~chainops.marketdata.recorder.Recorder` wrote under ``root``."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._codec = EventCodec()
        self.skipped: list[SkippedChunk] = []

    def files(self, platform: str, pair: str) -> list[Path]:
        return sorted(market_dir(self.root, platform, pair).glob(f"*{SUFFIX}"))

    def span(self, platform: str, pair: str) -> tuple[int, int] | None:
        """First and last recorded event time (ns) of a market, None when nothing is."""
        return _span(self._indexes(platform, pair))

    def _indexes(self, platform: str, pair: str) -> dict[Path, list[ChunkInfo]]:
        """Each of the market's files with its chunk index (read once per replay)."""
        return {path: read_index(path) for path in self.files(platform, pair)}

    async def events(
        self,
        platform: str,
        pair: str,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        speed: float | None = None,
    ) -> AsyncIterator[MarketEvent]:
        """Events with ``start <= at < end`` (bounds default to the recording), in recorded
        order; recordings whose times overlap (two recorder runs) are merged by event time."""
        if speed is not None and (
            isinstance(speed, bool) or not isinstance(speed, int | float) or not speed > 0
        ):
            raise ValidationError(f"speed must be positive or None, got {speed!r}")
        for bound, name in ((start, "start"), (end, "end")):
            if bound is not None and not isinstance(bound, datetime):
                raise ValidationError(f"{name} must be a datetime or None, got {bound!r}")
        indexes = self._indexes(platform, pair)
        start_ns, end_ns = self._range(indexes, platform, pair, start, end)
        first_ns: int | None = None
        wall0 = 0.0
        for group in _overlapping(indexes, start_ns, end_ns):
            streams = [self._entries(path, indexes[path], start_ns, end_ns) for path in group]
            # One file: its recorded order. Files whose times overlap: merged by event time.
            merged = streams[0] if len(streams) == 1 else heapq.merge(*streams, key=_time)
            for ns, event in merged:
                if speed is not None:
                    if first_ns is None:
                        first_ns, wall0 = ns, time.monotonic()
                    delay = wall0 + (ns - first_ns) / 1e9 / speed - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                yield event

    def _entries(
        self, path: Path, infos: list[ChunkInfo], start_ns: int, end_ns: int
    ) -> Iterator[tuple[int, MarketEvent]]:
        """``(time ns, event)`` of one file within the range, in recorded order."""
        for payload in read_chunks(path, start_ns, end_ns, self.skipped, infos):
            try:
                entries = self._codec.decode_chunk(payload)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                log.warning("skipped undecodable chunk of %s: %s", path, exc)
                self.skipped.append(SkippedChunk(path, -1, f"undecodable: {exc}"))
                continue
            for ns, event in entries:
                if start_ns <= ns < end_ns:
                    yield ns, event

    async def replay(
        self,
        platform: str,
        pair: str,
        sink: Callable[[MarketEvent], Awaitable[object]],
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        speed: float | None = None,
    ) -> int:
        """Hand every event of the range to ``sink``; returns how many."""
        n = 0
        async for event in self.events(platform, pair, start, end, speed=speed):
            await sink(event)
            n += 1
        return n

    async def to_queue(
        self,
        platform: str,
        pair: str,
        publisher: Publisher,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        speed: float | None = None,
    ) -> int:
        """Publish the range as :class:`~chainops.marketdata.messages.MarketData` messages."""

        async def send(event: MarketEvent) -> None:
            await publisher.publish(market_data(event))

        return await self.replay(platform, pair, send, start, end, speed=speed)

    def _range(
        self,
        indexes: dict[Path, list[ChunkInfo]],
        platform: str,
        pair: str,
        start: datetime | None,
        end: datetime | None,
    ) -> tuple[int, int]:
        span = _span(indexes)
        if span is None:
            raise ReplayRangeError(f"nothing recorded for {platform} {pair} under {self.root}")
        start_ns = span[0] if start is None else at_ns(start)
        end_ns = span[1] + 1 if end is None else at_ns(end)
        if start is not None and end is not None and start_ns >= end_ns:
            raise ReplayRangeError(f"empty range: start {start} is not before end {end}")
        if end_ns <= span[0] or start_ns > span[1]:
            raise ReplayRangeError(
                f"range {start} .. {end} is outside the recording of {platform} {pair} "
                f"({_iso(span[0])} .. {_iso(span[1])})"
            )
        return start_ns, end_ns


def _span(indexes: dict[Path, list[ChunkInfo]]) -> tuple[int, int] | None:
    infos = [i for chunk_infos in indexes.values() for i in chunk_infos]
    if not infos:
        return None
    return min(i.first_ns for i in infos), max(i.last_ns for i in infos)


def _overlapping(
    indexes: dict[Path, list[ChunkInfo]], start_ns: int, end_ns: int
) -> list[list[Path]]:
    """The files in time order, those whose times overlap grouped together (so only a
    group's files are open at once)."""
    spans = []
    for path, infos in indexes.items():
        if infos:
            first, last = min(i.first_ns for i in infos), max(i.last_ns for i in infos)
            if last >= start_ns and first < end_ns:
                spans.append((first, last, path))
    groups: list[list[Path]] = []
    reach = None
    for first, last, path in sorted(spans, key=lambda s: (s[0], s[2])):
        if reach is not None and first <= reach:
            groups[-1].append(path)
            reach = max(reach, last)
        else:
            groups.append([path])
            reach = last
    return groups


def _time(entry: tuple[int, MarketEvent]) -> int:
    return entry[0]


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9).astimezone().isoformat()
