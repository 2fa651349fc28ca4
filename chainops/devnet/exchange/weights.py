"""Request weights per endpoint, the 1-minute used-weight counter, 429 and 418 bans, and the
per-account ORDERS (unfilled order count) limits."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping

from chainops.devnet.exchange import errors

__all__ = [
    "INTERVAL_MS",
    "ORDERS_PLACED",
    "ORDER_LIMITS",
    "WEIGHTS",
    "WS_API_ROUTES",
    "WS_CONNECT_WEIGHT",
    "OrderCounter",
    "RetryAfter",
    "WeightCounter",
    "order_limits",
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
_WS_API_ONLY = {
    "userDataStream.subscribe.signature": 2,
    "userDataStream.unsubscribe": 2,
    "session.logon": 2,
    "session.status": 2,
    "session.logout": 2,
}
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


# Binance's ORDERS (unfilled order count) limits per account: (interval, intervalNum, limit)
ORDER_LIMITS: tuple[tuple[str, int, int], ...] = (("SECOND", 10, 100), ("DAY", 1, 200_000))
INTERVAL_MS = {"SECOND": 1000, "MINUTE": 60_000, "HOUR": 3_600_000, "DAY": 86_400_000}
# the REST routes and WebSocket API methods that place orders (and how many each places):
# their replies report the ORDERS counts
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


def order_limits(limits: Iterable[tuple[str, int, int]]) -> tuple[tuple[str, int, int], ...]:
    """``limits`` checked: each an interval Binance names, a positive multiplier and limit."""
    out = []
    for interval, num, limit in limits:
        if interval not in INTERVAL_MS or num < 1 or limit < 1:
            raise ValueError(f"not an ORDERS limit: {(interval, num, limit)!r}")
        out.append((interval, num, limit))
    return tuple(out)


class OrderCounter:
    """The unfilled order count of each account in each ORDERS window.

    Windows start on multiples of their length (UTC days). A placement that would take
    a count over its limit is refused (429, -1015) while ``enforce`` is on; a refused
    order adds nothing, and an order's first fill takes one off (down to zero).
    """

    def __init__(
        self, limits: Iterable[tuple[str, int, int]] = ORDER_LIMITS, *, enforce: bool = True
    ) -> None:
        self.limits = order_limits(limits)
        self.enforce = enforce
        self._spans = [INTERVAL_MS[interval] * num for interval, num, _ in self.limits]
        self._counts: dict[str, list[tuple[int, int]]] = {}  # api key -> (window, count) each

    def _current(self, api_key: str, now_ms: int) -> list[tuple[int, int]]:
        windows = [now_ms // span for span in self._spans]
        kept = self._counts.get(api_key)
        if kept is None:
            return [(w, 0) for w in windows]
        return [(w, n if w == k else 0) for w, (k, n) in zip(windows, kept, strict=True)]

    def refusal(self, api_key: str, orders: int, now_ms: int) -> RetryAfter | None:
        """The 429 for placing ``orders`` more now, or None if they fit (or nothing is enforced).

        Of several windows overrun, the one that ends last is reported.
        """
        if not self.enforce or not orders:
            return None
        worst: tuple[int, tuple[str, int, int]] | None = None
        for span, (window, count), limit in zip(
            self._spans, self._current(api_key, now_ms), self.limits, strict=True
        ):
            if count + orders > limit[2]:
                wait = (window + 1) * span - now_ms
                if worst is None or wait > worst[0]:
                    worst = wait, limit
        if worst is None:
            return None
        wait, (interval, num, most) = worst
        return RetryAfter(errors.too_many_orders(most, f"{num} {interval}"), -(-wait // 1000))

    def add(self, api_key: str, orders: int, now_ms: int) -> None:
        """Count ``orders`` placed (negative: take them back; no count goes below zero)."""
        current = self._current(api_key, now_ms)
        self._counts[api_key] = [(w, max(0, n + orders)) for w, n in current]

    @contextlib.contextmanager
    def placing(self, api_key: str, orders: int, now_ms: int) -> Iterator[None]:
        """Around a validated placement of ``orders``: raise the 429 if they do not fit, else
        count them first (so a fill while placing takes one back off), and take them back
        if the placement is refused."""
        refused = self.refusal(api_key, orders, now_ms)
        if refused is not None:
            raise refused
        self.add(api_key, orders, now_ms)
        try:
            yield
        except errors.ApiError:
            self.add(api_key, -orders, now_ms)
            raise

    def filled(self, api_key: str, now_ms: int) -> None:
        """An order's first fill: it no longer counts as unfilled."""
        if api_key in self._counts:
            self.add(api_key, -1, now_ms)

    def counts(self, api_key: str, now_ms: int) -> list[int]:
        """The count in each window of :attr:`limits`."""
        return [n for _, n in self._current(api_key, now_ms)]

    def headers(self, api_key: str, now_ms: int) -> dict[str, str]:
        """``X-MBX-ORDER-COUNT-10S``-style headers: the count in each window."""
        return {
            f"X-MBX-ORDER-COUNT-{num}{interval[0]}": str(count)
            for (interval, num, _), count in zip(
                self.limits, self.counts(api_key, now_ms), strict=True
            )
        }

    def rate_limits(self, api_key: str, now_ms: int) -> list[dict[str, object]]:
        """The ``ORDERS`` entries of a WebSocket API reply's ``rateLimits``."""
        return [
            _rate_limit("ORDERS", interval, num, limit, count)
            for (interval, num, limit), count in zip(
                self.limits, self.counts(api_key, now_ms), strict=True
            )
        ]


class RetryAfter(Exception):
    """A 429: the error to send and the ``Retry-After`` seconds."""

    def __init__(self, error: errors.ApiError, seconds: int) -> None:
        super().__init__(error.msg)
        self.error = error
        self.seconds = seconds
