"""A fault-injecting JSON-RPC proxy for loopback tests: sits between a client and a node.

Rules pick calls by method (``"*"`` for any) and either a probability or the
N-th matching call, then act: ``delay`` (seconds), ``drop`` (close the
connection without answering, after or before forwarding), ``duplicate``
(forward twice, answer once), ``fail`` (HTTP status, e.g. 500 or 429 with
Retry-After) or ``error`` (a JSON-RPC error object such as -32603). Everything
is deterministic under ``seed``. Batches are forwarded item by item so a rule
can hit one call inside a batch.

    async with RpcProxy(anvil.url, seed=7) as proxy:
        proxy.add(FaultRule("eth_sendRawTransaction", action="drop", nth=2))
        ... point the operator at proxy.url ...
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
from aiohttp import web

from chainops.core.errors import ValidationError
from chainops.devnet.anvil import free_port

Action = Literal["delay", "drop", "drop_after", "duplicate", "fail", "error"]


@dataclass
class FaultRule:
    """One fault: which calls it hits and what it does to them."""

    method: str = "*"
    action: Action = "fail"
    probability: float | None = None  # a share of matching calls, decided by the seeded RNG
    nth: int | None = None  # or exactly the N-th matching call (1-based)
    times: int | None = None  # stop after this many hits (None: no limit)
    delay: float = 0.0
    status: int = 500
    retry_after: float | None = None
    code: int = -32603
    message: str = "internal error"
    seen: int = field(default=0, init=False)
    hits: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if (self.probability is None) == (self.nth is None):
            raise ValidationError("a fault rule needs exactly one of probability or nth")
        if self.probability is not None and not 0 <= self.probability <= 1:
            raise ValidationError("probability must be within 0..1")

    def matches(self, method: str, rng: random.Random) -> bool:
        if self.method not in ("*", method):
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        self.seen += 1
        if self.nth is not None:
            hit = self.seen == self.nth
        else:
            assert self.probability is not None
            hit = rng.random() < self.probability
        if hit:
            self.hits += 1
        return hit


class RpcProxy:
    """The proxy server. ``url`` is where clients connect; ``upstream`` is the node."""

    def __init__(self, upstream: str, *, seed: int = 0, host: str = "127.0.0.1") -> None:
        self.upstream = upstream
        self.host = host
        self.rules: list[FaultRule] = []
        self.rng = random.Random(seed)
        self.calls: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def add(self, rule: FaultRule) -> FaultRule:
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    async def start(self) -> RpcProxy:
        app = web.Application()
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self.port = free_port(self.host)
        await web.TCPSite(self._runner, self.host, self.port).start()
        self._session = aiohttp.ClientSession()
        return self

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> RpcProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _forward(self, body: Any) -> Any:
        assert self._session is not None
        async with self._session.post(self.upstream, json=body) as reply:
            return await reply.json(content_type=None)

    def _request_rule(self, methods: list[str]) -> FaultRule | None:
        """The first transport-level rule that hits this HTTP request (checked once per
        request, so a 5 % rule fails 5 % of requests whatever their batch size)."""
        for rule in self.rules:
            if rule.action == "error":
                continue
            method = rule.method if rule.method in methods else methods[0]
            if rule.matches(method, self.rng):
                self.faults[f"{rule.action}:{method}"] += 1
                return rule
        return None

    def _item_error(self, call: dict[str, Any]) -> dict[str, Any] | None:
        method = str(call.get("method"))
        for rule in self.rules:
            if rule.action == "error" and rule.matches(method, self.rng):
                self.faults[f"error:{method}"] += 1
                error = {"code": rule.code, "message": rule.message}
                return {"jsonrpc": "2.0", "id": call.get("id"), "error": error}
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json(loads=json.loads)
        calls: list[dict[str, Any]] = body if isinstance(body, list) else [body]
        methods = [str(c.get("method")) for c in calls]
        self.calls.update(methods)
        rule = self._request_rule(methods)
        if rule is not None:
            if rule.action == "delay":
                await asyncio.sleep(rule.delay)
            elif rule.action in ("drop", "drop_after"):
                if rule.action == "drop_after":
                    await self._forward(body)  # the node acted; the client never hears of it
                assert request.transport is not None
                request.transport.close()
                return web.Response(status=500)  # never reaches the client: socket closed
            elif rule.action == "duplicate":
                await self._forward(body)
            elif rule.action == "fail":
                headers = {}
                if rule.retry_after is not None:
                    headers["Retry-After"] = str(rule.retry_after)
                return web.Response(status=rule.status, text="injected fault", headers=headers)
        errors = [self._item_error(c) for c in calls]
        forward = [c for c, e in zip(calls, errors, strict=True) if e is None]
        replies: list[Any] = []
        if forward:
            answered = await self._forward(forward if isinstance(body, list) else forward[0])
            replies = answered if isinstance(answered, list) else [answered]
        by_id = {r.get("id"): r for r in replies if isinstance(r, dict)}  # nodes may reorder
        out = [
            e if e is not None else by_id.get(c.get("id"))
            for c, e in zip(calls, errors, strict=True)
        ]
        return web.json_response(out if isinstance(body, list) else out[0])
