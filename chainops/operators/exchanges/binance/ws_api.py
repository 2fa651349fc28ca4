"""Binance WebSocket API requests: one signed request/response session (order entry)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from typing import Any

import aiohttp
import msgspec

from chainops.core.errors import RateLimited, RpcTransientError
from chainops.operators.exchanges.binance.rest import (
    TOO_MANY_ORDERS,
    BinanceRest,
    orders_limited,
    translate,
)
from chainops.operators.exchanges.rate_limit import WeightLimiter
from chainops.operators.exchanges.types import ConnectionState

__all__ = ["NotSent", "WsApiSession", "observe_reply"]

log = logging.getLogger("chainops.exchanges.binance")

_Reply = asyncio.Future[dict[str, Any]]

# Identifiers (ClientId and the like) are str subclasses, which msgspec leaves to the hook.
_encode = msgspec.json.Encoder(enc_hook=str).encode
_decode = msgspec.json.Decoder().decode


class NotSent(RpcTransientError):
    """The request was not executed (no connection, or refused for the rate limit before it
    ran): safe to send another way."""


def observe_reply(limiter: WeightLimiter, reply: dict[str, Any]) -> RateLimited | None:
    """Feed a WebSocket API reply's ``rateLimits`` to ``limiter`` (the IP's weight is shared
    with REST); for a 429 or 418, pause or ban it and return the error to raise."""
    limits = reply.get("rateLimits")
    for limit in limits if isinstance(limits, list) else ():
        if not isinstance(limit, dict) or limit.get("rateLimitType") != "REQUEST_WEIGHT":
            continue
        count, most = limit.get("count"), limit.get("limit")
        if limit.get("interval") == "MINUTE" and limit.get("intervalNum") == 1:
            if isinstance(most, int) and most > 0 and most != limiter.limit:
                limiter.set_limit(most)
            if isinstance(count, int):
                limiter.observe(count)
    status = reply.get("status")
    if status not in (418, 429):
        return None
    error = reply.get("error")
    data = error.get("data") if isinstance(error, dict) else None
    seconds = 1.0
    if isinstance(data, dict):
        until, now = data.get("retryAfter"), data.get("serverTime")
        if isinstance(until, int) and isinstance(now, int):
            seconds = max(1.0, (until - now) / 1000)
    if status == 418:
        return limiter.ban(seconds)
    if isinstance(error, dict) and error.get("code") == TOO_MANY_ORDERS:
        return orders_limited("order entry", error.get("msg"), seconds)  # the IP is not paused
    limiter.retry_after(seconds)
    return RateLimited(f"rate limited by the venue for {seconds:.0f} s", retry_after=seconds)


class WsApiSession:
    """Request/response over ``/ws-api/v3``, correlated by id; reconnects on the next request.

    A request that was written but got no answer raises RpcTransientError (its
    outcome is unknown); one that could not be written, or that the venue refused for
    the rate limit (429), raises :class:`NotSent`; a ban (418) raises RateLimited.
    Every reply's ``rateLimits`` corrects the REST limiter's count.

    Requests are signed with ``rest.signer``; with an Ed25519 key each connection
    logs on once (``session.logon``, again after a reconnect) and its requests then
    carry only a timestamp.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        rest: BinanceRest,
        *,
        timeout: float = 10.0,
    ) -> None:
        self.session, self.url, self.rest = session, url, rest
        self.timeout = timeout
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.logons = 0  # successful session.logon replies, one per connection
        self._logged_on: aiohttp.ClientWebSocketResponse | None = None
        # request id -> (the connection it was written on, its reply)
        self._pending: dict[str, tuple[aiohttp.ClientWebSocketResponse, _Reply]] = {}
        self._ids = itertools.count(1)
        self._reader: asyncio.Task[None] | None = None
        self._opening: asyncio.Lock = asyncio.Lock()
        self.connects = 0

    def state(self) -> ConnectionState:
        return ConnectionState(self.ws is not None and not self.ws.closed, self.connects)

    async def open(self) -> None:
        async with self._opening:
            if self.ws is not None and not self.ws.closed:
                return
            try:
                ws = await self.session.ws_connect(self.url, heartbeat=None)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                raise NotSent(f"WebSocket API unreachable: {exc}") from exc
            self.connects += 1
            self._reader = asyncio.create_task(self._read(ws))
            if self.rest.signer.session_logon:
                await self._logon(ws)
            self.ws = ws  # published once logged on: no request goes out unauthenticated

    async def _logon(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """``session.logon`` on a new connection; closes it if the venue refuses."""
        try:
            self._result("session.logon", await self._exchange(ws, "session.logon", self.sign({})))
        except BaseException as exc:
            await ws.close()
            if isinstance(exc, RpcTransientError) and not isinstance(exc, NotSent):
                # the request that needed this connection was not sent: it may go another way
                raise NotSent(f"session.logon failed: {exc}") from exc
            raise
        self._logged_on = ws
        self.logons += 1

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
        if self.ws is not None:
            await self.ws.close()
        self._logged_on = None
        self._fail_pending("WebSocket API session closed")

    def stamp(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` with timestamp and recvWindow (what a logged-on connection sends)."""
        return params | {
            "timestamp": self.rest.clock.now_ms(),
            "recvWindow": self.rest.recv_window_ms,
        }

    def sign(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` with apiKey, timestamp, recvWindow and the signature of them sorted."""
        signed = self.stamp(params) | {"apiKey": self.rest.api_key}
        payload = "&".join([f"{k}={signed[k]}" for k in sorted(signed)])
        signed["signature"] = self.rest.signer.sign(payload)
        return signed

    async def request(self, method: str, params: dict[str, Any], *, signed: bool = True) -> Any:
        """Send one request; its ``result``, or the venue's error as a typed error."""
        ws = self.ws
        if ws is None or ws.closed:
            await self.open()
            ws = self.ws
            assert ws is not None
        if signed:
            params = self.stamp(params) if ws is self._logged_on else self.sign(params)
        return self._result(method, await self._exchange(ws, method, params))

    async def _exchange(
        self, ws: aiohttp.ClientWebSocketResponse, method: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        """Write one request on ``ws`` and wait for its reply (whatever its status)."""
        request_id = str(next(self._ids))
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._pending[request_id] = (ws, future)
        message = {"id": request_id, "method": method, "params": params}
        try:
            await ws.send_str(_encode(message).decode())
        except (ConnectionError, RuntimeError, aiohttp.ClientError) as exc:
            self._pending.pop(request_id, None)
            raise NotSent(f"{method}: could not send: {exc}") from exc
        # a timer on the future, cheaper than a timeout scope around the await
        timer = loop.call_later(self.timeout, _expire, future)
        try:
            reply = await future
        except TimeoutError as exc:
            raise RpcTransientError(f"{method}: no reply within {self.timeout} s") from exc
        finally:
            timer.cancel()
            self._pending.pop(request_id, None)
        return reply

    def _result(self, method: str, reply: dict[str, Any]) -> Any:
        """A reply's ``result``; its error as a typed error (429: not executed)."""
        limited = observe_reply(self.rest.limiter, reply)
        if reply.get("status") == 200:
            return reply.get("result")
        error = reply.get("error") or {}
        if limited is not None and error.get("code") == TOO_MANY_ORDERS:
            raise limited  # REST would refuse it too: the order fails, not sent
        if limited is not None and reply.get("status") == 429:
            raise NotSent(f"{method}: {limited}") from limited  # not executed
        if limited is not None:
            raise limited
        status = reply.get("status")
        if isinstance(status, int) and status >= 500:
            raise RpcTransientError(f"{method}: status {status}: {error}")
        raise translate(error.get("code"), str(error.get("msg", "")), error.get("data"))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    reply = _decode(msg.data)
                except msgspec.DecodeError:
                    log.warning("ignored a non-JSON WebSocket API message: %.80s", msg.data)
                    continue
                pending = (
                    self._pending.get(str(reply.get("id"))) if isinstance(reply, dict) else None
                )
                if pending is not None and not pending[1].done():
                    pending[1].set_result(reply)
        finally:
            self._fail_pending("WebSocket API connection lost", ws)

    def _fail_pending(self, why: str, ws: aiohttp.ClientWebSocketResponse | None = None) -> None:
        """Fail the requests awaiting a reply on ``ws`` (None: on any connection)."""
        for request_id, (sent_on, future) in list(self._pending.items()):
            if ws is None or sent_on is ws:
                if not future.done():
                    future.set_exception(RpcTransientError(why))
                del self._pending[request_id]


def _expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())
