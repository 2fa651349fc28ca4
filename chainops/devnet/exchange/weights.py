"""Request weights per endpoint, the 1-minute used-weight counter, 429 and 418 bans."""

from __future__ import annotations

from collections.abc import Mapping

from chainops.devnet.exchange import errors

__all__ = [
    "ORDER_LIMITS",
    "WEIGHTS",
    "WS_API_ROUTES",
    "WS_CONNECT_WEIGHT",
    "OrderCounter",
    "WeightCounter",
    "request_weight",
    "ws_request_weight",
]

# Binance spot REST weights (per request) for the routes the simulator serves; the
# routes whose weight depends on their parameters are in ``request_weight``
WEIGHTS: dict[tuple[str, str], int] = {
    ("GET", "/api/v3/ping"): 1,
    ("GET", "/api/v3/time"): 1,
    ("GET", "/api/v3/exchangeInfo"): 20,
    ("GET", "/api/v3/depth"): 5,
    ("GET", "/api/v3/trades"): 25,
    ("GET", "/api/v3/historicalTrades"): 25,
    ("GET", "/api/v3/aggTrades"): 4,
    ("GET", "/api/v3/klines"): 2,
    ("GET", "/api/v3/uiKlines"): 2,
    ("GET", "/api/v3/avgPrice"): 2,
    ("GET", "/api/v3/ticker/24hr"): 80,
    ("GET", "/api/v3/ticker/price"): 4,
    ("GET", "/api/v3/ticker/bookTicker"): 4,
    ("GET", "/api/v3/ticker"): 4,
    ("POST", "/api/v3/order"): 1,
    ("POST", "/api/v3/order/test"): 1,
    ("GET", "/api/v3/order"): 4,
    ("DELETE", "/api/v3/order"): 1,
    ("POST", "/api/v3/order/cancelReplace"): 1,
    ("GET", "/api/v3/openOrders"): 80,
    ("DELETE", "/api/v3/openOrders"): 1,
    ("GET", "/api/v3/allOrders"): 20,
    ("GET", "/api/v3/account"): 20,
    ("GET", "/api/v3/account/commission"): 20,
    ("GET", "/api/v3/myTrades"): 20,
    ("POST", "/api/v3/orderList/oco"): 1,
    ("POST", "/api/v3/order/oco"): 1,
    ("DELETE", "/api/v3/orderList"): 1,
    ("GET", "/api/v3/orderList"): 4,
    ("GET", "/api/v3/openOrderList"): 6,
    ("GET", "/api/v3/allOrderList"): 20,
    ("POST", "/api/v3/userDataStream"): 2,
    ("PUT", "/api/v3/userDataStream"): 2,
    ("DELETE", "/api/v3/userDataStream"): 2,
}
_DEPTH_WEIGHTS = ((100, 5), (500, 25), (1000, 50))  # limit up to -> weight; above: 250


# WebSocket API methods cost what their REST equivalents cost, parameters included
WS_API_ROUTES: dict[str, tuple[str, str]] = {
    "ping": ("GET", "/api/v3/ping"),
    "time": ("GET", "/api/v3/time"),
    "exchangeInfo": ("GET", "/api/v3/exchangeInfo"),
    "depth": ("GET", "/api/v3/depth"),
    "trades.recent": ("GET", "/api/v3/trades"),
    "trades.historical": ("GET", "/api/v3/historicalTrades"),
    "trades.aggregate": ("GET", "/api/v3/aggTrades"),
    "klines": ("GET", "/api/v3/klines"),
    "uiKlines": ("GET", "/api/v3/uiKlines"),
    "avgPrice": ("GET", "/api/v3/avgPrice"),
    "ticker.24hr": ("GET", "/api/v3/ticker/24hr"),
    "ticker.price": ("GET", "/api/v3/ticker/price"),
    "ticker.book": ("GET", "/api/v3/ticker/bookTicker"),
    "ticker": ("GET", "/api/v3/ticker"),
    "order.place": ("POST", "/api/v3/order"),
    "order.test": ("POST", "/api/v3/order/test"),
    "order.status": ("GET", "/api/v3/order"),
    "order.cancel": ("DELETE", "/api/v3/order"),
    "order.cancelReplace": ("POST", "/api/v3/order/cancelReplace"),
    "openOrders.status": ("GET", "/api/v3/openOrders"),
    "openOrders.cancelAll": ("DELETE", "/api/v3/openOrders"),
    "allOrders": ("GET", "/api/v3/allOrders"),
    "account.status": ("GET", "/api/v3/account"),
    "account.commission": ("GET", "/api/v3/account/commission"),
    "myTrades": ("GET", "/api/v3/myTrades"),
    "orderList.place.oco": ("POST", "/api/v3/orderList/oco"),
    "orderList.status": ("GET", "/api/v3/orderList"),
    "orderList.cancel": ("DELETE", "/api/v3/orderList"),
    "openOrderLists.status": ("GET", "/api/v3/openOrderList"),
    "allOrderLists": ("GET", "/api/v3/allOrderList"),
}
_WS_API_ONLY = {"userDataStream.subscribe.signature": 2, "userDataStream.unsubscribe": 2}
WS_CONNECT_WEIGHT = 2  # opening a WebSocket API connection


def _count_symbols(text: str) -> int:
    """How many names a ``symbols=[...]`` value holds (malformed ones are refused later)."""
    return max(1, text.count(",") + 1)


def request_weight(method: str, path: str, params: Mapping[str, str]) -> int:
    """The weight Binance charges for one request, given its parameters."""
    weight = WEIGHTS.get((method, path), 1)
    symbol, symbols = params.get("symbol"), params.get("symbols")
    if method != "GET":
        if path == "/api/v3/order/test" and params.get("computeCommissionRates") == "true":
            return 20
        return weight
    if path == "/api/v3/depth":
        limit = params.get("limit") or "100"
        if not limit.isascii() or not limit.isdigit():
            return weight
        return next((w for top, w in _DEPTH_WEIGHTS if int(limit) <= top), 250)
    if path == "/api/v3/openOrders":
        return 6 if symbol else weight
    if path == "/api/v3/myTrades":
        return 5 if params.get("orderId") else weight
    if path == "/api/v3/ticker/24hr":
        if symbol:
            return 2
        if symbols:
            count = _count_symbols(symbols)
            return 2 if count <= 20 else 40 if count <= 100 else 80
        return weight
    if path in ("/api/v3/ticker/price", "/api/v3/ticker/bookTicker"):
        return 2 if symbol else weight
    if path == "/api/v3/ticker":
        return min(4 * _count_symbols(symbols), 200) if symbols else weight
    return weight


def ws_request_weight(method: str, params: Mapping[str, str]) -> int:
    """The weight of one WebSocket API request: its REST equivalent's."""
    route = WS_API_ROUTES.get(method)
    if route is None:
        return _WS_API_ONLY.get(method, 1)
    return request_weight(*route, params)


BAN_AFTER_429S = 3  # requests sent while told to back off before the ban (418)
BAN_MS = 120_000


class WeightCounter:
    """Used weight in the current minute, as ``X-MBX-USED-WEIGHT-1M`` reports it."""

    def __init__(self, limit: int = 6000) -> None:
        self.limit = limit
        self.minute = -1
        self.used = 0
        self.ignored_429s = 0
        self.banned_until = 0
        self.forced_retry_after: int | None = None  # a fault: answer the next request with 429

    def charge(self, weight: int, now_ms: int) -> int:
        """Add ``weight``; raise 429/418 when over the limit; returns the used weight."""
        if now_ms < self.banned_until:
            raise errors.banned(self.banned_until)
        minute = now_ms // 60_000
        if minute != self.minute:
            self.minute, self.used, self.ignored_429s = minute, 0, 0
        if self.forced_retry_after is not None:
            retry = self.forced_retry_after
            self.forced_retry_after = None
            raise RetryAfter(errors.too_many(self.limit), retry)
        if self.used + weight > self.limit:
            self.ignored_429s += 1
            if self.ignored_429s > BAN_AFTER_429S:
                self.banned_until = now_ms + BAN_MS
                raise errors.banned(self.banned_until)
            raise RetryAfter(errors.too_many(self.limit), 60 - (now_ms // 1000) % 60)
        self.used += weight
        return self.used

    def rate_limit(self, now_ms: int) -> dict[str, object]:
        """The ``REQUEST_WEIGHT`` entry of a WebSocket API reply's ``rateLimits``."""
        used = self.used if now_ms // 60_000 == self.minute else 0
        return _rate_limit("REQUEST_WEIGHT", "MINUTE", 1, self.limit, used)


# the ORDERS limits (unfilled order count) per account: (window ms, interval, intervalNum, limit)
ORDER_LIMITS: tuple[tuple[int, str, int, int], ...] = (
    (10_000, "SECOND", 10, 100),
    (86_400_000, "DAY", 1, 200_000),
)
# orders a successful placement adds to the count, by REST route and WebSocket API method
ORDERS_PLACED: dict[tuple[str, str] | str, int] = {
    ("POST", "/api/v3/order"): 1,
    ("POST", "/api/v3/order/cancelReplace"): 1,
    ("POST", "/api/v3/orderList/oco"): 2,
    ("POST", "/api/v3/order/oco"): 2,
    "order.place": 1,
    "order.cancelReplace": 1,
    "orderList.place.oco": 2,
}


def _rate_limit(kind: str, interval: str, num: int, limit: int, count: int) -> dict[str, object]:
    return {
        "rateLimitType": kind,
        "interval": interval,
        "intervalNum": num,
        "limit": limit,
        "count": count,
    }


class OrderCounter:
    """Orders each account placed in the current 10-second window and UTC day.

    Counted and reported (``rateLimits``, ``X-MBX-ORDER-COUNT-*``), not enforced.
    """

    def __init__(self) -> None:
        self._counts: dict[str, list[tuple[int, int]]] = {}  # api key -> (window, count) each

    def _current(self, api_key: str, now_ms: int) -> list[tuple[int, int]]:
        windows = [now_ms // span for span, *_ in ORDER_LIMITS]
        kept = self._counts.get(api_key, [(w, 0) for w in windows])
        return [(w, n if w == k else 0) for w, (k, n) in zip(windows, kept, strict=True)]

    def add(self, api_key: str, orders: int, now_ms: int) -> None:
        self._counts[api_key] = [(w, n + orders) for w, n in self._current(api_key, now_ms)]

    def counts(self, api_key: str, now_ms: int) -> list[int]:
        """The count in each of :data:`ORDER_LIMITS`' windows."""
        return [n for _, n in self._current(api_key, now_ms)]

    def rate_limits(self, api_key: str, now_ms: int) -> list[dict[str, object]]:
        """The ``ORDERS`` entries of a WebSocket API reply's ``rateLimits``."""
        return [
            _rate_limit("ORDERS", interval, num, limit, count)
            for (_, interval, num, limit), count in zip(
                ORDER_LIMITS, self.counts(api_key, now_ms), strict=True
            )
        ]


class RetryAfter(Exception):
    """A 429: the error to send and the ``Retry-After`` seconds."""

    def __init__(self, error: errors.ApiError, seconds: int) -> None:
        super().__init__(error.msg)
        self.error = error
        self.seconds = seconds
