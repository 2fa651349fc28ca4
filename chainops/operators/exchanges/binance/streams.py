"""Binance WebSockets: market streams and the user-data stream (WS API or listenKey)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from chainops.core.errors import ChainopsError
from chainops.operators.exchanges.binance.rest import BinanceRest, translate
from chainops.operators.exchanges.binance.ws_api import observe_reply
from chainops.operators.exchanges.types import ConnectionState

__all__ = ["MarketStream", "UserStream"]

log = logging.getLogger("chainops.exchanges.binance")

RECONNECT_DELAY = 0.1  # loopback and real venues alike: reconnect fast, reconcile after
MAX_RECONNECT_DELAY = 10.0
KEEPALIVE_SECONDS = 30 * 60.0
EventHandler = Callable[[dict[str, Any]], None]
Reconnected = Callable[[], Awaitable[None]]


class _Reconnecting(ABC):
    """Connect, read until the socket drops, reconnect; ``on_reconnect`` after each re-open."""

    def __init__(self, session: aiohttp.ClientSession, on_reconnect: Reconnected) -> None:
        self.session = session
        self.on_reconnect = on_reconnect
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.connects = 0
        self._task: asyncio.Task[None] | None = None

    @abstractmethod
    async def _open(self) -> aiohttp.ClientWebSocketResponse:
        """Open the socket (and subscribe) for this kind of stream."""

    @abstractmethod
    def _handle(self, payload: dict[str, Any]) -> None:
        """Act on one decoded message."""

    def state(self) -> ConnectionState:
        return ConnectionState(self.ws is not None and not self.ws.closed, self.connects)

    async def start(self) -> None:
        """Connect once (errors surface here), then keep the connection in the background."""
        self.ws = await self._open()
        self.connects = 1
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        if self.ws is not None:
            await self.ws.close()

    async def _run(self) -> None:
        while True:
            ws = self.ws
            if ws is not None:
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        continue
                    try:
                        payload = json.loads(msg.data)
                    except ValueError:
                        log.warning("ignored a non-JSON message: %.80s", msg.data)
                        continue
                    if isinstance(payload, dict):
                        self._handle(payload)
            delay = RECONNECT_DELAY
            while True:
                await asyncio.sleep(delay)
                try:
                    self.ws = await self._open()
                    break
                except (aiohttp.ClientError, ChainopsError, OSError, TimeoutError) as exc:
                    # a refused subscription (e.g. a clock step) is retried too, more slowly
                    log.info("reconnect failed: %s", exc)
                    delay = min(delay * 2, MAX_RECONNECT_DELAY)
            self.connects += 1
            try:
                await self.on_reconnect()
            except Exception:
                log.exception("after-reconnect reconciliation failed")


class UserStream(_Reconnecting):
    """Execution reports via ``userDataStream.subscribe.signature`` (signed with the REST
    client's key, any key type), else a listenKey stream."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        rest: BinanceRest,
        ws_api_url: str | None,
        stream_url: str,
        on_event: EventHandler,
        on_reconnect: Reconnected,
    ) -> None:
        super().__init__(session, on_reconnect)
        self.rest = rest
        self.ws_api_url = ws_api_url
        self.stream_url = stream_url.rstrip("/")
        self.on_event = on_event
        self.mode = "ws-api" if ws_api_url else "listen-key"
        # A listenKey lives an hour after its last keepalive; the venue asks for one about
        # every 30 minutes.
        self.keepalive_seconds = KEEPALIVE_SECONDS
        self._keepalive: asyncio.Task[None] | None = None

    async def _open(self) -> aiohttp.ClientWebSocketResponse:
        if self.mode == "ws-api":
            assert self.ws_api_url is not None
            await self.rest.limiter.acquire(4)  # connecting and subscribing cost 2 each
            ws = await self.session.ws_connect(self.ws_api_url, heartbeat=None)
            params: dict[str, Any] = {
                "apiKey": self.rest.api_key,
                "timestamp": self.rest.clock.now_ms(),
            }
            payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
            params["signature"] = self.rest.signer.sign(payload)
            await ws.send_json(
                {
                    "id": "subscribe",
                    "method": "userDataStream.subscribe.signature",
                    "params": params,
                }
            )
            reply = await ws.receive_json(timeout=10)
            limited = observe_reply(self.rest.limiter, reply)
            if reply.get("status") == 200:
                return ws
            await ws.close()
            if limited is not None:
                raise limited  # retried by the reconnect loop, not a reason to switch modes
            error = reply.get("error") or {}
            code, message = error.get("code"), str(error.get("msg", ""))
            if code == -1021:
                await self.rest.clock.sync()  # the next attempt signs with the venue's time
            if code in (-1022, -2014, -2015, -1021):
                raise translate(code, message)
            log.info("WebSocket API user stream refused (%s); using a listenKey", message)
            self.mode = "listen-key"
        key = await self.rest.request("POST", "/api/v3/userDataStream", key_only=True, weight=2)
        ws = await self.session.ws_connect(
            f"{self.stream_url}/ws/{key['listenKey']}", heartbeat=None
        )
        self._stop_keepalive()
        self._keepalive = asyncio.create_task(self._keep_alive(str(key["listenKey"]), ws))
        return ws

    async def _keep_alive(self, key: str, ws: aiohttp.ClientWebSocketResponse) -> None:
        """``PUT`` the listenKey every ``keepalive_seconds`` while its stream is open."""
        while not ws.closed:
            await asyncio.sleep(self.keepalive_seconds)
            try:
                await self.rest.request(
                    "PUT", "/api/v3/userDataStream", {"listenKey": key}, key_only=True, weight=2
                )
            except ChainopsError as exc:  # the key is gone: a new stream takes a new key
                log.info("listenKey keepalive failed (%s); reconnecting", exc)
                await ws.close()
                return

    def _stop_keepalive(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
            self._keepalive = None

    async def stop(self) -> None:
        self._stop_keepalive()
        await super().stop()

    def _handle(self, payload: dict[str, Any]) -> None:
        event = payload.get("event", payload)
        if isinstance(event, dict) and event.get("e"):
            self.on_event(event)


class MarketStream(_Reconnecting):
    """Combined market streams (depth diffs, trades) for a growing set of stream names."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        stream_url: str,
        on_event: Callable[[str, dict[str, Any]], None],
        on_reconnect: Reconnected,
    ) -> None:
        super().__init__(session, on_reconnect)
        self.stream_url = stream_url.rstrip("/")
        self.on_event = on_event
        self.streams: list[str] = []
        self._next_id = 1

    async def add(self, names: list[str]) -> None:
        new = [n for n in names if n not in self.streams]
        self.streams.extend(new)
        if self.ws is None or self.ws.closed:
            if self._task is None:
                await self.start()
            return
        if new:
            self._next_id += 1
            await self.ws.send_json({"method": "SUBSCRIBE", "params": new, "id": self._next_id})

    async def _open(self) -> aiohttp.ClientWebSocketResponse:
        url = f"{self.stream_url}/stream?streams={'/'.join(self.streams)}"
        return await self.session.ws_connect(url, heartbeat=None)

    def _handle(self, payload: dict[str, Any]) -> None:
        stream, data = payload.get("stream"), payload.get("data")
        if isinstance(stream, str) and isinstance(data, dict):
            self.on_event(stream, data)
