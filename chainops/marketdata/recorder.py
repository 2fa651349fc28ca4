"""The recorder: appends normalized market events per market to chunked files.

Events are buffered per market (platform, pair) and written as one chunk
every ``chunk_events`` events or on :meth:`Recorder.flush`. A market's
current file rotates when it would pass ``max_file_bytes`` or when the UTC
day of the events changes. Files live at ``<root>/<platform>/<PAIR>/``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

import msgspec

from chainops.core.errors import ValidationError
from chainops.marketdata.chunks import append_chunk
from chainops.marketdata.codec import EventCodec
from chainops.marketdata.messages import MarketData
from chainops.operators.exchanges.market_events import MarketEvent
from chainops.queues import Actor, MessageCodec, Transport

__all__ = ["Recorder", "market_dir"]

log = logging.getLogger(__name__)

SUFFIX = ".chmd"


def market_dir(root: Path, platform: str, pair: str) -> Path:
    """``<root>/<platform>/<pair>``; each must be one plain path component (ValidationError)."""
    return root / _component(platform, "platform") / _component(pair, "trading pair")


def _component(name: object, what: str) -> str:
    # A name from a queue is data, not a path: it never leads out of the root.
    text = str(name) if isinstance(name, str) else None
    if not text or text in (".", "..") or any(c in text for c in "/\\\0"):
        raise ValidationError(f"{what} {name!r} cannot name a recording directory")
    return text


def _count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{what} must be a positive int, got {value!r}")
    return value


@dataclass
class _Market:
    directory: Path
    buffer: list[tuple[str, int, MarketEvent]] = field(default_factory=list)
    path: Path | None = None
    day: str = ""
    size: int = 0
    files: int = 0


class Recorder:
    """Records market events; use as a context manager (``with``) or call :meth:`close`."""

    # 1024 events is a few tens of kB per chunk: cheap to skip when seeking, cheap to lose.
    def __init__(
        self,
        root: Path | str,
        *,
        chunk_events: int = 1024,
        max_file_bytes: int = 64 * 1024 * 1024,
        rotate_daily: bool = True,
    ) -> None:
        self.root = Path(root)
        self.chunk_events = _count(chunk_events, "chunk_events")
        self.max_file_bytes = _count(max_file_bytes, "max_file_bytes")
        self.rotate_daily = rotate_daily
        self._codec = EventCodec()
        self._markets: dict[tuple[str, str], _Market] = {}
        self.recorded = 0
        self.bytes_written = 0

    def record(self, event: MarketEvent) -> None:
        """Buffer one event; writes a chunk when the market's buffer is full.

        Anything but a market event, or one whose platform or pair cannot name a
        directory under the root, raises ValidationError and is not recorded.
        """
        try:
            entry = self._codec.entry(event)
        except (TypeError, AttributeError) as exc:
            raise ValidationError(f"not a recordable market event: {exc}") from None
        key = (event.platform, str(event.trading_pair))
        market = self._markets.get(key)
        if market is None:
            market = self._markets[key] = _Market(market_dir(self.root, *key))
        market.buffer.append(entry)
        self.recorded += 1
        if len(market.buffer) >= self.chunk_events:
            self._write(market)

    def flush(self) -> None:
        """Write every buffered event."""
        for market in self._markets.values():
            self._write(market)

    def close(self) -> None:
        self.flush()

    def _write(self, market: _Market) -> None:
        if not market.buffer:
            return
        entries, market.buffer = market.buffer, []
        # One chunk never spans two days, so daily rotation cuts at chunk bounds.
        by_day: dict[str, list[tuple[str, int, MarketEvent]]] = {}
        for e in entries:
            by_day.setdefault(_day(e[1]), []).append(e)
        for day, part in by_day.items():
            payload = self._codec.encode_chunk(part)
            path = self._file_for(market, day, len(payload))
            times = [e[1] for e in part]
            new_size = append_chunk(path, payload, min(times), max(times), len(part))
            self.bytes_written += new_size - market.size
            market.size = new_size

    def _file_for(self, market: _Market, day: str, incoming: int) -> Path:
        rotate = market.path is None or (self.rotate_daily and day != market.day)
        if not rotate and market.size and market.size + incoming > self.max_file_bytes:
            rotate = True
        if rotate or market.path is None:
            market.directory.mkdir(parents=True, exist_ok=True)
            market.files += 1
            stamp = datetime.now(UTC).strftime("%H%M%S%f")
            market.path = market.directory / f"{day}-{stamp}-{market.files:04d}{SUFFIX}"
            market.day, market.size = day, 0
        return market.path

    async def consume(
        self, transport: Transport, stream: str, *, group: str = "recorder", stop: asyncio.Event
    ) -> None:
        """Record every :class:`MarketData` message of ``stream`` until ``stop`` is set.

        A message whose entry does not decode, or that cannot be recorded, goes to
        the stream's dead letters with the reason; recording goes on.
        """
        codec: MessageCodec[MarketData] = MessageCodec([MarketData])

        async def handle(message: MarketData) -> None:
            try:
                self.record(self._codec.decode_one(message.entry))
            except (msgspec.DecodeError, msgspec.ValidationError, ValidationError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
                log.warning("dead letter %s on %s: %s", message.id, stream, reason)
                await transport.dead_letter(stream, message.id, codec.encode(message), reason)

        actor = Actor(transport, stream, codec, handle, group=group, name="recorder")
        try:
            await actor.run(stop=stop, poll=0.2)
        finally:
            self.flush()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _day(ns: int) -> str:
    return datetime.fromtimestamp(ns // 1_000_000_000, UTC).strftime("%Y%m%d")
