"""The simulator's aiohttp server: Binance spot REST routes plus the WebSocket side."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from decimal import Decimal
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl

from aiohttp import web

from chainops.devnet.exchange import auth, errors, events
from chainops.devnet.exchange.accounts import Account, new_account
from chainops.devnet.exchange.compat import CompatApi
from chainops.devnet.exchange.engine import Book, Engine, SimOrder
from chainops.devnet.exchange.faults import Faults
from chainops.devnet.exchange.filters import DEFAULT_SYMBOLS, SymbolSpec
from chainops.devnet.exchange.liquidity import MAKER_KEY, seed_liquidity
from chainops.devnet.exchange.market_api import MarketApi
from chainops.devnet.exchange.order_lists_api import OrderListApi
from chainops.devnet.exchange.publisher import Publisher
from chainops.devnet.exchange.streams import DropReply, StreamHub
from chainops.devnet.exchange.trading_api import TradingApi
from chainops.devnet.exchange.weights import (
    ORDER_LIMITS,
    ORDERS_PLACED,
    OrderCounter,
    RetryAfter,
    WeightCounter,
    request_weight,
)

__all__ = ["ExchangeSimulator"]

log = logging.getLogger("chainops.devnet.exchange")

Public = Callable[[dict[str, str]], Any]
Signed = Callable[[Account, dict[str, str]], Any]
Handler = Callable[[web.Request, dict[str, str]], Awaitable[Any]]


class ExchangeSimulator:
    """A Binance-compatible spot exchange on loopback (also a paper-trading venue).

    ``async with ExchangeSimulator(seed=1) as sim:`` then point a client at
    ``sim.url`` (REST), ``sim.stream_url`` (market streams) and
    ``sim.ws_api_url`` (WebSocket API). ``sim.faults`` holds the fault switches.
    ``order_limits`` are the per-account ORDERS limits, ``(interval, intervalNum, limit)``
    each; with ``enforce_order_limits=False`` they are counted and reported, not enforced.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        symbols: tuple[SymbolSpec, ...] = DEFAULT_SYMBOLS,
        weight_limit: int = 6000,
        order_limits: Iterable[tuple[str, int, int]] = ORDER_LIMITS,
        enforce_order_limits: bool = True,
        liquidity_levels: int = 20,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.host, self.port = host, port
        self.accounts: dict[str, Account] = {}
        self.engine = Engine(symbols)
        self.faults = Faults(seed=seed)
        self.weights = WeightCounter(weight_limit)  # REST and the WebSocket API share it
        self.orders = OrderCounter(order_limits, enforce=enforce_order_limits)
        self.hub = StreamHub(self.accounts, self.now_ms, self.weights, self.orders)
        self.listen_key_check_seconds = 1.0  # how often expired listenKeys are looked for
        self._expiry: asyncio.Task[None] | None = None
        self.order_requests: dict[str, int] = {}  # client id -> order requests (for tests)
        self.publisher = Publisher(self.engine, self.hub, self.faults, self.now_ms)
        self.market = MarketApi(self.engine, self.weights, self.now_ms, self.orders)
        self.trading = TradingApi(
            self.engine, self.publisher, self.now_ms, self.order_requests, self.orders
        )
        self.order_lists = OrderListApi(self.engine, self.publisher, self.now_ms, self.orders)
        self.compat = CompatApi(self.engine, self.now_ms)
        self._runner: web.AppRunner | None = None
        self._seed = seed
        self._levels = liquidity_levels
        self._ws_methods()
        self.hub.before_call = self._ws_faults
        self.hub.delay = lambda: self.faults.delay_seconds

    # -- lifecycle ---------------------------------------------------------

    def _routes(self) -> list[tuple[str, str, Handler]]:
        m, t, lists, c = self.market, self.trading, self.order_lists, self.compat
        public: list[tuple[str, str, Public]] = [
            ("GET", "/api/v3/ping", lambda _: {}),
            ("GET", "/api/v3/time", lambda _: {"serverTime": self.now_ms()}),
            ("GET", "/api/v3/exchangeInfo", m.exchange_info),
            ("GET", "/api/v3/depth", m.depth),
            ("GET", "/api/v3/trades", m.trades),
            ("GET", "/api/v3/historicalTrades", m.trades),
            ("GET", "/api/v3/aggTrades", m.agg_trades),
            ("GET", "/api/v3/klines", m.klines),
            ("GET", "/api/v3/uiKlines", m.klines),
            ("GET", "/api/v3/avgPrice", m.avg_price),
            ("GET", "/api/v3/ticker/24hr", m.ticker_24hr),
            ("GET", "/api/v3/ticker/price", m.ticker_price),
            ("GET", "/api/v3/ticker/bookTicker", m.book_ticker),
            ("GET", "/api/v3/ticker", m.ticker_window),
            ("GET", "/sapi/v1/system/status", c.system_status),
            ("GET", "/sapi/v1/margin/allPairs", c.empty_list),
            ("GET", "/sapi/v1/margin/isolated/allPairs", c.empty_list),
            ("GET", "/fapi/v1/exchangeInfo", c.derivatives_info),
            ("GET", "/dapi/v1/exchangeInfo", c.derivatives_info),
            ("GET", "/eapi/v1/exchangeInfo", c.options_info),
        ]
        signed: list[tuple[str, str, Signed]] = [
            ("POST", "/api/v3/order", self._dropping(t.new_order)),
            ("POST", "/api/v3/order/test", t.test_order),
            ("GET", "/api/v3/order", t.query_order),
            ("DELETE", "/api/v3/order", t.cancel_order),
            ("POST", "/api/v3/order/cancelReplace", self._dropping(t.cancel_replace)),
            ("GET", "/api/v3/openOrders", t.open_orders),
            ("DELETE", "/api/v3/openOrders", t.cancel_all),
            ("GET", "/api/v3/allOrders", t.all_orders),
            ("GET", "/api/v3/account", t.account),
            ("GET", "/api/v3/account/commission", t.commission),
            ("GET", "/api/v3/myTrades", t.my_trades),
            ("POST", "/api/v3/orderList/oco", self._dropping(lists.place)),
            ("POST", "/api/v3/order/oco", lists.place_legacy),
            ("DELETE", "/api/v3/orderList", lists.cancel),
            ("GET", "/api/v3/orderList", lists.query),
            ("GET", "/api/v3/openOrderList", lists.open_lists),
            ("GET", "/api/v3/allOrderList", lists.all_lists),
            ("GET", "/sapi/v1/capital/config/getall", c.coins),
            ("GET", "/sapi/v1/asset/tradeFee", c.trade_fee),
        ]
        routes: list[tuple[str, str, Handler]] = [
            (method, path, self._public(fn)) for method, path, fn in public
        ]
        routes += [(method, path, self._signed_route(fn)) for method, path, fn in signed]
        routes += [
            ("POST", "/api/v3/userDataStream", self._listen_key),
            ("PUT", "/api/v3/userDataStream", self._keepalive),
            ("DELETE", "/api/v3/userDataStream", self._keepalive),
        ]
        return routes

    def _ws_methods(self) -> None:
        """The WebSocket API's methods: the same handlers as the REST routes."""
        m, t, lists = self.market, self.trading, self.order_lists
        self.hub.public_methods.update(
            {
                "exchangeInfo": m.exchange_info,
                "depth": m.depth,
                "trades.recent": m.trades,
                "trades.historical": m.trades,
                "trades.aggregate": m.agg_trades,
                "klines": m.klines,
                "uiKlines": m.klines,
                "avgPrice": m.avg_price,
                "ticker.24hr": m.ticker_24hr,
                "ticker.price": m.ticker_price,
                "ticker.book": m.book_ticker,
                "ticker": m.ticker_window,
            }
        )
        self.hub.signed_methods.update(
            {
                "order.place": self._dropping(t.new_order, ws=True),
                "order.test": t.test_order,
                "order.status": t.query_order,
                "order.cancel": t.cancel_order,
                "order.cancelReplace": self._dropping(t.cancel_replace, ws=True),
                "openOrders.status": t.open_orders,
                "openOrders.cancelAll": t.cancel_all,
                "allOrders": t.all_orders,
                "account.status": t.account,
                "account.commission": t.commission,
                "myTrades": t.my_trades,
                "orderList.place.oco": self._dropping(lists.place, ws=True),
                "orderList.status": lists.query,
                "orderList.cancel": lists.cancel,
                "openOrderLists.status": lists.open_lists,
                "allOrderLists": lists.all_lists_ws,
            }
        )

    async def start(self) -> Self:
        app = web.Application()
        for method, path, handler in self._routes():
            app.router.add_route(method, path, self._wrap(handler))
        app.router.add_get("/ws-api/v3", self.hub.ws_api)
        app.router.add_get("/ws", self.hub.market_ws)
        app.router.add_get("/ws/{name:.+}", self.hub.market_ws)  # ccxt.pro names may hold "/"
        app.router.add_get("/stream", self.hub.market_ws)
        app.router.add_route("*", "/{tail:.*}", self._wrap(self._unknown_route))
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        if self._levels and MAKER_KEY not in self.accounts:  # a restart keeps the book
            maker = self.create_account(api_key=MAKER_KEY, secret=MAKER_KEY)
            now = self.now_ms()
            for result in seed_liquidity(self.engine, maker, self._seed, self._levels, now):
                self.publisher.result(result, now)
        self._expiry = asyncio.create_task(
            self.hub.expire_listen_keys_every(self.listen_key_check_seconds)
        )
        return self

    async def stop(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._expiry
            self._expiry = None
        if self._runner is not None:
            await self.hub.close_all()
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
        key_type: str = "hmac",
        public_key: str | None = None,
    ) -> Account:
        """A funded account; a client signs with its key and ``secret`` (HMAC), or with the
        private key of an ``"ed25519"``/``"rsa"`` account: ``public_key`` (PEM) registers
        the caller's own, otherwise a pair is made and ``account.private_key`` is its PEM."""
        account = new_account(api_key or secrets.token_hex(32), key_type, secret, public_key)
        self.accounts[account.api_key] = account
        for asset, amount in (balances or {}).items():
            self.deposit(account, asset, Decimal(amount))
        return account

    def deposit(self, account: Account, asset: str, amount: Decimal) -> None:
        """Credit an account (a paper deposit); its user stream hears ``balanceUpdate``."""
        account.deposit(asset, amount)
        now = self.now_ms()
        self.hub.publish_user(account.api_key, events.balance_update(asset, amount, now))
        self.hub.publish_user(account.api_key, events.account_position(account, {asset}, now))

    def book(self, symbol: str) -> Book:
        return self.engine.books[symbol]

    async def disconnect_websockets(self, *, market: bool = True, user: bool = True) -> int:
        """Fault: cut WebSocket connections."""
        return await self.hub.disconnect(market=market, user=user)

    def place_direct(self, account: Account, symbol: str, **order: Any) -> SimOrder:
        """Place an order without HTTP (seeding, tests); streams are published as usual."""
        now = self.now_ms()
        result = self.engine.place(account, self.engine.spec(symbol), now=now, **order)
        self.publisher.result(result, now)
        return result.order

    # -- plumbing ----------------------------------------------------------

    def _wrap(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def serve(request: web.Request) -> web.StreamResponse:
            headers: dict[str, str] = {}
            try:
                body = (
                    (await request.read()).decode("utf-8", "replace")
                    if request.can_read_body
                    else ""
                )
                query = request.rel_url.raw_query_string  # signed as sent: percent-encoded
                try:
                    params, bad_params = _params(query, body), None
                except errors.ApiError as exc:
                    params, bad_params = {}, exc
                weight = request_weight(request.method, request.path, params)
                headers["X-MBX-USED-WEIGHT-1M"] = str(self.weights.charge(weight, self.now_ms()))
                if bad_params is not None:
                    raise bad_params
                if self.faults.delay_seconds:
                    await asyncio.sleep(self.faults.delay_seconds)
                if self.faults.take_server_error():
                    raise errors.internal()
                params["__payload__"] = query + body
                result = await handler(request, params)
            except RetryAfter as exc:
                headers["Retry-After"] = str(exc.seconds)
                headers["X-MBX-USED-WEIGHT-1M"] = str(self.weights.used)
                headers |= self._order_counts(request)
                return web.json_response(exc.error.body(), status=429, headers=headers)
            except errors.ApiError as exc:
                headers.setdefault("X-MBX-USED-WEIGHT-1M", str(self.weights.used))
                if exc.status == 418:
                    headers["Retry-After"] = str(
                        max(1, (self.weights.banned_until - self.now_ms()) // 1000)
                    )
                return web.json_response(exc.body(), status=exc.status, headers=headers)
            except _Dropped:
                await asyncio.sleep(self.faults.drop_delay_seconds)
                if request.transport is not None:
                    request.transport.close()  # executed, but the client never hears back
                return web.Response(status=503)
            except Exception:  # a bug: answer as the venue's unknown error, keep serving
                log.exception("simulator error on %s %s", request.method, request.path)
                return web.json_response(errors.unknown().body(), status=500, headers=headers)
            if isinstance(result, web.StreamResponse):
                return result
            headers |= self._order_counts(request)
            return web.json_response(result, headers=headers)

        return serve

    def _order_counts(self, request: web.Request) -> dict[str, str]:
        """``X-MBX-ORDER-COUNT-*`` on an order placement's reply (counts per account)."""
        api_key = request.headers.get("X-MBX-APIKEY")
        if (request.method, request.path) not in ORDERS_PLACED or api_key not in self.accounts:
            return {}
        return self.orders.headers(api_key, self.now_ms())

    def _public(self, fn: Public) -> Handler:
        async def handle(request: web.Request, params: dict[str, str]) -> Any:
            return fn(params)

        return handle

    def _signed_route(self, fn: Signed) -> Handler:
        async def handle(request: web.Request, params: dict[str, str]) -> Any:
            account = auth.verify(
                self.accounts,
                request.headers.get("X-MBX-APIKEY"),
                params["__payload__"],
                params,
                self.now_ms(),
            )
            return fn(account, params)

        return handle

    async def _unknown_route(self, request: web.Request, params: dict[str, str]) -> Any:
        raise errors.unsupported(status=404)

    def _dropping(self, fn: Signed, *, ws: bool = False) -> Signed:
        """An order placement under ``faults.drop_after_execute``."""

        def handle(account: Account, params: dict[str, str]) -> Any:
            body = fn(account, params)
            if self.faults.take_drop():
                raise DropReply(self.faults.drop_delay_seconds) if ws else _Dropped()
            return body

        return handle

    def _ws_faults(self) -> None:
        if self.faults.take_server_error():
            raise errors.internal()

    def _stream_owner(self, request: web.Request) -> str:
        """The API key of a listenKey request (these carry the key, not a signature)."""
        api_key = request.headers.get("X-MBX-APIKEY")
        if not api_key:
            raise errors.bad_key_format()
        if api_key not in self.accounts:
            raise errors.bad_key()
        return api_key

    async def _listen_key(self, request: web.Request, params: dict[str, str]) -> Any:
        """An account has one listenKey: a second ``POST`` returns the active one."""
        api_key = self._stream_owner(request)
        self.hub.expire_listen_keys()
        active = [key for key, owner in self.hub.listen_keys.items() if owner == api_key]
        if active:
            self.hub.keep_alive(active[0])  # as a PUT would
            return {"listenKey": active[0]}
        key = secrets.token_hex(30)
        self.hub.add_listen_key(key, api_key)
        return {"listenKey": key}

    async def _keepalive(self, request: web.Request, params: dict[str, str]) -> Any:
        """``PUT`` keeps a listenKey alive, ``DELETE`` closes it and its streams."""
        api_key = self._stream_owner(request)
        key = params.get("listenKey") or ""
        if not key:
            raise errors.mandatory("listenKey")
        self.hub.expire_listen_keys()
        if self.hub.listen_keys.get(key) != api_key:
            raise errors.ApiError(-1125, "This listenKey does not exist.")
        if request.method == "DELETE":
            self.hub.close_listen_key(key)
        else:
            self.hub.keep_alive(key)
        return {}


class _Dropped(Exception):
    """The order executed, then its reply is lost (the connection is cut)."""


def _params(query: str, body: str) -> dict[str, str]:
    """Query and body parameters; a name sent twice is -1101, as the venue says."""
    params: dict[str, str] = {}
    for name, value in [
        *parse_qsl(query, keep_blank_values=True),
        *parse_qsl(body, keep_blank_values=True),
    ]:
        if name in params:
            raise errors.duplicate_param(name)
        params[name] = value
    return params
