"""Weight-aware rate limiter fed by the venue's usage headers; honours Retry-After and bans."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from chainops.core.errors import RateLimited

__all__ = ["WeightLimiter"]


class WeightLimiter:
    """Spends request weight against a per-minute budget.

    The venue's ``X-MBX-USED-WEIGHT-1M`` is the truth (other clients of the
    same IP spend it too), so every reply corrects the local count.
    """

    def __init__(
        self,
        limit: int = 6000,
        *,
        headroom: float = 0.9,  # keep 10% spare: other processes may share the IP's budget
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limit = limit
        self.budget = int(limit * headroom)
        self.used = 0
        self._clock = clock
        self._minute = int(clock() // 60)
        self.paused_until = 0.0
        self.banned_until = 0.0
        self.waits: list[float] = []  # every sleep taken, for observability

    def set_limit(self, limit: int) -> None:
        """Adopt the venue's published per-minute weight limit."""
        self.budget = int(self.budget * limit / self.limit)
        self.limit = limit

    def _roll(self) -> None:
        minute = int(self._clock() // 60)
        if minute != self._minute:
            self._minute, self.used = minute, 0

    async def acquire(self, weight: int) -> None:
        """Wait until ``weight`` fits; raise :class:`RateLimited` while banned."""
        while True:
            now = self._clock()
            if now < self.banned_until:
                raise RateLimited(
                    f"banned by the venue for {self.banned_until - now:.0f} s more",
                    retry_after=self.banned_until - now,
                )
            self._roll()
            delay = self.paused_until - now
            if delay <= 0 and self.used + weight > self.budget:
                delay = 60 - now % 60  # until the venue's minute window rolls over
            if delay <= 0:
                self.used += weight
                return
            self.waits.append(delay)
            await asyncio.sleep(delay)

    def observe(self, used_weight: int) -> None:
        """The venue's count of used weight this minute."""
        self._roll()
        self.used = used_weight

    def retry_after(self, seconds: float) -> None:
        """A 429: send nothing for ``seconds``."""
        self.paused_until = max(self.paused_until, self._clock() + seconds)

    def ban(self, seconds: float) -> RateLimited:
        """A 418: stop everything until the ban ends; returns the error to raise."""
        self.banned_until = max(self.banned_until, self._clock() + seconds)
        return RateLimited(f"IP banned by the venue for {seconds:.0f} s", retry_after=seconds)
