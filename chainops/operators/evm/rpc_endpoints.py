"""Endpoints, transport failures and the retry policy of the JSON-RPC client.

A transport failure (timeout, reset, refused connection, HTTP 5xx or 429, a
JSON-RPC error that blames the server, a malformed reply) puts the endpoint
that failed in a cool-down and is retried with exponential backoff and seeded
jitter, failing over to the next endpoint; a read is retried, a call that must
not run twice only when it certainly never reached a node.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from chainops.core.errors import RateLimited, RpcTransientError, UnknownOutcome
from chainops.core.ids import TxHash

log = logging.getLogger("chainops.operators.evm.rpc")

# Transport failure kinds, as counted in ``RpcStats.errors_by_kind``.
TIMEOUT = "timeout"
CONNECTION = "connection"
HTTP_5XX = "http_5xx"
RATE_LIMITED = "rate_limited"
INTERNAL = "internal"
MALFORMED = "malformed"


@dataclass(slots=True)
class RpcStats:
    """Counters since construction (or the last :meth:`reset`)."""

    requests: int = 0  # HTTP requests made, retries included
    calls: int = 0  # JSON-RPC calls sent, every batch item and every retry counted
    retries: int = 0  # requests or batch rounds repeated after a transient failure
    errors_by_kind: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        """Zero every counter."""
        self.requests = self.calls = self.retries = 0
        self.errors_by_kind.clear()


class BroadcastUnknown(RpcTransientError, UnknownOutcome):
    """Raw transactions may have reached a node, but no answer came back.

    Safe to re-send the same bytes or to look the hashes up; never rebuild them.
    """

    def __init__(self, message: str, tx_hashes: Sequence[TxHash]) -> None:
        super().__init__(message)
        self.tx_hashes: tuple[TxHash, ...] = tuple(tx_hashes)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.tx_hashes))


class TransportFailure(Exception):
    """A transient failure of one request (internal; surfaces as an RpcTransientError)."""

    def __init__(
        self, kind: str, detail: str, *, delivered: bool, retry_after: float | None = None
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.delivered = delivered  # the request may have been processed by the node
        self.retry_after = retry_after


class Endpoint:
    __slots__ = ("bad_until", "label", "url")

    def __init__(self, url: str) -> None:
        self.url = url
        parts = urlsplit(url)
        # Provider URLs carry API keys in the path or user info: show scheme://host only.
        self.label = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        self.bad_until = 0.0


class Attempts:
    """Retry bookkeeping for one logical request (single call or batch)."""

    __slots__ = ("delivered", "failures", "last", "used")

    def __init__(self) -> None:
        self.used = 0  # retries spent
        self.failures = 0
        self.delivered = False
        self.last: TransportFailure | None = None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Failover:
    """Which endpoint to use next, and how long to wait before a retry (or to give up)."""

    def __init__(
        self,
        endpoints: Sequence[str],
        stats: RpcStats,
        *,
        backoff_base: float,
        backoff_max: float,
        cooldown: float,
        retry_after_max: float,
        seed: int | None,
    ) -> None:
        self.endpoints = [Endpoint(url) for url in endpoints]
        self.stats = stats
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        # 5 s: later calls skip a dead node at once, yet its recovery is noticed soon.
        self.cooldown = cooldown
        # A longer pause than this is the caller's decision: RateLimited surfaces at once.
        self.retry_after_max = retry_after_max
        self._rng = random.Random(seed)

    def pick(self, now: float) -> Endpoint:
        """The first endpoint not cooling down, else the one whose cool-down ends first."""
        endpoints = self.endpoints
        for endpoint in endpoints:
            if endpoint.bad_until <= now:
                return endpoint
        return min(endpoints, key=lambda e: e.bad_until)

    def penalise(self, endpoint: Endpoint, failure: TransportFailure, now: float) -> None:
        self.stats.errors_by_kind[failure.kind] += 1
        pause = failure.retry_after if failure.retry_after is not None else self.cooldown
        endpoint.bad_until = time.monotonic() + pause if pause > 0 else now

    def next_wait(
        self,
        what: str,
        endpoint: Endpoint,
        failure: TransportFailure,
        attempts: Attempts,
        retries: int,
        read: bool,
        hashes: Sequence[TxHash],
    ) -> float:
        """Seconds to wait before the next attempt; raises when no attempt is left."""
        attempts.failures += 1
        attempts.last = failure
        attempts.delivered = attempts.delivered or failure.delivered
        wait = self.backoff(attempts.used + 1)
        nxt = self.pick(time.monotonic())
        if nxt is not endpoint and nxt.bad_until <= time.monotonic():
            wait = 0.0  # a healthy endpoint is ready: fail over at once
        elif failure.retry_after is not None:
            wait = max(wait, failure.retry_after)
        give_up = (
            attempts.used >= retries
            or (not read and failure.delivered)
            or (failure.retry_after is not None and wait > self.retry_after_max)
        )
        if give_up:
            raise self.exhausted(what, endpoint, attempts, hashes)
        attempts.used += 1
        self.stats.retries += 1
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s to %s failed (%s: %s); retry %d/%d in %.3fs",
                what,
                endpoint.label,
                failure.kind,
                failure.detail,
                attempts.used,
                retries,
                wait,
            )
        return wait

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": half fixed, half seeded-random."""
        ceiling = min(self.backoff_max, self.backoff_base * (1 << min(attempt - 1, 30)))
        return ceiling / 2 + self._rng.random() * ceiling / 2

    def exhausted(
        self, what: str, endpoint: Endpoint, attempts: Attempts, hashes: Sequence[TxHash]
    ) -> RpcTransientError:
        last = attempts.last
        assert last is not None
        message = (
            f"{what} failed after {attempts.failures} attempt(s); last: {last.kind} from "
            f"{endpoint.label}: {last.detail}"
        )
        if hashes and attempts.delivered:
            return BroadcastUnknown(message, hashes)
        if last.kind == RATE_LIMITED:
            return RateLimited(message, last.retry_after)
        return RpcTransientError(message)
