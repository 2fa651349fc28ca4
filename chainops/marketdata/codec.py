"""Binary encoding of normalized market events (msgpack via msgspec).

An entry is ``[kind, at_ns, event]``; ``kind`` names the event class, so a
recording decodes back to the very same classes, Decimal and datetime intact.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from chainops.core.ids import TradingPair
from chainops.operators.exchanges.market_events import (
    BookTicker,
    Kline,
    MarketEvent,
    MarketTrades,
    Orderbook,
    Ticker,
)

__all__ = ["KINDS", "EventCodec", "at_ns"]

KINDS: dict[str, type[MarketEvent]] = {
    c.__name__: c for c in (MarketTrades, Kline, Ticker, BookTicker, Orderbook)
}


def at_ns(when: datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime (exact, no float)."""
    delta = when - datetime(1970, 1, 1, tzinfo=when.tzinfo)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def _enc_hook(obj: object) -> object:
    if isinstance(obj, str):  # our identifier types are str subclasses
        return str(obj)
    raise NotImplementedError(type(obj).__name__)  # msgspec's signal: type not supported


def _dec_hook(tp: type, obj: object) -> object:
    if isinstance(tp, type) and issubclass(tp, TradingPair):
        return tp(obj)
    raise NotImplementedError(tp)  # msgspec's signal: type not supported


class EventCodec:
    """Encodes market events to entries and chunk payloads, and back."""

    def __init__(self) -> None:
        self._enc = msgspec.msgpack.Encoder(enc_hook=_enc_hook)
        self._entries = msgspec.msgpack.Decoder(list[tuple[str, int, msgspec.Raw]])
        self._one = msgspec.msgpack.Decoder(tuple[str, int, msgspec.Raw])
        self._by_kind: dict[str, msgspec.msgpack.Decoder[Any]] = {
            k: msgspec.msgpack.Decoder(c, dec_hook=_dec_hook) for k, c in KINDS.items()
        }

    def kind(self, event: MarketEvent) -> str:
        name = type(event).__name__
        if name not in KINDS:
            raise TypeError(f"{name} is not a recordable market event")
        return name

    def entry(self, event: MarketEvent) -> tuple[str, int, MarketEvent]:
        return (self.kind(event), at_ns(event.at), event)

    def encode_one(self, event: MarketEvent) -> bytes:
        return self._enc.encode(self.entry(event))

    def decode_one(self, data: bytes) -> MarketEvent:
        kind, _, raw = self._one.decode(data)
        return self._decode(kind, raw)

    def encode_chunk(self, entries: list[tuple[str, int, MarketEvent]]) -> bytes:
        return self._enc.encode(entries)

    def decode_chunk(self, payload: bytes) -> list[tuple[int, MarketEvent]]:
        return [(ns, self._decode(k, raw)) for k, ns, raw in self._entries.decode(payload)]

    def _decode(self, kind: str, raw: msgspec.Raw) -> MarketEvent:
        decoder = self._by_kind.get(kind)
        if decoder is None:
            raise msgspec.DecodeError(f"unknown market event kind {kind!r}")
        event: MarketEvent = decoder.decode(raw)
        return event
