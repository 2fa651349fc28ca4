"""Rate limiter and clock sync with an injected clock."""

from __future__ import annotations

import pytest

from chainops.core.errors import RateLimited
from chainops.operators.exchanges.clock import ClockSync
from chainops.operators.exchanges.rate_limit import WeightLimiter


async def test_budget_headers_retry_after_and_ban() -> None:
    now = [120.0]
    limiter = WeightLimiter(100, headroom=1.0, clock=lambda: now[0])
    await limiter.acquire(60)
    limiter.observe(90)  # other clients spent weight too: the venue's count wins
    assert limiter.used == 90
    now[0] = 180.0  # next minute: the window rolls over
    await limiter.acquire(60)
    assert limiter.used == 60 and limiter.waits == []
    limiter.ban(30)
    with pytest.raises(RateLimited) as info:
        await limiter.acquire(1)
    assert info.value.retry_after == pytest.approx(30)


async def test_retry_after_pauses() -> None:
    limiter = WeightLimiter(100)
    limiter.retry_after(0.01)
    await limiter.acquire(1)
    assert len(limiter.waits) == 1 and 0 < limiter.waits[0] <= 0.01


async def test_clock_offset() -> None:
    import time

    async def server() -> int:
        return time.time_ns() // 1_000_000 + 5_000

    clock = ClockSync(server)
    offset = await clock.sync()
    assert 4_900 <= offset <= 5_100 and clock.synced


async def test_venue_limit_is_adopted() -> None:
    limiter = WeightLimiter(6000)
    limiter.set_limit(1200)
    assert limiter.limit == 1200 and limiter.budget == 1080
