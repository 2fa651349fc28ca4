"""BinanceSpot: the Binance spot adapter (also speaks to the local exchange simulator)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar, Self

import aiohttp
from pydantic import SecretStr

from chainops.core.bus import EventBus
from chainops.core.events import Event
from chainops.core.ids import TradingPair
from chainops.core.journal import Journal
from chainops.core.order import (
    Fill,
    Order,
    OrderSide,
    OrderState,
    OrderType,
    OrderUpdate,
    TimeInForce,
)
from chainops.core.platforms import ExchangePlatform
from chainops.operators.base import OperatorFactory
from chainops.operators.exchanges.binance.linked import (
    LinkedOrderEntry,
    order_params,
    reply_fills,
)
from chainops.operators.exchanges.binance.linked import fee as _fee
from chainops.operators.exchanges.binance.market_data import decode, public_trade, stream_names
from chainops.operators.exchanges.binance.rest import BinanceRest
from chainops.operators.exchanges.binance.signing import Signer, load_signer
from chainops.operators.exchanges.binance.streams import MarketStream, UserStream
from chainops.operators.exchanges.binance.ws_api import NotSent, WsApiSession
from chainops.operators.exchanges.book_exchange import DepthDiff, DepthSnapshot, OrderBookExchange
from chainops.operators.exchanges.capabilities import Capability
from chainops.operators.exchanges.errors import VenueAuthError, VenueNotFound
from chainops.operators.exchanges.market_events import (
    BookTicker,
    ConnectorStatus,
    Kline,
    MarketTrades,
    Ticker,
)
from chainops.operators.exchanges.rules import TradingRule
from chainops.operators.exchanges.types import (
    Balance,
    ConnectionState,
    ExchangeConfiguration,
    PublicTrade,
    TradingFees,
    VenueOrder,
)

__all__ = ["BinanceSpot"]

log = logging.getLogger("chainops.exchanges.binance")

DEFAULT_STREAM_URL = "wss://stream.binance.com:9443"
DEFAULT_WS_API_URL = "wss://ws-api.binance.com:443/ws-api/v3"
_STATES = {
    "NEW": OrderState.OPEN,
    "PARTIALLY_FILLED": OrderState.PARTIALLY_FILLED,
    "FILLED": OrderState.FILLED,
    "CANCELED": OrderState.CANCELED,
    "PENDING_CANCEL": OrderState.PENDING_CANCEL,
    "REJECTED": OrderState.FAILED,
    "EXPIRED": OrderState.EXPIRED,
    "EXPIRED_IN_MATCH": OrderState.EXPIRED,
}


def _plain(secret: SecretStr | None) -> str | None:
    return None if secret is None else secret.get_secret_value()


def signer_of(config: ExchangeConfiguration) -> Signer:
    """The signer of the configured key; InvalidCredentials if it cannot sign."""
    return load_signer(
        secret=_plain(config.api_secret),
        private_key=_plain(config.private_key),
        passphrase=_plain(config.private_key_passphrase),
    )


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=ms % 1000 * 1000)


@OperatorFactory.register("exchange:binance")
class BinanceSpot(LinkedOrderEntry, OrderBookExchange):
    """Binance spot over signed REST, market streams and the WebSocket API user stream.

    The API key signs with its HMAC ``api_secret`` or its Ed25519/RSA ``private_key``;
    an Ed25519 key logs each WebSocket API connection on instead of signing each request.
    """

    capabilities: ClassVar[frozenset[Capability]] = frozenset(Capability)

    def __init__(
        self,
        config: ExchangeConfiguration,
        events: EventBus | None = None,
        journal: Journal | None = None,
    ) -> None:
        super().__init__(config, events, journal)
        platform = self.platform
        default = platform.url if isinstance(platform, ExchangePlatform) else None
        base_url = config.endpoints[0] if config.endpoints else default or ""
        self.rest = BinanceRest(
            base_url,
            config.api_key,
            signer_of(config),  # bad key input fails here, before anything is sent
            recv_window_ms=config.recv_window_ms,
            timeout=config.request_timeout,
        )
        self.stream_url = config.stream_url or DEFAULT_STREAM_URL
        self.ws_api_url = config.ws_api_url or (None if config.stream_url else DEFAULT_WS_API_URL)
        self._symbols: dict[str, TradingPair] = {}
        self._session: aiohttp.ClientSession | None = None
        self.user_stream: UserStream | None = None
        self.market_stream: MarketStream | None = None
        self.ws_api: WsApiSession | None = None  # order entry; None: REST only
        self._watchers: dict[str, list[Callable[[Any], None]]] = {}  # stream -> callbacks

    @classmethod
    def from_options(cls, platform: str | int = "binance", **options: Any) -> Self:
        journal = options.pop("journal", None)
        events = options.pop("events", None)
        return cls(ExchangeConfiguration(platform=platform, **options), events, journal)

    @classmethod
    def connect(
        cls,
        api_key: str,
        api_secret: str | None = None,
        *,
        private_key: str | os.PathLike[str] | None = None,
        private_key_passphrase: str | None = None,
        base_url: str | None = None,
        stream_url: str | None = None,
        ws_api_url: str | None = None,
        **options: Any,
    ) -> Self:
        """An unstarted adapter: use ``async with BinanceSpot.connect(...) as cex``.

        The key signs with ``api_secret`` (HMAC) or ``private_key`` (Ed25519 or RSA: PEM
        text or a file path, ``private_key_passphrase`` if encrypted), never both.
        """
        return cls.from_options(
            api_key=api_key,
            api_secret=api_secret,
            private_key=private_key,
            private_key_passphrase=private_key_passphrase,
            endpoints=(base_url,) if base_url else (),
            stream_url=stream_url,
            ws_api_url=ws_api_url,
            **options,
        )

    # -- connection --------------------------------------------------------

    async def _venue_connect(self) -> None:
        await self.rest.open()
        self._session = aiohttp.ClientSession()
        await self.rest.clock.sync()
        if self.ws_api_url and self.config.order_entry == "websocket":
            self.ws_api = WsApiSession(
                self._session, self.ws_api_url, self.rest, timeout=self.config.request_timeout
            )
            try:
                await self.ws_api.open()
            except NotSent as exc:  # orders go over REST until it answers
                log.info("WebSocket API not reachable at start: %s", exc)

    async def _venue_disconnect(self) -> None:
        if self.ws_api is not None:
            await self.ws_api.close()
        for stream in (self.user_stream, self.market_stream):
            if stream is not None:
                await stream.stop()
        if self._session is not None:
            await self._session.close()
        await self.rest.close()

    def connection_states(self) -> dict[str, ConnectionState]:
        streams = {
            "user_stream": self.user_stream,
            "market_stream": self.market_stream,
            "ws_api": self.ws_api,
        }
        return {name: link.state() for name, link in streams.items() if link is not None}

    async def _venue_user_stream(self) -> None:
        assert self._session is not None
        self.user_stream = UserStream(
            self._session,
            self.rest,
            self.ws_api_url,
            self.stream_url,
            self._on_user_event,
            self.resync,
        )
        await self.user_stream.start()

    # -- translation -------------------------------------------------------

    async def _venue_rules(self) -> dict[TradingPair, TradingRule]:
        info = await self.rest.request("GET", "/api/v3/exchangeInfo", weight=20)
        for limit in info.get("rateLimits", ()):
            if limit.get("rateLimitType") == "REQUEST_WEIGHT" and limit.get("interval") == "MINUTE":
                self.rest.limiter.set_limit(int(limit["limit"]) // int(limit.get("intervalNum", 1)))
        rules = {}
        for entry in info["symbols"]:
            if entry.get("status") != "TRADING":
                continue
            filters = {f["filterType"]: f for f in entry["filters"]}
            price = filters.get("PRICE_FILTER", {})
            lot = filters.get("LOT_SIZE", {})
            notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {}
            pair = TradingPair.of(entry["baseAsset"], entry["quoteAsset"])
            max_price = Decimal(price.get("maxPrice", "0"))
            rules[pair] = TradingRule(
                trading_pair=pair,
                venue_symbol=entry["symbol"],
                tick_size=Decimal(price.get("tickSize", "0.00000001")),
                step_size=Decimal(lot.get("stepSize", "0.00000001")),
                min_amount=Decimal(lot.get("minQty", "0")),
                max_amount=Decimal(lot.get("maxQty", "9e15")),
                min_notional=Decimal(notional.get("minNotional", "0")),
                min_price=Decimal(price.get("minPrice", "0")),
                max_price=max_price or None,
                order_types=frozenset(
                    OrderType(t) for t in entry.get("orderTypes", []) if t in OrderType.__members__
                ),
            )
            self._symbols[entry["symbol"]] = pair
        return rules

    def _update(self, data: Mapping[str, Any], fills: tuple[Fill, ...] = ()) -> OrderUpdate:
        return OrderUpdate(
            state=_STATES[data["status"]],
            venue_id=int(data["orderId"]),
            fills=fills,
            sequence=int(data.get("updateTime") or data.get("transactTime") or 0) or None,
        )

    def _venue_order_of(self, data: Mapping[str, Any]) -> VenueOrder:
        price, stop = Decimal(data["price"]), Decimal(data.get("stopPrice") or 0)
        return VenueOrder(
            client_id=data.get("origClientOrderId") or data["clientOrderId"],
            trading_pair=self._symbols[data["symbol"]],
            side=OrderSide(data["side"]),
            order_type=OrderType(data["type"]),
            amount=Decimal(data["origQty"]),
            price=price or None,
            time_in_force=TimeInForce(data["timeInForce"]),
            executed=Decimal(data["executedQty"]),
            update=self._update(data),
            stop_price=stop or None,
        )

    async def _entry(
        self, method: str, rest_method: str, params: dict[str, Any], path: str = "/api/v3/order"
    ) -> Mapping[str, Any]:
        """One order-entry request: WebSocket API first; REST when the socket cannot send."""
        if self.ws_api is not None:
            await self.rest.limiter.acquire(1)  # the WebSocket API shares the IP's weight
            for attempt in range(2):
                try:
                    reply: Mapping[str, Any] = await self.ws_api.request(method, params)
                    return reply
                except NotSent as exc:
                    log.info("%s over REST: %s", method, exc)
                    break
                except VenueAuthError as exc:
                    if exc.code != -1021 or attempt:
                        raise
                    await self.rest.clock.sync()  # refused for its timestamp: safe to resend
        rest: Mapping[str, Any] = await self.rest.request(
            rest_method, path, params, signed=True, weight=1
        )
        return rest

    async def _venue_place(self, order: Order, rule: TradingRule) -> OrderUpdate:
        reply = await self._entry("order.place", "POST", order_params(order, rule))
        return self._update(reply, reply_fills(reply))

    async def _venue_cancel(self, order: Order, rule: TradingRule) -> OrderUpdate:
        params = {"symbol": rule.venue_symbol, "origClientOrderId": str(order.client_id)}
        reply = await self._entry("order.cancel", "DELETE", params)
        return self._update(reply)

    async def _venue_cancel_all(self, rule: TradingRule) -> list[VenueOrder]:
        try:
            replies = await self.rest.request(
                "DELETE", "/api/v3/openOrders", {"symbol": rule.venue_symbol}, signed=True
            )
        except VenueNotFound:
            return []  # nothing was open
        # an order list is one entry holding a report per leg
        reports = [leg for r in replies for leg in r.get("orderReports", [r])]
        return [self._venue_order_of(r) for r in reports]

    async def _venue_order(self, order: Order, rule: TradingRule) -> VenueOrder | None:
        params = {"symbol": rule.venue_symbol, "origClientOrderId": str(order.client_id)}
        try:
            reply = await self.rest.request("GET", "/api/v3/order", params, signed=True, weight=4)
        except VenueNotFound:
            return None
        return self._venue_order_of(reply)

    async def _venue_fills(
        self, order: Order, rule: TradingRule, venue_id: str | None = None
    ) -> tuple[Fill, ...]:
        order_id = venue_id or order.venue_id
        if order_id is None:
            found = await self._venue_order(order, rule)
            if found is None or found.update.venue_id is None:
                return ()
            order_id = str(found.update.venue_id)
        params = {"symbol": rule.venue_symbol, "orderId": str(order_id)}
        trades = await self.rest.request("GET", "/api/v3/myTrades", params, signed=True, weight=20)
        return tuple(
            Fill(
                fill_id=str(t["id"]),
                price=Decimal(t["price"]),
                base_amount=Decimal(t["qty"]),
                quote_amount=Decimal(t["quoteQty"]),
                fee=_fee(t["commission"], t["commissionAsset"]),
                timestamp=_time(int(t["time"])),
            )
            for t in trades
        )

    async def _venue_open_orders(self, rule: TradingRule | None) -> list[VenueOrder]:
        params = {} if rule is None else {"symbol": rule.venue_symbol}
        weight = 6 if rule is not None else 80
        replies = await self.rest.request(
            "GET", "/api/v3/openOrders", params, signed=True, weight=weight
        )
        return [self._venue_order_of(r) for r in replies]

    async def _account(self) -> Mapping[str, Any]:
        reply: Mapping[str, Any] = await self.rest.request(
            "GET", "/api/v3/account", signed=True, weight=20
        )
        return reply

    async def _venue_balances(self) -> dict[str, Balance]:
        account = await self._account()
        out = {}
        for entry in account["balances"]:
            free, locked = Decimal(entry["free"]), Decimal(entry["locked"])
            if free or locked:
                out[entry["asset"]] = Balance(entry["asset"], free, locked)
        return out

    async def _venue_fees(self) -> TradingFees:
        account = await self._account()
        rates = account.get("commissionRates")
        if rates:
            return TradingFees(Decimal(rates["maker"]), Decimal(rates["taker"]))
        basis = Decimal(10_000)  # makerCommission 10 means 10 / 10,000 = 0.1%
        return TradingFees(
            Decimal(account["makerCommission"]) / basis, Decimal(account["takerCommission"]) / basis
        )

    # -- streams -----------------------------------------------------------

    def _on_user_event(self, event: dict[str, Any]) -> None:
        if event.get("e") != "executionReport":
            return
        fills: tuple[Fill, ...] = ()
        if event["x"] == "TRADE":
            fills = (
                Fill(
                    fill_id=str(event["t"]),
                    price=Decimal(event["L"]),
                    base_amount=Decimal(event["l"]),
                    quote_amount=Decimal(event["Y"]),
                    fee=_fee(event["n"], event.get("N")),
                    timestamp=_time(int(event["T"])),
                ),
            )
        client_id = event.get("C") or event["c"] if event["x"] == "CANCELED" else event["c"]
        update = OrderUpdate(
            state=_STATES[event["X"]],
            venue_id=int(event["i"]),
            fills=fills,
            sequence=int(event["T"]),
        )
        self._on_venue_update(client_id, update)

    async def _venue_snapshot(self, pair: TradingPair) -> DepthSnapshot:
        params = {"symbol": self.rule(pair).venue_symbol, "limit": 1000}
        reply = await self.rest.request("GET", "/api/v3/depth", params, weight=50)
        return DepthSnapshot(int(reply["lastUpdateId"]), reply["bids"], reply["asks"])

    def _markets(self) -> MarketStream:
        if self.market_stream is None:
            assert self._session is not None
            self.market_stream = MarketStream(
                self._session, self.stream_url, self._on_market_event, self._after_market_reconnect
            )
        return self.market_stream

    async def _venue_watch_depth(self, pairs: Sequence[TradingPair]) -> None:
        names = [f"{self.rule(p).venue_symbol.lower()}@depth@100ms" for p in pairs]
        await self._markets().add(names)

    async def _watch(self, pair: TradingPair | str, kind: str, callback: Any, **name: str) -> None:
        rule = self.rule(pair)
        stream = stream_names(rule.venue_symbol, kind, **name)
        if callback is not None:
            self._watchers.setdefault(stream, []).append(callback)
        await self._markets().add([stream])

    async def watch_trades(
        self, trading_pair: TradingPair | str, callback: Callable[[PublicTrade], None] | None = None
    ) -> None:
        """Public trades of the pair from now on: ``callback(trade)`` and MarketTrades events."""
        await self._watch(trading_pair, "trades", callback)

    async def watch_klines(
        self,
        trading_pair: TradingPair | str,
        interval: str = "1m",
        callback: Callable[[Kline], None] | None = None,
    ) -> None:
        """Candles of the pair (each update of the open one, then its close) as Kline events."""
        await self._watch(trading_pair, "klines", callback, interval=interval)

    async def watch_tickers(
        self, trading_pair: TradingPair | str, callback: Callable[[Ticker], None] | None = None
    ) -> None:
        """Rolling 24-hour statistics of the pair as Ticker events."""
        await self._watch(trading_pair, "tickers", callback)

    async def watch_book_tickers(
        self, trading_pair: TradingPair | str, callback: Callable[[BookTicker], None] | None = None
    ) -> None:
        """Best bid and ask of the pair as BookTicker events."""
        await self._watch(trading_pair, "book_tickers", callback)

    async def _after_market_reconnect(self) -> None:
        self.events.publish(
            ConnectorStatus(platform=self.platform.name, stream="market", status="reconnected")
        )
        self._on_depth_reconnect()

    def _on_market_event(self, stream: str, data: dict[str, Any]) -> None:
        pair = self._symbols.get(data.get("s", ""))
        if pair is None:
            return
        kind = data.get("e")
        if kind == "depthUpdate":
            self._on_depth(pair, DepthDiff(int(data["U"]), int(data["u"]), data["b"], data["a"]))
            return
        watchers = self._watchers.get(stream, ())
        if kind == "trade":
            trade = public_trade(pair, data)
            for callback in watchers:
                callback(trade)
            event: Event = MarketTrades(
                platform=self.platform.name, trading_pair=pair, trades=(trade,)
            )
        else:
            decoded = decode(self.platform.name, pair, data)
            if decoded is None:
                return
            for callback in watchers:
                callback(decoded)
            event = decoded
        self.events.publish(event)
