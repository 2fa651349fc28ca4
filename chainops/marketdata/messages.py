"""Market events on a queue: one message per event, its recorded entry as the body."""

from __future__ import annotations

from chainops.marketdata.codec import EventCodec
from chainops.operators.exchanges.market_events import MarketEvent
from chainops.queues import Message

__all__ = ["MarketData", "event_of", "market_data"]

_CODEC = EventCodec()


class MarketData(Message, frozen=True):
    """A normalized market event (``entry`` decodes with :class:`EventCodec`)."""

    entry: bytes


def market_data(event: MarketEvent) -> MarketData:
    return MarketData(entry=_CODEC.encode_one(event))


def event_of(message: MarketData) -> MarketEvent:
    return _CODEC.decode_one(message.entry)
