"""Clock-offset synchroniser: signed requests carry the venue's time, not ours."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

__all__ = ["ClockSync"]


class ClockSync:
    """Keeps ``offset_ms`` = venue clock - local clock, measured at the round trip's midpoint."""

    def __init__(self, fetch_server_ms: Callable[[], Awaitable[int]]) -> None:
        self._fetch = fetch_server_ms
        self.offset_ms = 0
        self.synced = False

    def now_ms(self) -> int:
        """The venue's current time in milliseconds, as best we know it."""
        return time.time_ns() // 1_000_000 + self.offset_ms

    async def sync(self) -> int:
        """Measure the offset again; returns it."""
        sent = time.time_ns() // 1_000_000
        server = await self._fetch()
        received = time.time_ns() // 1_000_000
        self.offset_ms = server - (sent + received) // 2
        self.synced = True
        return self.offset_ms
