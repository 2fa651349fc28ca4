"""Request weights per endpoint, the 1-minute used-weight counter, 429 and 418 bans."""

from __future__ import annotations

from chainops.devnet.exchange import errors

__all__ = ["WEIGHTS", "WeightCounter"]

# Binance spot REST weights (per request) for the routes the simulator serves
WEIGHTS: dict[tuple[str, str], int] = {
    ("GET", "/api/v3/ping"): 1,
    ("GET", "/api/v3/time"): 1,
    ("GET", "/api/v3/exchangeInfo"): 20,
    ("GET", "/api/v3/depth"): 5,
    ("POST", "/api/v3/order"): 1,
    ("GET", "/api/v3/order"): 4,
    ("DELETE", "/api/v3/order"): 1,
    ("GET", "/api/v3/openOrders"): 6,
    ("DELETE", "/api/v3/openOrders"): 1,
    ("GET", "/api/v3/account"): 20,
    ("GET", "/api/v3/myTrades"): 20,
    ("POST", "/api/v3/userDataStream"): 2,
    ("PUT", "/api/v3/userDataStream"): 2,
    ("DELETE", "/api/v3/userDataStream"): 2,
}
BAN_AFTER_429S = 3  # requests sent while told to back off before the ban (418)
BAN_MS = 120_000


class WeightCounter:
    """Used weight in the current minute, as ``X-MBX-USED-WEIGHT-1M`` reports it."""

    def __init__(self, limit: int = 6000) -> None:
        self.limit = limit
        self.minute = -1
        self.used = 0
        self.ignored_429s = 0
        self.banned_until = 0
        self.forced_retry_after: int | None = None  # a fault: answer the next request with 429

    def charge(self, weight: int, now_ms: int) -> int:
        """Add ``weight``; raise 429/418 when over the limit; returns the used weight."""
        if now_ms < self.banned_until:
            raise errors.banned(self.banned_until)
        minute = now_ms // 60_000
        if minute != self.minute:
            self.minute, self.used, self.ignored_429s = minute, 0, 0
        if self.forced_retry_after is not None:
            retry = self.forced_retry_after
            self.forced_retry_after = None
            raise RetryAfter(errors.too_many(self.limit), retry)
        if self.used + weight > self.limit:
            self.ignored_429s += 1
            if self.ignored_429s > BAN_AFTER_429S:
                self.banned_until = now_ms + BAN_MS
                raise errors.banned(self.banned_until)
            raise RetryAfter(errors.too_many(self.limit), 60 - (now_ms // 1000) % 60)
        self.used += weight
        return self.used


class RetryAfter(Exception):
    """A 429: the error to send and the ``Retry-After`` seconds."""

    def __init__(self, error: errors.ApiError, seconds: int) -> None:
        super().__init__(error.msg)
        self.error = error
        self.seconds = seconds
