"""WebSocket side: market streams, user-data streams and the WebSocket API (trading included)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from chainops.devnet.exchange import auth, errors
from chainops.devnet.exchange.accounts import Account
from chainops.devnet.exchange.sessions import SESSION_METHODS, Session
from chainops.devnet.exchange.weights import (
    ORDERS_PLACED,
    WS_CONNECT_WEIGHT,
    OrderCounter,
    RetryAfter,
    WeightCounter,
    ws_request_weight,
)

__all__ = [
    "LISTEN_KEY_TTL_MS",
    "Connection",
    "DropReply",
    "PublicMethod",
    "SignedMethod",
    "StreamHub",
]

LISTEN_KEY_TTL_MS = 60 * 60_000  # a listenKey lives this long after its last keepalive

SignedMethod = Callable[[Account, dict[str, str]], Any]
PublicMethod = Callable[[dict[str, str]], Any]


def _flag(text: str | None, *, default: bool) -> bool:
    """A boolean parameter (``true``/``false``, any case); ``default`` when absent or other."""
    if text is None:
        return default
    lowered = text.lower()
    return default if lowered not in ("true", "false") else lowered == "true"


def _wire(value: Any) -> str:
    """A WebSocket API parameter as the REST form would carry it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


@dataclass(eq=False)
class Connection:
    """One WebSocket client with an ordered outbox."""

    ws: web.WebSocketResponse
    combined: bool = False
    listen_key: str | None = None  # the user stream it was opened for, if any
    streams: set[str] = field(default_factory=set)
    outbox: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    busy: bool = False  # a send is in progress (pump or reader)
    rate_limits: bool = True  # WebSocket API replies carry ``rateLimits`` unless asked not to
    session: Session = field(default_factory=Session)  # WebSocket API: session.logon state

    def push(self, payload: dict[str, Any]) -> None:
        self.outbox.put_nowait(json.dumps(payload))

    async def pump(self) -> None:
        while (text := await self.outbox.get()) is not None:
            self.busy = True
            try:
                if not await self._send(text) or not await self.flush(owner=True):
                    return
            finally:
                self.busy = False

    async def flush(self, *, owner: bool = False) -> bool:
        """Send what is queued now, in order (the reader answers without a task switch)."""
        if self.busy and not owner:
            return True  # the pump is sending: it drains the rest in order
        self.busy = True
        try:
            while not self.outbox.empty():
                text = self.outbox.get_nowait()
                if text is None:
                    self.outbox.put_nowait(None)  # the pump's stop signal stays for the pump
                    return True
                if not await self._send(text):
                    return False
            return True
        finally:
            self.busy = owner

    async def close_after_sending(self) -> None:
        """Close once what is queued now has gone out (sent by the pump or here)."""
        for _ in range(200):  # bounded: a stuck peer does not keep the connection open
            if not self.busy and (self.outbox.empty() or not await self.flush()):
                break
            await asyncio.sleep(0.005)
        await self.ws.close()

    async def _send(self, text: str) -> bool:
        if self.ws.closed:
            return False
        try:
            await self.ws.send_str(text)
        except (ConnectionError, RuntimeError):
            return False
        return True


class DropReply(Exception):
    """A fault: the request ran, then its connection is cut after ``delay`` seconds, unanswered."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__("reply dropped")
        self.delay = delay


class StreamHub:
    """Every open WebSocket and what it listens to."""

    def __init__(
        self,
        accounts: dict[str, Account],
        clock: Callable[[], int],
        weights: WeightCounter | None = None,
        orders: OrderCounter | None = None,
    ) -> None:
        self.accounts = accounts
        self.clock = clock
        self.weights = weights or WeightCounter()  # shared with REST: the IP's weight
        self.orders = orders or OrderCounter()
        self.market: set[Connection] = set()
        self.open: set[Connection] = set()  # every connection, WebSocket API ones included
        self.users: dict[str, dict[Connection, int | None]] = {}  # api key -> conn -> sub id
        self.listen_keys: dict[str, str] = {}  # listen key -> api key
        self.listen_key_seen: dict[str, int] = {}  # listen key -> last keepalive (server ms)
        self.signed_methods: dict[str, SignedMethod] = {}  # WebSocket API, set by the server
        self.public_methods: dict[str, PublicMethod] = {}
        self.before_call: Callable[[], None] = lambda: None  # fault hook: may raise an ApiError
        self.delay: Callable[[], float] = lambda: 0.0  # fault hook: seconds before handling
        self.session_calls = 0  # signed requests authorized by a session.logon (for tests)
        self._next_sub = 0
        self._closing: set[asyncio.Future[Any]] = set()

    # -- publishing --------------------------------------------------------

    def publish_market(self, stream: str, data: dict[str, Any]) -> None:
        for conn in list(self.market):
            if stream in conn.streams:
                conn.push({"stream": stream, "data": data} if conn.combined else data)

    def listening(self, stream: str) -> bool:
        """Whether any connection subscribes to ``stream`` (so the event is worth building)."""
        return any(stream in conn.streams for conn in self.market)

    def publish_user(self, api_key: str, event: dict[str, Any]) -> None:
        for conn, sub in list(self.users.get(api_key, {}).items()):
            conn.push(event if sub is None else {"subscriptionId": sub, "event": event})

    async def close_all(self) -> None:
        """Close every connection (the server is stopping)."""
        for conn in list(self.open):
            await conn.ws.close()

    def close_listen_key(self, key: str) -> None:
        """Forget a listenKey and close the streams opened with it (without waiting)."""
        api_key = self.listen_keys.pop(key)
        self.listen_key_seen.pop(key, None)
        for conn in list(self.users.get(api_key, {})):
            if conn.listen_key == key:
                self._spawn(conn.ws.close())

    def add_listen_key(self, key: str, api_key: str) -> None:
        self.listen_keys[key] = api_key
        self.listen_key_seen[key] = self.clock()

    def keep_alive(self, key: str) -> None:
        """A keepalive: the key lives another :data:`LISTEN_KEY_TTL_MS` from now."""
        self.listen_key_seen[key] = self.clock()

    def expire_listen_keys(self) -> list[str]:
        """Forget the keys not kept alive for an hour of server time; their streams hear
        ``listenKeyExpired``, then close. Returns the expired keys."""
        now = self.clock()
        expired = [k for k, t in self.listen_key_seen.items() if now - t >= LISTEN_KEY_TTL_MS]
        for key in expired:
            api_key = self.listen_keys.pop(key)
            del self.listen_key_seen[key]
            event = {"e": "listenKeyExpired", "E": now, "listenKey": key}
            for conn in list(self.users.get(api_key, {})):
                if conn.listen_key == key:
                    conn.push(event)
                    self._spawn(conn.close_after_sending())
        return expired

    async def expire_listen_keys_every(self, seconds: float) -> None:
        """Check for expired listenKeys every ``seconds`` of wall time (the clock may jump)."""
        while True:
            await asyncio.sleep(seconds)
            self.expire_listen_keys()

    def _spawn(self, closing: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(closing)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def disconnect(self, *, market: bool = True, user: bool = True) -> int:
        """Close WebSockets (a fault); returns how many were closed."""
        targets: set[Connection] = set(self.market) if market else set()
        if user:
            for conns in self.users.values():
                targets.update(conns)
        for conn in targets:
            await conn.ws.close()
        return len(targets)

    # -- handlers ----------------------------------------------------------

    async def _serve(
        self,
        request: web.Request,
        conn: Connection,
        on_text: Callable[[Connection, dict[str, Any]], None],
    ) -> web.WebSocketResponse:
        ws = conn.ws
        await ws.prepare(request)
        pump = asyncio.create_task(conn.pump())
        self.open.add(conn)
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    payload = json.loads(msg.data)
                except ValueError:
                    continue
                if isinstance(payload, dict):
                    on_text(conn, payload)
                    await conn.flush()
        finally:
            self.open.discard(conn)
            self.market.discard(conn)
            for conns in self.users.values():
                conns.pop(conn, None)
            conn.outbox.put_nowait(None)
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        return ws

    async def market_ws(self, request: web.Request) -> web.WebSocketResponse:
        """``/ws/<stream>``, ``/ws`` + SUBSCRIBE, ``/stream?streams=a/b`` or ``/ws/<listenKey>``."""
        name = request.match_info.get("name", "")
        self.expire_listen_keys()
        combined = request.path.startswith("/stream")
        conn = Connection(web.WebSocketResponse(heartbeat=None), combined=combined)
        api_key = self.listen_keys.get(name)
        if api_key is not None:
            conn.listen_key = name
            self.users.setdefault(api_key, {})[conn] = None
        else:
            names = request.query.get("streams", "").split("/") if combined else [name]
            conn.streams.update(n for n in names if n)
            self.market.add(conn)
        return await self._serve(request, conn, self._on_market_message)

    def _on_market_message(self, conn: Connection, payload: dict[str, Any]) -> None:
        method, params = payload.get("method"), payload.get("params", [])
        request_id = payload.get("id")
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            conn.push(
                {"error": {"code": 2, "msg": "Invalid request: invalid params"}, "id": request_id}
            )
            return
        result: list[str] | None = None
        if method == "SUBSCRIBE":
            conn.streams.update(params)
        elif method == "UNSUBSCRIBE":
            conn.streams.difference_update(params)
        elif method == "LIST_SUBSCRIPTIONS":
            result = sorted(conn.streams)
        else:
            conn.push(
                {"error": {"code": 2, "msg": "Invalid request: unknown method"}, "id": request_id}
            )
            return
        conn.push({"result": result, "id": request_id})

    async def ws_api(self, request: web.Request) -> web.StreamResponse:
        """``/ws-api/v3[?returnRateLimits=false]``: the WebSocket API; connecting costs weight."""
        now = self.clock()
        try:
            self.weights.charge(WS_CONNECT_WEIGHT, now)
        except RetryAfter as exc:
            headers = {"Retry-After": str(exc.seconds)}
            return web.json_response(exc.error.body(), status=429, headers=headers)
        except errors.ApiError as exc:
            seconds = max(1, (self.weights.banned_until - now) // 1000)
            headers = {"Retry-After": str(seconds)}
            return web.json_response(exc.body(), status=exc.status, headers=headers)
        conn = Connection(web.WebSocketResponse(heartbeat=None), session=Session(now))
        conn.rate_limits = _flag(request.query.get("returnRateLimits"), default=True)
        return await self._serve(request, conn, self._on_api_message)

    def _on_api_message(self, conn: Connection, payload: dict[str, Any]) -> None:
        delay = self.delay()
        if delay:
            loop = asyncio.get_running_loop()
            loop.call_later(delay, self._handle_api_message, conn, payload)
        else:
            self._handle_api_message(conn, payload)

    def _handle_api_message(self, conn: Connection, payload: dict[str, Any]) -> None:
        request_id = payload.get("id")
        method = payload.get("method")
        raw = payload.get("params") or {}
        params = {str(k): _wire(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
        name = method if isinstance(method, str) else ""
        now = self.clock()
        reply: dict[str, Any] = {"id": request_id}
        try:
            weight = ws_request_weight(name, params)
            self.weights.charge(weight, now)
            if not isinstance(raw, dict) or not name:
                raise errors.ApiError(-1102, "Mandatory parameter 'method' was not sent.")
            reply |= {"status": 200, "result": self._call(conn, name, params)}
        except RetryAfter as exc:
            retry = {"serverTime": now, "retryAfter": now + exc.seconds * 1000}
            reply |= {"status": 429, "error": exc.error.body() | {"data": retry}}
        except errors.ApiError as exc:
            reply |= {"status": exc.status, "error": exc.body()}
            if exc.status == 418:
                ban = {"serverTime": now, "retryAfter": self.weights.banned_until}
                reply["error"]["data"] = ban
        except DropReply as drop:
            loop = asyncio.get_running_loop()
            loop.call_later(drop.delay, lambda: asyncio.ensure_future(conn.ws.close()))
            return
        if _flag(params.get("returnRateLimits"), default=conn.rate_limits):
            reply["rateLimits"] = self._rate_limits(conn, name, params, now)
        conn.push(reply)

    def _rate_limits(
        self, conn: Connection, method: str, params: dict[str, str], now: int
    ) -> list[Any]:
        """What the request counted against: its account's orders if it places any, and
        the IP's request weight."""
        limits: list[Any] = []
        api_key = params.get("apiKey") or conn.session.api_key
        if method in ORDERS_PLACED and api_key in self.accounts:
            limits += self.orders.rate_limits(api_key, now)
        limits.append(self.weights.rate_limit(now))
        return limits

    def _call(self, conn: Connection, method: str, params: dict[str, str]) -> Any:
        if method == "ping":
            return {}
        if method == "time":
            return {"serverTime": self.clock()}
        if method == "userDataStream.subscribe.signature":
            return {"subscriptionId": self._subscribe(conn, params)}
        if method == "userDataStream.unsubscribe":
            for conns in self.users.values():
                conns.pop(conn, None)
            return {}
        if method in SESSION_METHODS:
            return self._session_call(conn, method, params)
        self.before_call()
        public = self.public_methods.get(method)
        if public is not None:
            return public(params)
        signed = self.signed_methods.get(method)
        if signed is None:
            raise errors.unsupported()
        return signed(self._account(conn, params), params)

    def _session_call(self, conn: Connection, method: str, params: dict[str, str]) -> Any:
        session = conn.session
        if method == "session.logon":
            session.logon(self._verify(params), self.clock())
        elif method == "session.logout":
            session.logout()
        subscribed = any(conn in conns for conns in self.users.values())
        return session.status(self.clock(), rate_limits=conn.rate_limits, user_stream=subscribed)

    def _account(self, conn: Connection, params: dict[str, str]) -> Account:
        """A signed request's account: its own signature's (always accepted), else that of
        the connection's session.logon; a timestamp is needed either way."""
        key = conn.session.api_key
        if key is None or "signature" in params or params.get("apiKey", key) != key:
            return self._verify(params)
        account = self.accounts.get(key)
        if account is None:  # the key is gone: the session is revoked
            conn.session.logout()
            raise errors.bad_key()
        auth.check_timestamp(params, self.clock())
        self.session_calls += 1
        return account

    def _verify(self, params: dict[str, str]) -> Account:
        """A WebSocket API request's account: the params sorted by name are what is signed."""
        fields = {k: v for k, v in params.items() if k != "signature"}
        payload = "&".join(f"{k}={v}" for k, v in sorted(fields.items()))
        signature = params.get("signature")
        if signature is not None:
            payload += f"&signature={signature}"
        return auth.verify(
            self.accounts, fields.get("apiKey"), payload, fields, self.clock(), encoded=False
        )

    def _subscribe(self, conn: Connection, params: dict[str, str]) -> int:
        account = self._verify(params)
        sub = self._next_sub
        self._next_sub += 1
        self.users.setdefault(account.api_key, {})[conn] = sub
        return sub
