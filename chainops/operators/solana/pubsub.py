"""Signature subscriptions on a cluster's PubSub websocket, to confirm without waiting a poll.

Each signature the operator follows gets a ``signatureSubscribe`` at the operator's
commitment; a notification only *wakes* the monitor, whose status read stays the
one source of truth (so a lost notification costs a poll period, never a wrong
state). Where the cluster offers no websocket, or it drops, the monitor's
polling simply carries on alone; the subscriber reconnects in the background.

The endpoint is the RPC URL's host with the port + 1 and a ``ws``/``wss`` scheme
(the convention every Solana client follows), unless configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Callable
from typing import Any

import aiohttp

from chainops.operators.solana.pubsub_url import default_ws_url

__all__ = ["SignatureSubscriber", "default_ws_url"]

log = logging.getLogger("chainops.solana.pubsub")
_RECONNECT_DELAY = 1.0  # between attempts while the websocket is away
_CONNECT_TIMEOUT = 2.0
_TOLD_LIMIT = 65_536  # notified signatures remembered (a re-send after landing is not re-watched)


class SignatureSubscriber:
    """One websocket; ``watch(signature)`` calls ``on_notice(signature)`` when it lands.

    ``connected`` says whether subscriptions are live right now.
    """

    def __init__(
        self,
        url: str,
        on_notice: Callable[[str], None],
        *,
        commitment: str = "confirmed",
    ) -> None:
        self.url = url
        self.commitment = commitment
        self._on_notice = on_notice
        self._watched: set[str] = set()
        self._told: set[str] = set()  # signatures already notified
        self._pending: dict[int, str] = {}  # request id -> signature
        self._subscribed: dict[int, str] = {}  # subscription id -> signature
        self._ids = itertools.count(1)
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task[None] | None = None
        self._opened = asyncio.Event()
        self._sends: set[asyncio.Future[None]] = set()
        self.notifications = 0

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def start(self) -> bool:
        """Connect (briefly waiting); True if the cluster offers a websocket now."""
        self._session = aiohttp.ClientSession()
        self._task = asyncio.ensure_future(self._run())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_CONNECT_TIMEOUT):
                await self._opened.wait()
        return self.connected

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()

    def watch(self, signature: str) -> None:
        """Ask to be told when ``signature`` reaches the commitment (once)."""
        if signature in self._watched or signature in self._told:
            return  # a re-send of bytes already seen landing needs no second subscription
        self._watched.add(signature)
        if self.connected:
            task = asyncio.ensure_future(self._subscribe(signature))
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)

    def forget(self, signature: str) -> None:
        self._watched.discard(signature)
        self._told.discard(signature)

    async def _subscribe(self, signature: str) -> None:
        ws = self._ws
        if ws is None or ws.closed:
            return
        ident = next(self._ids)
        self._pending[ident] = signature
        call = {
            "jsonrpc": "2.0",
            "id": ident,
            "method": "signatureSubscribe",
            "params": [signature, {"commitment": self.commitment}],
        }
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_str(json.dumps(call))

    async def _run(self) -> None:
        assert self._session is not None
        while True:
            try:
                async with self._session.ws_connect(
                    self.url, timeout=aiohttp.ClientWSTimeout(ws_close=_CONNECT_TIMEOUT)
                ) as ws:
                    self._ws = ws
                    self._opened.set()
                    for signature in list(self._watched):
                        await self._subscribe(signature)
                    async for message in ws:
                        if message.type is aiohttp.WSMsgType.TEXT:
                            self._message(json.loads(message.data))
            except asyncio.CancelledError:
                raise
            except (aiohttp.ClientError, OSError, ValueError, TimeoutError) as exc:
                log.debug("solana pubsub %s unavailable: %s", self.url, exc)
            finally:
                self._ws = None
                self._pending.clear()
                self._subscribed.clear()
            self._opened.set()  # tried: start() need not wait longer
            await asyncio.sleep(_RECONNECT_DELAY)

    def _message(self, body: Any) -> None:
        if not isinstance(body, dict):
            return
        if "id" in body:
            signature = self._pending.pop(body["id"], None)
            if signature is not None and isinstance(body.get("result"), int):
                self._subscribed[body["result"]] = signature
            return
        if body.get("method") != "signatureNotification":
            return
        params = body.get("params") or {}
        subscription = params.get("subscription")
        signature = (
            self._subscribed.pop(subscription, None) if isinstance(subscription, int) else None
        )
        value = (params.get("result") or {}).get("value")
        if signature is None or value == "receivedSignature":
            return
        self._watched.discard(signature)
        if len(self._told) >= _TOLD_LIMIT:
            self._told.clear()
        self._told.add(signature)
        self.notifications += 1
        self._on_notice(signature)
