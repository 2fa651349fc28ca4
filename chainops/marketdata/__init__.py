"""Market data: recording normalized market events and replaying them.

The events are the exchange layer's (``chainops.operators.exchanges.market_events``).
"""

from chainops.marketdata.chunks import ChunkInfo, SkippedChunk
from chainops.marketdata.codec import EventCodec
from chainops.marketdata.messages import MarketData, event_of, market_data
from chainops.marketdata.paper import BookMirror
from chainops.marketdata.recorder import Recorder
from chainops.marketdata.replayer import Replayer, ReplayRangeError

__all__ = [
    "BookMirror",
    "ChunkInfo",
    "EventCodec",
    "MarketData",
    "Recorder",
    "ReplayRangeError",
    "Replayer",
    "SkippedChunk",
    "event_of",
    "market_data",
]
