"""The simulator's aiohttp server: Binance spot REST routes plus the WebSocket side."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl

from aiohttp import web

from chainops.devnet.exchange import auth, errors
from chainops.devnet.exchange.accounts import Account
from chainops.devnet.exchange.engine import Book, Engine, Result, SimOrder
from chainops.devnet.exchange.faults import Faults
from chainops.devnet.exchange.filters import DEFAULT_SYMBOLS, SymbolSpec, fmt
from chainops.devnet.exchange.liquidity import seed_liquidity
from chainops.devnet.exchange.streams import StreamHub, execution_report
from chainops.devnet.exchange.weights import WEIGHTS, RetryAfter, WeightCounter

__all__ = ["ExchangeSimulator"]

_NUMBER = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
_CLIENT_ID = re.compile(r"^[a-zA-Z0-9-_]{1,36}$")
Handler = Callable[[web.Request, dict[str, str]], Awaitable[Any]]


def _decimal(params: dict[str, str], name: str, *, required: bool = True) -> Decimal | None:
    text = params.get(name)
    if text is None or text == "":
        if required:
            raise errors.mandatory(name)
        return None
    if not _NUMBER.match(text):
        raise errors.illegal(name)
    return Decimal(text)


def _int(params: dict[str, str], name: str) -> int | None:
    text = params.get(name)
    if text is None:
        return None
    if not text.isdigit():
        raise errors.illegal(name)
    return int(text)


class ExchangeSimulator:
    """A Binance-compatible spot exchange on loopback (also a paper-trading venue).

    ``async with ExchangeSimulator(seed=1) as sim:`` then point a client at
    ``sim.url`` (REST), ``sim.stream_url`` (market streams) and
    ``sim.ws_api_url`` (WebSocket API). ``sim.faults`` holds the fault switches.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        symbols: tuple[SymbolSpec, ...] = DEFAULT_SYMBOLS,
        weight_limit: int = 6000,
        liquidity_levels: int = 20,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.host, self.port = host, port
        self.accounts: dict[str, Account] = {}
        self.engine = Engine(symbols)
        self.faults = Faults(seed=seed)
        self.weights = WeightCounter(weight_limit)
        self.hub = StreamHub(self.accounts, self.now_ms)
        self.order_requests: dict[str, int] = {}  # client id -> POST /order count (for tests)
        self._runner: web.AppRunner | None = None
        self._seed = seed
        self._levels = liquidity_levels

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> Self:
        app = web.Application()
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/api/v3/ping", self._ping),
            ("GET", "/api/v3/time", self._time),
            ("GET", "/api/v3/exchangeInfo", self._exchange_info),
            ("GET", "/api/v3/depth", self._depth),
            ("POST", "/api/v3/order", self._new_order),
            ("GET", "/api/v3/order", self._get_order),
            ("DELETE", "/api/v3/order", self._cancel_order),
            ("GET", "/api/v3/openOrders", self._open_orders),
            ("DELETE", "/api/v3/openOrders", self._cancel_all),
            ("GET", "/api/v3/account", self._account),
            ("GET", "/api/v3/myTrades", self._my_trades),
            ("POST", "/api/v3/userDataStream", self._listen_key),
            ("PUT", "/api/v3/userDataStream", self._keepalive),
            ("DELETE", "/api/v3/userDataStream", self._keepalive),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, self._wrap(handler))
        app.router.add_get("/ws-api/v3", self.hub.ws_api)
        app.router.add_get("/ws", self.hub.market_ws)
        app.router.add_get("/ws/{name}", self.hub.market_ws)
        app.router.add_get("/stream", self.hub.market_ws)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        if self._levels:
            seed_liquidity(self, self._seed, self._levels)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self.hub.disconnect()
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def stream_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def ws_api_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws-api/v3"

    # -- helpers for tests and paper users ---------------------------------

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.faults.clock_skew_ms

    def create_account(
        self,
        balances: dict[str, Decimal | str | int] | None = None,
        *,
        api_key: str | None = None,
        secret: str | None = None,
    ) -> Account:
        """A funded account; its key and secret are what a client signs with."""
        account = Account(api_key or secrets.token_hex(32), secret or secrets.token_hex(32))
        for asset, amount in (balances or {}).items():
            account.deposit(asset, Decimal(amount))
        self.accounts[account.api_key] = account
        return account

    def book(self, symbol: str) -> Book:
        return self.engine.books[symbol]

    async def disconnect_websockets(self, *, market: bool = True, user: bool = True) -> int:
        """Fault: cut WebSocket connections."""
        return await self.hub.disconnect(market=market, user=user)

    def place_direct(self, account: Account, symbol: str, **order: Any) -> SimOrder:
        """Place an order without HTTP (seeding, tests); streams are published as usual."""
        now = self.now_ms()
        result = self.engine.place(account, self.engine.spec(symbol), now=now, **order)
        self._publish(result, now)
        return result.order

    # -- plumbing ----------------------------------------------------------

    def _wrap(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def serve(request: web.Request) -> web.StreamResponse:
            headers: dict[str, str] = {}
            weight = WEIGHTS.get((request.method, request.path), 1)
            try:
                headers["X-MBX-USED-WEIGHT-1M"] = str(self.weights.charge(weight, self.now_ms()))
                if self.faults.delay_seconds:
                    await asyncio.sleep(self.faults.delay_seconds)
                if self.faults.take_server_error():
                    raise errors.internal()
                body = await request.text() if request.can_read_body else ""
                payload = request.query_string + body
                params = dict(parse_qsl(request.query_string, keep_blank_values=True))
                params.update(parse_qsl(body, keep_blank_values=True))
                params["__payload__"] = payload
                result = await handler(request, params)
            except RetryAfter as exc:
                headers["Retry-After"] = str(exc.seconds)
                headers["X-MBX-USED-WEIGHT-1M"] = str(self.weights.used)
                return web.json_response(exc.error.body(), status=429, headers=headers)
            except errors.ApiError as exc:
                headers.setdefault("X-MBX-USED-WEIGHT-1M", str(self.weights.used))
                if exc.status == 418:
                    headers["Retry-After"] = str(
                        max(1, (self.weights.banned_until - self.now_ms()) // 1000)
                    )
                return web.json_response(exc.body(), status=exc.status, headers=headers)
            if isinstance(result, web.StreamResponse):
                return result
            return web.json_response(result, headers=headers)

        return serve

    def _signed(self, request: web.Request, params: dict[str, str]) -> Account:
        return auth.verify(
            self.accounts,
            request.headers.get("X-MBX-APIKEY"),
            params["__payload__"],
            params,
            self.now_ms(),
        )

    def _publish(self, result: Result, now: int, *, new: bool = True) -> None:
        order = result.order
        book = self.engine.books[order.spec.symbol]
        symbol = order.spec.symbol.lower()
        diff = book.take_diff()
        if diff is not None and not self.faults.take_skip_depth():
            first, last, bids, asks = diff
            event = {
                "e": "depthUpdate",
                "E": now,
                "s": order.spec.symbol,
                "U": first,
                "u": last,
                "b": bids,
                "a": asks,
            }
            self.hub.publish_market(f"{symbol}@depth", event)
            self.hub.publish_market(f"{symbol}@depth@100ms", event)
        report = self.hub.publish_user
        if new:
            report(order.account.api_key, execution_report(order, "NEW", now))
        for trade in result.trades:
            self.hub.publish_market(
                f"{symbol}@trade",
                {
                    "e": "trade",
                    "E": now,
                    "s": order.spec.symbol,
                    "t": trade.trade_id,
                    "p": fmt(trade.price),
                    "q": fmt(trade.qty),
                    "T": trade.time,
                    "m": trade.maker.side == "BUY",
                    "M": True,
                },
            )
            for side in (trade.maker, trade.taker):
                report(side.account.api_key, execution_report(side, "TRADE", now, trade))
        if order.status == "EXPIRED":
            report(order.account.api_key, execution_report(order, "EXPIRED", now))

    # -- public routes -----------------------------------------------------

    async def _ping(self, request: web.Request, params: dict[str, str]) -> Any:
        return {}

    async def _time(self, request: web.Request, params: dict[str, str]) -> Any:
        return {"serverTime": self.now_ms()}

    async def _exchange_info(self, request: web.Request, params: dict[str, str]) -> Any:
        specs = list(self.engine.specs.values())
        if "symbol" in params:
            specs = [self.engine.spec(params["symbol"])]
        return {
            "timezone": "UTC",
            "serverTime": self.now_ms(),
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": self.weights.limit,
                }
            ],
            "exchangeFilters": [],
            "symbols": [s.info() for s in specs],
        }

    async def _depth(self, request: web.Request, params: dict[str, str]) -> Any:
        symbol = params.get("symbol") or ""
        if not symbol:
            raise errors.mandatory("symbol")
        self.engine.spec(symbol)
        limit = min(_int(params, "limit") or 100, 5000)
        book = self.engine.books[symbol]
        return {"lastUpdateId": book.update_id, **book.depth(limit)}

    # -- signed routes -----------------------------------------------------

    async def _new_order(self, request: web.Request, params: dict[str, str]) -> Any:
        account = self._signed(request, params)
        spec = self.engine.spec(params.get("symbol") or "")
        side = params.get("side")
        if side not in ("BUY", "SELL"):
            raise errors.bad_enum("side")
        kind = params.get("type")
        if kind not in ("LIMIT", "MARKET", "LIMIT_MAKER"):
            raise errors.bad_enum("orderType")
        qty = _decimal(params, "quantity")
        assert qty is not None
        price = None
        tif = "GTC"
        if kind == "MARKET":
            if params.get("price"):
                raise errors.not_required("price")
        else:
            price = _decimal(params, "price")
        if kind == "LIMIT":
            tif = params.get("timeInForce") or ""
            if not tif:
                raise errors.mandatory("timeInForce")
            if tif not in ("GTC", "IOC", "FOK"):
                raise errors.bad_enum("timeInForce")
        client_id = params.get("newClientOrderId") or f"sim{secrets.token_hex(8)}"
        if not _CLIENT_ID.match(client_id):
            raise errors.illegal("newClientOrderId")
        spec.check(price, qty, market=kind == "MARKET")
        self.order_requests[client_id] = self.order_requests.get(client_id, 0) + 1
        now = self.now_ms()
        result = self.engine.place(
            account,
            spec,
            side=side,
            type=kind,
            tif=tif if kind == "LIMIT" else "GTC",
            price=price,
            qty=qty,
            client_id=client_id,
            now=now,
        )
        self._publish(result, now)
        if self.faults.take_drop() and request.transport is not None:
            request.transport.close()  # executed, but the client never hears back
            return web.Response(status=500)
        body = result.order.to_json() | {
            "transactTime": now,
            "fills": [
                {
                    "price": fmt(t.price),
                    "qty": fmt(t.qty),
                    "commission": fmt(t.taker_fee),
                    "commissionAsset": t.fee_asset(result.order),
                    "tradeId": t.trade_id,
                }
                for t in result.trades
            ],
        }
        return body

    def _target(self, account: Account, params: dict[str, str]) -> SimOrder:
        symbol = params.get("symbol") or ""
        if not symbol:
            raise errors.mandatory("symbol")
        self.engine.spec(symbol)
        order_id = _int(params, "orderId")
        client_id = params.get("origClientOrderId")
        if order_id is None and not client_id:
            raise errors.ApiError(
                -1102,
                "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            )
        return self.engine.find(account, symbol, order_id, client_id)

    async def _get_order(self, request: web.Request, params: dict[str, str]) -> Any:
        account = self._signed(request, params)
        return self._target(account, params).to_json()

    def _cancel(self, order: SimOrder, params: dict[str, str]) -> dict[str, Any]:
        now = self.now_ms()
        self.engine.cancel(order, now)
        self._publish(Result(order), now, new=False)
        self.hub.publish_user(
            order.account.api_key,
            execution_report(order, "CANCELED", now) | {"C": order.client_order_id},
        )
        body = order.to_json()
        body["origClientOrderId"] = order.client_order_id
        body["clientOrderId"] = params.get("newClientOrderId") or f"cxl{secrets.token_hex(8)}"
        body["transactTime"] = now
        return body

    async def _cancel_order(self, request: web.Request, params: dict[str, str]) -> Any:
        account = self._signed(request, params)
        try:
            order = self._target(account, params)
        except errors.ApiError as exc:
            if exc.code == -2013:
                raise errors.cancel_unknown() from None
            raise
        return self._cancel(order, params)

    async def _open_orders(self, request: web.Request, params: dict[str, str]) -> Any:
        account = self._signed(request, params)
        symbol = params.get("symbol") or None
        if symbol is not None:
            self.engine.spec(symbol)
        return [o.to_json() for o in self.engine.open_orders(account, symbol)]

    async def _cancel_all(self, request: web.Request, params: dict[str, str]) -> Any:
        account = self._signed(request, params)
        symbol = params.get("symbol") or ""
        if not symbol:
            raise errors.mandatory("symbol")
        self.engine.spec(symbol)
        orders = self.engine.open_orders(account, symbol)
        if not orders:
            raise errors.cancel_unknown()
        return [self._cancel(o, {}) for o in orders]

    async def _account(self, request: web.Request, params: dict[str, str]) -> Any:
        account = self._signed(request, params)
        return {
            "makerCommission": 10,
            "takerCommission": 10,
            "canTrade": True,
            "canWithdraw": False,
            "canDeposit": False,
            "updateTime": self.now_ms(),
            "accountType": "SPOT",
            "balances": account.to_json(),
            "permissions": ["SPOT"],
        }

    async def _my_trades(self, request: web.Request, params: dict[str, str]) -> Any:
        account = self._signed(request, params)
        symbol = params.get("symbol") or ""
        if not symbol:
            raise errors.mandatory("symbol")
        self.engine.spec(symbol)
        order_id, from_id = _int(params, "orderId"), _int(params, "fromId")
        limit = min(_int(params, "limit") or 500, 1000)
        out = []
        for trade in self.engine.trades.get(account.api_key, []):
            if trade.spec.symbol != symbol or (from_id is not None and trade.trade_id < from_id):
                continue
            for side in (trade.maker, trade.taker):
                if side.account is account and (order_id is None or side.order_id == order_id):
                    out.append(trade.for_account(side))
        return out[-limit:] if from_id is None else out[:limit]

    async def _listen_key(self, request: web.Request, params: dict[str, str]) -> Any:
        api_key = request.headers.get("X-MBX-APIKEY")
        if not api_key:
            raise errors.bad_key_format()
        if api_key not in self.accounts:
            raise errors.bad_key()
        key = secrets.token_hex(30)
        self.hub.listen_keys[key] = api_key
        return {"listenKey": key}

    async def _keepalive(self, request: web.Request, params: dict[str, str]) -> Any:
        return {}
