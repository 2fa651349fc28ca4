"""WebSocket side: market streams (depth diffs, trades) and the WebSocket API user stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import WSMsgType, web

from chainops.devnet.exchange import auth, errors
from chainops.devnet.exchange.accounts import Account
from chainops.devnet.exchange.engine import SimOrder, Trade
from chainops.devnet.exchange.filters import fmt

__all__ = ["Connection", "StreamHub", "execution_report"]


@dataclass(eq=False)
class Connection:
    """One WebSocket client with an ordered outbox."""

    ws: web.WebSocketResponse
    combined: bool = False
    streams: set[str] = field(default_factory=set)
    outbox: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)

    def push(self, payload: dict[str, Any]) -> None:
        self.outbox.put_nowait(json.dumps(payload))

    async def pump(self) -> None:
        while (text := await self.outbox.get()) is not None:
            if self.ws.closed:
                return
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return


def execution_report(
    order: SimOrder, exec_type: str, now: int, trade: Trade | None = None
) -> dict[str, Any]:
    """A user-data ``executionReport`` event."""
    fee, fee_asset, last_qty, last_price = "0", None, "0.00000000", "0.00000000"
    status, executed, cum_quote = order.status, order.executed, order.cum_quote
    if exec_type == "NEW":
        status, executed, cum_quote = "NEW", Decimal(0), Decimal(0)
    if trade is not None:
        status, executed, cum_quote = trade.states[order.order_id]
        fee = fmt(trade.maker_fee if order is trade.maker else trade.taker_fee)
        fee_asset = trade.fee_asset(order)
        last_qty, last_price = fmt(trade.qty), fmt(trade.price)
    return {
        "e": "executionReport",
        "E": now,
        "s": order.spec.symbol,
        "c": order.client_order_id,
        "S": order.side,
        "o": order.type,
        "f": order.tif,
        "q": fmt(order.qty),
        "p": fmt(order.price or Decimal(0)),
        "x": exec_type,
        "X": status,
        "r": "NONE",
        "i": order.order_id,
        "l": last_qty,
        "z": fmt(executed),
        "L": last_price,
        "n": fee,
        "N": fee_asset,
        "T": trade.time if trade else order.update_time,
        "t": trade.trade_id if trade else -1,
        "w": status in ("NEW", "PARTIALLY_FILLED"),
        "m": trade is not None and order is trade.maker,
        "O": order.time,
        "Z": fmt(cum_quote),
        "Y": fmt(trade.quote_qty) if trade else "0.00000000",
    }


class StreamHub:
    """Every open WebSocket and what it listens to."""

    def __init__(self, accounts: dict[str, Account], clock: Callable[[], int]) -> None:
        self.accounts = accounts
        self.clock = clock
        self.market: set[Connection] = set()
        self.users: dict[str, dict[Connection, int | None]] = {}  # api key -> conn -> sub id
        self.listen_keys: dict[str, str] = {}  # listen key -> api key
        self._next_sub = 0

    # -- publishing --------------------------------------------------------

    def publish_market(self, stream: str, data: dict[str, Any]) -> None:
        for conn in list(self.market):
            if stream in conn.streams:
                conn.push({"stream": stream, "data": data} if conn.combined else data)

    def publish_user(self, api_key: str, event: dict[str, Any]) -> None:
        for conn, sub in list(self.users.get(api_key, {}).items()):
            conn.push(event if sub is None else {"subscriptionId": sub, "event": event})

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
        finally:
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
        combined = request.path.startswith("/stream")
        conn = Connection(web.WebSocketResponse(heartbeat=None), combined=combined)
        api_key = self.listen_keys.get(name)
        if api_key is not None:
            self.users.setdefault(api_key, {})[conn] = None
        else:
            names = request.query.get("streams", "").split("/") if combined else [name]
            conn.streams.update(n for n in names if n)
            self.market.add(conn)
        return await self._serve(request, conn, self._on_market_message)

    def _on_market_message(self, conn: Connection, payload: dict[str, Any]) -> None:
        method, params = payload.get("method"), payload.get("params") or []
        if method == "SUBSCRIBE":
            conn.streams.update(str(p) for p in params)
        elif method == "UNSUBSCRIBE":
            conn.streams.difference_update(str(p) for p in params)
        conn.push({"result": None, "id": payload.get("id")})

    async def ws_api(self, request: web.Request) -> web.WebSocketResponse:
        """``/ws-api/v3``: ping, time and ``userDataStream.subscribe.signature``."""
        conn = Connection(web.WebSocketResponse(heartbeat=None))
        return await self._serve(request, conn, self._on_api_message)

    def _on_api_message(self, conn: Connection, payload: dict[str, Any]) -> None:
        request_id = payload.get("id")
        method = payload.get("method")
        params = payload.get("params") or {}
        try:
            if method == "ping":
                result: dict[str, Any] = {}
            elif method == "time":
                result = {"serverTime": self.clock()}
            elif method == "userDataStream.subscribe.signature":
                result = {"subscriptionId": self._subscribe(conn, params)}
            elif method == "userDataStream.unsubscribe":
                for conns in self.users.values():
                    conns.pop(conn, None)
                result = {}
            else:
                raise errors.ApiError(-1020, "This operation is not supported.")
        except errors.ApiError as exc:
            conn.push({"id": request_id, "status": exc.status, "error": exc.body()})
            return
        conn.push({"id": request_id, "status": 200, "result": result, "rateLimits": []})

    def _subscribe(self, conn: Connection, params: dict[str, Any]) -> int:
        fields = {k: str(v) for k, v in params.items() if k != "signature"}
        payload = "&".join(f"{k}={v}" for k, v in sorted(fields.items()))
        signature = params.get("signature")
        if signature is not None:
            payload += f"&signature={signature}"
        account = auth.verify(self.accounts, fields.get("apiKey"), payload, fields, self.clock())
        sub = self._next_sub
        self._next_sub += 1
        self.users.setdefault(account.api_key, {})[conn] = sub
        return sub
