"""Signed REST for Binance spot: HMAC, Ed25519 or RSA keys, clock offset, weights, errors."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import aiohttp
import msgspec
from yarl import URL

from chainops.core.errors import RateLimited, RpcTransientError
from chainops.operators.exchanges.binance.signing import Signer, hmac_signer
from chainops.operators.exchanges.clock import ClockSync
from chainops.operators.exchanges.errors import (
    VenueAuthError,
    VenueError,
    VenueInsufficientFunds,
    VenueNotFound,
    VenueRejected,
    VenueRequestError,
    venue_error,
)
from chainops.operators.exchanges.rate_limit import WeightLimiter

__all__ = ["BinanceRest", "translate"]

MAX_429_RETRIES = 3
# The account's ORDERS limit (unfilled order count), not the IP's weight: only new orders
# are refused, so nothing else is held back, and the order fails at once with its wait.
TOO_MANY_ORDERS = -1015


_REPLY_HEADERS = ("X-MBX-USED-WEIGHT-1M", "Retry-After")
_decode = msgspec.json.Decoder().decode
_PLAIN = re.compile(r"[A-Za-z0-9_.-]*")


def _encode(params: dict[str, Any]) -> str:
    """URL-encode; values that need no escaping (symbols, numbers, client ids) skip the escaper."""
    parts = []
    for key, value in params.items():
        if value is None:
            continue
        text = str(value)
        parts.append(f"{key}={text}" if _PLAIN.fullmatch(text) else urlencode({key: text}))
    return "&".join(parts)


def translate(code: int | None, message: str, data: object = None) -> VenueError:
    """A Binance error code as a typed error (``data``: the reply's structured detail)."""
    cls: type[VenueError]
    if code in (-1021, -1022, -2014, -2015, -2008):
        cls = VenueAuthError
    elif code in (-2011, -2013):
        cls = VenueNotFound
    elif code == -2010 and "insufficient balance" in message:
        cls = VenueInsufficientFunds
    elif code in (-2010, -1013, -2026):
        cls = VenueRejected
    else:
        cls = VenueRequestError
    error = venue_error(cls, code, message)
    error.data = data
    return error


class BinanceRest:
    """One HTTP session to a Binance-compatible REST API.

    ``signer`` signs with the API key's secret or private key (a str: an HMAC secret).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        signer: Signer | str,
        *,
        recv_window_ms: int = 5000,
        timeout: float = 10.0,
        limiter: WeightLimiter | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.signer = hmac_signer(signer) if isinstance(signer, str) else signer
        self.recv_window_ms = recv_window_ms
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.limiter = limiter or WeightLimiter()
        self.clock = ClockSync(self._server_time)
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _server_time(self) -> int:
        reply = await self.request("GET", "/api/v3/time", weight=1)
        return int(reply["serverTime"])

    def sign(self, params: dict[str, Any]) -> str:
        """The query string with timestamp, recvWindow and signature appended."""
        query = _encode(params)
        query += f"&recvWindow={self.recv_window_ms}&timestamp={self.clock.now_ms()}"
        return f"{query}&signature={self.signer.query_signature(query)}"

    async def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        signed: bool = False,
        weight: int = 1,
        key_only: bool = False,
    ) -> Any:
        """Send one request; 429 waits ``Retry-After`` and retries, -1021 resyncs once."""
        clock_retried = False
        for _ in range(MAX_429_RETRIES + 1):
            await self.limiter.acquire(weight)
            params = params or {}
            query = self.sign(params) if signed else _encode(params)
            headers = {"X-MBX-APIKEY": self.api_key} if signed or key_only else {}
            status, body, reply_headers = await self._send(method, path, query, headers)
            used = reply_headers.get("X-MBX-USED-WEIGHT-1M")
            if used is not None and used.isdigit():
                self.limiter.observe(int(used))
            retry_after = float(reply_headers.get("Retry-After") or 1)
            if status == 418:
                raise self.limiter.ban(retry_after)
            if status == 429:
                code = body.get("code") if isinstance(body, dict) else None
                if code == TOO_MANY_ORDERS:
                    raise orders_limited(f"{method} {path}", body.get("msg", ""), retry_after)
                self.limiter.retry_after(retry_after)
                continue
            if status >= 500:
                raise RpcTransientError(f"{method} {path}: HTTP {status}")
            if status >= 400:
                code = body.get("code") if isinstance(body, dict) else None
                message = str(body.get("msg", "")) if isinstance(body, dict) else str(body)
                if code == -1021 and signed and not clock_retried:
                    clock_retried = True
                    await self.clock.sync()
                    continue
                raise translate(code, message, body.get("data") if isinstance(body, dict) else None)
            return body
        raise RateLimited(f"{method} {path}: still rate limited after {MAX_429_RETRIES} waits")

    async def _send(
        self, method: str, path: str, query: str, headers: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        if self._session is None:
            await self.open()
        assert self._session is not None
        # the query is encoded already: tell yarl not to parse and re-encode it
        url = URL(f"{self.base_url}{path}" + (f"?{query}" if query else ""), encoded=True)
        try:
            async with self._session.request(method, url, headers=headers) as reply:
                raw = await reply.read()
                try:
                    body = _decode(raw)
                except msgspec.DecodeError:
                    body = raw.decode(errors="replace")
                wanted = {h: reply.headers[h] for h in _REPLY_HEADERS if h in reply.headers}
                return reply.status, body, wanted
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise RpcTransientError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc


def orders_limited(what: str, message: object, seconds: float) -> RateLimited:
    """The order refused for the account's ORDERS limit (-1015): not placed, retry later."""
    return RateLimited(
        f"{what}: not placed, {message or 'too many new orders'} (code {TOO_MANY_ORDERS}); "
        f"new orders are accepted again in {seconds:.0f} s",
        retry_after=seconds,
    )
