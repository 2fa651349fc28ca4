"""The PubSub websocket of Solana's RPC: subscriptions that fire per commitment.

``signatureSubscribe`` (one notification when the signature reaches the
commitment, optionally ``receivedSignature`` first, then the subscription ends),
``accountSubscribe``, ``programSubscribe`` (with filters), ``logsSubscribe``
(``all`` or ``{"mentions": [key]}``), ``slotSubscribe``, ``rootSubscribe`` and
each ``*Unsubscribe``. Subscriptions are evaluated whenever the chain changes
(a landing, produced blocks, a rollback) and at every slot boundary, so a
*confirmed* notification arrives one slot after the landing, as on a cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from chainops.devnet.solana import params
from chainops.devnet.solana.accounts import check_filters, matches_filters
from chainops.devnet.solana.clock import Commitment
from chainops.devnet.solana.dispatch import API_VERSION
from chainops.devnet.solana.encodings import check_encoding, encode_account
from chainops.devnet.solana.faults import RpcFault, invalid_params
from chainops.devnet.solana.localchain import LocalChain
from chainops.devnet.solana.parsed_accounts import MintDecimals
from chainops.devnet.solana.records import StatusView

__all__ = ["PubSub"]

_RANK = {Commitment.PROCESSED: 0, Commitment.CONFIRMED: 1, Commitment.FINALIZED: 2}
_IDLE_PERIOD = 0.2  # seconds between looks when nothing wakes the loop
_MAX_SLOT_BURST = 32  # after a jump (advance(151)) slot subscribers get the newest slots only


def _context(slot: int) -> dict[str, Any]:
    return {"slot": slot, "apiVersion": API_VERSION}


@dataclass(eq=False)
class _Connection:
    ws: web.WebSocketResponse
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, payload: dict[str, Any]) -> None:
        async with self.lock:
            if not self.ws.closed:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await self.ws.send_str(json.dumps(payload))


@dataclass(eq=False)
class _Subscription:
    ident: int
    kind: str  # account, program, signature, logs, slot, root
    connection: _Connection
    level: Commitment
    target: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    seen: dict[str, Any] = field(default_factory=dict)  # what was last notified
    mark: int = 0  # the last slot notified about
    received: bool = False


class PubSub:
    """The websocket endpoint: subscriptions and their notifications for one chain."""

    def __init__(self, chain: LocalChain, decimals_of: MintDecimals) -> None:
        self.chain = chain
        self._decimals_of = decimals_of
        self._ids = itertools.count(1)
        self._subs: dict[int, _Subscription] = {}
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self.notifications = 0  # sent, all kinds (tests and benchmarks count them)
        self._connections: set[_Connection] = set()
        self._fresh = False  # a subscription was added since the last look

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self.chain.add_listener(self._changed)
        self._task = asyncio.create_task(self._run(), name="solana-pubsub")

    async def stop(self) -> None:
        self.chain.remove_listener(self._changed)
        for connection in list(self._connections):  # the HTTP server waits for open sockets
            await connection.ws.close(code=WSCloseCode.GOING_AWAY)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _changed(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop stopped meanwhile
                loop.call_soon_threadsafe(wake.set)

    async def _run(self) -> None:
        assert self._wake is not None
        looked_at: tuple[int, int] | None = None
        while True:
            # Wake on every change, and just after each slot boundary: commitment levels
            # move with time too (a landing is confirmed when the next block comes).
            next_slot = self.chain.next_slot_in()
            period = _IDLE_PERIOD if next_slot is None else min(next_slot + 0.001, _IDLE_PERIOD)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), period)
            self._wake.clear()
            state = (self.chain.version, self.chain.slot)
            if state == looked_at and not self._fresh:
                continue  # nothing changed since the last look
            looked_at, self._fresh = state, False
            await self._pass()

    async def _pass(self) -> None:
        subs = list(self._subs.values())
        signatures = [sub for sub in subs if sub.kind == "signature"]
        views = self.chain.statuses([sub.target for sub in signatures])
        for sub, view in zip(signatures, views, strict=True):
            await self._poll_signature(sub, view)
        for sub in subs:
            if sub.kind == "signature":
                continue
            try:
                await self._poll(sub)
            except Exception:  # one broken subscription must not stop the others
                self._subs.pop(sub.ident, None)

    # -- the websocket -----------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=None, max_msg_size=2**20)
        await ws.prepare(request)
        connection = _Connection(ws)
        self._connections.add(connection)
        try:
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    continue
                await self._message(connection, message.data)
        finally:
            self._connections.discard(connection)
            for ident in [i for i, s in self._subs.items() if s.connection is connection]:
                self._subs.pop(ident, None)
        return ws

    async def _message(self, connection: _Connection, text: str) -> None:
        try:
            body = json.loads(text)
        except ValueError:
            await connection.send(_error(None, -32700, "Parse error"))
            return
        for call in body if isinstance(body, list) else [body]:
            if not isinstance(call, dict) or "id" not in call:
                continue  # a notification (web3.js pings): nothing to answer
            ident = call["id"]
            method = call.get("method")
            call_params = call.get("params") or []
            try:
                if not isinstance(method, str) or not isinstance(call_params, list):
                    raise RpcFault(-32600, "Invalid request")
                result = self._call(connection, method, call_params)
            except RpcFault as fault:
                await connection.send(_error(ident, fault.code, fault.message))
                continue
            except Exception as exc:  # a server bug answers in JSON-RPC, the socket stays open
                await connection.send(_error(ident, -32603, f"Internal error: {exc}"))
                continue
            await connection.send({"jsonrpc": "2.0", "result": result, "id": ident})
            if self._wake is not None:
                self._fresh = True  # a subscription already satisfied fires at once
                self._wake.set()

    def _call(self, connection: _Connection, method: str, p: list[Any]) -> Any:
        if method.endswith("Unsubscribe"):
            if not p or not isinstance(p[0], int):
                raise invalid_params("Invalid params: expected a subscription id")
            found = self._subs.get(p[0])
            if found is None or found.connection is not connection:
                raise invalid_params("Invalid subscription id.")
            del self._subs[p[0]]
            return True
        factory = self._factories().get(method)
        if factory is None:
            raise RpcFault(-32601, "Method not found")
        sub = factory(connection, p)
        self._subs[sub.ident] = sub
        return sub.ident

    def _factories(self) -> dict[str, Callable[[_Connection, list[Any]], _Subscription]]:
        return {
            "accountSubscribe": self._account,
            "programSubscribe": self._program,
            "signatureSubscribe": self._signature,
            "logsSubscribe": self._logs,
            "slotSubscribe": lambda c, p: self._new("slot", c, Commitment.PROCESSED),
            "rootSubscribe": lambda c, p: self._new("root", c, Commitment.FINALIZED),
        }

    # -- subscribing -------------------------------------------------------------------------

    def _new(
        self,
        kind: str,
        connection: _Connection,
        level: Commitment,
        target: str = "",
        config: dict[str, Any] | None = None,
    ) -> _Subscription:
        sub = _Subscription(next(self._ids), kind, connection, level, target, config or {})
        sub.mark = self.chain.slot_at(level)
        return sub

    def _account(self, connection: _Connection, p: list[Any]) -> _Subscription:
        params.require(p, 1, "pubkey")
        cfg = params.config(p, 1)
        check_encoding(cfg.get("encoding", "base58"))
        sub = self._new("account", connection, params.commitment(cfg), params.pubkey(p[0]), cfg)
        sub.seen[sub.target] = self._encoded(sub.target, sub)
        return sub

    def _program(self, connection: _Connection, p: list[Any]) -> _Subscription:
        params.require(p, 1, "program id")
        cfg = params.config(p, 1)
        check_encoding(cfg.get("encoding", "base58"))
        cfg["filters"] = check_filters(cfg.get("filters"))
        sub = self._new("program", connection, params.commitment(cfg), params.pubkey(p[0]), cfg)
        sub.seen = self._program_view(sub)
        return sub

    def _signature(self, connection: _Connection, p: list[Any]) -> _Subscription:
        params.require(p, 1, "signature")
        if not isinstance(p[0], str):
            raise invalid_params("Invalid params: expected a signature")
        cfg = params.config(p, 1)
        return self._new("signature", connection, params.commitment(cfg), p[0], cfg)

    def _logs(self, connection: _Connection, p: list[Any]) -> _Subscription:
        params.require(p, 1, "filter")
        selector = p[0]
        if selector in ("all", "allWithVotes"):
            target = ""
        elif isinstance(selector, dict) and isinstance(selector.get("mentions"), list):
            if len(selector["mentions"]) != 1:
                raise invalid_params("Invalid Request: Only 1 address supported")
            target = params.pubkey(selector["mentions"][0])
        else:
            raise invalid_params("Invalid params: expected all, allWithVotes or {mentions}")
        cfg = params.config(p, 1)
        sub = self._new("logs", connection, params.commitment(cfg), target, cfg)
        sub.seen = {t.signature: True for t in self.chain.block(sub.mark) or []}
        return sub

    # -- evaluating --------------------------------------------------------------------------

    def _encoded(self, key: str, sub: _Subscription) -> Any:
        found = self.chain.account(key, sub.level)
        if found is None:
            return None
        return encode_account(
            key,
            found,
            sub.config.get("encoding", "base58"),
            self._decimals_of,
            sub.config.get("dataSlice"),
        )

    def _program_view(self, sub: _Subscription) -> dict[str, Any]:
        filters = sub.config["filters"]
        return {
            key: self._encoded(key, sub)
            for key, account in self.chain.accounts_owned_by(sub.target, sub.level)
            if matches_filters(bytes(account.data), filters)
        }

    async def _notify(self, sub: _Subscription, method: str, result: Any) -> None:
        self.notifications += 1
        await sub.connection.send(
            {
                "jsonrpc": "2.0",
                "method": method,
                "params": {"result": result, "subscription": sub.ident},
            }
        )

    async def _poll(self, sub: _Subscription) -> None:
        slot = self.chain.slot_at(sub.level)
        if sub.kind == "account":
            now = self._encoded(sub.target, sub)
            if now != sub.seen.get(sub.target):
                sub.seen[sub.target] = now
                value = now if now is not None else _closed_account(sub)
                await self._notify(
                    sub, "accountNotification", {"context": _context(slot), "value": value}
                )
        elif sub.kind == "program":
            view = self._program_view(sub)
            for key, now in view.items():
                if now != sub.seen.get(key):
                    value = {"pubkey": key, "account": now}
                    await self._notify(
                        sub, "programNotification", {"context": _context(slot), "value": value}
                    )
            sub.seen = view
        elif sub.kind == "logs":
            await self._poll_logs(sub, slot)
        elif slot > sub.mark:
            await self._poll_slots(sub, slot)

    async def _poll_signature(self, sub: _Subscription, view: StatusView | None) -> None:
        wants_received = sub.config.get("enableReceivedNotification") and not sub.received
        if wants_received and self.chain.received[sub.target] > 0:
            sub.received = True
            result = {"context": _context(self.chain.slot), "value": "receivedSignature"}
            await self._notify(sub, "signatureNotification", result)
        if view is None or _RANK[view.commitment] < _RANK[sub.level]:
            return
        self._subs.pop(sub.ident, None)  # a signature subscription ends with its notification
        result = {"context": _context(view.slot), "value": {"err": view.err}}
        await self._notify(sub, "signatureNotification", result)

    async def _poll_logs(self, sub: _Subscription, slot: int) -> None:
        # The newest block may still receive transactions: remember which of its
        # signatures were handled, and look at it again next time.
        if slot < sub.mark:
            return
        handled: dict[str, Any] = {}
        for s in range(sub.mark, slot + 1):
            landed_here = self.chain.block(s) or []
            for landed in landed_here:
                if s == sub.mark and landed.signature in sub.seen:
                    continue
                if sub.target and sub.target not in landed.keys:
                    continue
                value = {"signature": landed.signature, "err": landed.err, "logs": [*landed.logs]}
                result = {"context": _context(s), "value": value}
                await self._notify(sub, "logsNotification", result)
            if s == slot:
                handled = {t.signature: True for t in landed_here}
        sub.seen = {**sub.seen, **handled} if slot == sub.mark else handled
        sub.mark = slot

    async def _poll_slots(self, sub: _Subscription, slot: int) -> None:
        start, sub.mark = max(sub.mark, slot - _MAX_SLOT_BURST), slot
        clock = self.chain.clock
        root = self.chain.slot_at(Commitment.FINALIZED)
        for s in range(start + 1, slot + 1):
            if not clock.produced(s):
                continue
            if sub.kind == "slot":
                result: Any = {"parent": clock.back(s, 1), "root": root, "slot": s}
                await self._notify(sub, "slotNotification", result)
            else:
                await self._notify(sub, "rootNotification", s)


def _closed_account(sub: _Subscription) -> dict[str, Any]:
    """What a subscriber hears when the account is gone: zero lamports, no data."""
    encoding = sub.config.get("encoding", "base58")
    data: Any = ["", "base64" if encoding in ("base64", "jsonParsed") else "base58"]
    return {
        "data": data,
        "executable": False,
        "lamports": 0,
        "owner": "11111111111111111111111111111111",
        "rentEpoch": 0,
        "space": 0,
    }


def _error(ident: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": ident}
