"""Fuzzing the simulator: every route, every parameter, malformed values; never a 5xx.

Each malformed value must come back as a 4xx carrying a Binance error body
(``{"code": <negative int>, "msg": <text>}``), and the simulator keeps serving.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainops.devnet.exchange.accounts import Account
from chainops.devnet.exchange.background import BackgroundSimulator

DEC, INT, CID, SYM, ENUM, TIME = "decimal", "integer", "client id", "symbol", "enum", "time"
WINDOW = "recv window"
LIMIT_ORDER = {
    "symbol": SYM,
    "side": ENUM,
    "type": ENUM,
    "timeInForce": ENUM,
    "quantity": DEC,
    "price": DEC,
    "newClientOrderId": CID,
    "newOrderRespType": ENUM,
}
MARKET_ORDER = {"symbol": SYM, "side": ENUM, "type": ENUM, "quoteOrderQty": DEC}
STOP_ORDER = {"symbol": SYM, "side": ENUM, "type": ENUM, "quantity": DEC, "stopPrice": DEC}
ROUTES: list[tuple[str, str, bool, dict[str, str]]] = [
    ("GET", "/api/v3/depth", False, {"symbol": SYM, "limit": INT}),
    ("GET", "/api/v3/trades", False, {"symbol": SYM, "limit": INT}),
    ("GET", "/api/v3/historicalTrades", False, {"symbol": SYM, "limit": INT, "fromId": INT}),
    ("GET", "/api/v3/aggTrades", False, {"symbol": SYM, "fromId": INT, "limit": INT}),
    ("GET", "/api/v3/aggTrades", False, {"symbol": SYM, "startTime": INT, "endTime": INT}),
    (
        "GET",
        "/api/v3/klines",
        False,
        {"symbol": SYM, "interval": ENUM, "limit": INT, "startTime": INT, "endTime": INT},
    ),
    ("GET", "/api/v3/avgPrice", False, {"symbol": SYM}),
    ("GET", "/api/v3/ticker/24hr", False, {"symbol": SYM, "type": ENUM}),
    ("GET", "/api/v3/ticker/price", False, {"symbol": SYM}),
    ("GET", "/api/v3/ticker/bookTicker", False, {"symbol": SYM}),
    ("GET", "/api/v3/ticker", False, {"symbol": SYM, "windowSize": ENUM}),
    ("GET", "/api/v3/exchangeInfo", False, {"symbol": SYM}),
    ("POST", "/api/v3/order", True, LIMIT_ORDER),
    ("POST", "/api/v3/order", True, MARKET_ORDER),
    ("POST", "/api/v3/order", True, STOP_ORDER),
    ("POST", "/api/v3/order/test", True, LIMIT_ORDER),
    ("GET", "/api/v3/order", True, {"symbol": SYM, "orderId": INT}),
    ("GET", "/api/v3/order", True, {"symbol": SYM, "origClientOrderId": CID}),
    ("DELETE", "/api/v3/order", True, {"symbol": SYM, "orderId": INT, "newClientOrderId": CID}),
    (
        "POST",
        "/api/v3/order/cancelReplace",
        True,
        LIMIT_ORDER | {"cancelReplaceMode": ENUM, "cancelOrderId": INT},
    ),
    ("GET", "/api/v3/openOrders", True, {"symbol": SYM}),
    ("DELETE", "/api/v3/openOrders", True, {"symbol": SYM}),
    (
        "GET",
        "/api/v3/allOrders",
        True,
        {"symbol": SYM, "orderId": INT, "limit": INT, "startTime": INT, "endTime": INT},
    ),
    ("GET", "/api/v3/account", True, {"recvWindow": WINDOW}),
    ("GET", "/api/v3/account", True, {"timestamp": TIME}),
    ("GET", "/api/v3/account/commission", True, {"symbol": SYM}),
    ("GET", "/api/v3/myTrades", True, {"symbol": SYM, "orderId": INT, "fromId": INT, "limit": INT}),
    (
        "POST",
        "/api/v3/orderList/oco",
        True,
        {
            "symbol": SYM,
            "side": ENUM,
            "quantity": DEC,
            "aboveType": ENUM,
            "abovePrice": DEC,
            "belowType": ENUM,
            "belowStopPrice": DEC,
            "listClientOrderId": CID,
            "aboveClientOrderId": CID,
        },
    ),
    (
        "POST",
        "/api/v3/order/oco",
        True,
        {
            "symbol": SYM,
            "side": ENUM,
            "quantity": DEC,
            "price": DEC,
            "stopPrice": DEC,
            "stopLimitPrice": DEC,
            "limitClientOrderId": CID,
        },
    ),
    ("DELETE", "/api/v3/orderList", True, {"symbol": SYM, "orderListId": INT}),
    ("GET", "/api/v3/orderList", True, {"orderListId": INT}),
    ("GET", "/api/v3/allOrderList", True, {"fromId": INT, "limit": INT}),
]
VALID = {
    "symbol": "ETHUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.01",
    "price": "1000.00",
    "newClientOrderId": "fuzz-1",
    "newOrderRespType": "RESULT",
    "quoteOrderQty": "20",
    "stopPrice": "2500.00",
    "limit": "5",
    "fromId": "1",
    "orderId": "1",
    "origClientOrderId": "mmb1",
    "interval": "1m",
    "startTime": "0",
    "endTime": "1",
    "recvWindow": "5000",
    "cancelReplaceMode": "STOP_ON_FAILURE",
    "cancelOrderId": "1",
    "windowSize": "1d",
    "aboveType": "LIMIT_MAKER",
    "abovePrice": "2500.00",
    "belowType": "STOP_LOSS",
    "belowStopPrice": "1500.00",
    "listClientOrderId": "fuzz-list",
    "aboveClientOrderId": "a",
    "stopLimitPrice": "1499.00",
    "limitClientOrderId": "l",
    "orderListId": "1",
}
ROUTE_VALID = {
    ("POST", "/api/v3/order/oco"): {"side": "SELL", "price": "2500.00", "stopPrice": "1500.00"},
    ("POST", "/api/v3/order", "STOP"): {"type": "STOP_LOSS"},
    ("POST", "/api/v3/order", "MARKET"): {"type": "MARKET"},
}
_ASCII = {
    DEC: re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?", re.ASCII),
    INT: re.compile(r"[0-9]{1,19}", re.ASCII),
    TIME: re.compile(r"[0-9]{1,19}", re.ASCII),
    WINDOW: re.compile(r"[0-9]{1,20}(\.[0-9]{1,3})?", re.ASCII),  # milliseconds, microseconds
    CID: re.compile(r"[.A-Z:/a-z0-9_-]{1,36}", re.ASCII),
}
TRICKY = [
    "²",
    "٣",
    "١٠",
    "1²",
    "0.1\n",
    "12\n",
    "1e-05",
    "-1",
    "+1",
    " 1",
    "1 ",
    "0x10",
    "1,5",
    "NaN",
    "Infinity",
    "１２",
    "99999999999999999999",
    "1.",
    ".5",
    "1..2",
    "\x00",
    "%",
    "9:;<=>?@[\\]^",
    "a" * 37,
    "abc\n",
    "[]",
    "{}",
    "null",
]


def malformed(kind: str) -> st.SearchStrategy[str]:
    """Non-empty values that are not a well-formed value of ``kind``."""
    anything = st.one_of(st.sampled_from(TRICKY), st.text(min_size=1, max_size=40))
    if kind in _ASCII:
        pattern = _ASCII[kind]
        return anything.filter(lambda v: v.strip() != "" and not pattern.fullmatch(v))
    if kind == SYM:
        return anything.filter(lambda v: v not in ("ETHUSDT", "BTCUSDT"))
    return anything.filter(lambda v: v not in VALID.values() and v.strip() != "")


@pytest.fixture(scope="module")
def venue() -> Iterator[tuple[BackgroundSimulator, Account]]:
    with BackgroundSimulator(seed=7) as sim:
        yield sim, sim.create_account({"USDT": "1000000", "ETH": "100", "BTC": "10"})


def send(
    sim: BackgroundSimulator,
    account: Account,
    method: str,
    path: str,
    signed: bool,
    params: dict[str, str],
) -> requests.Response:
    query = urlencode(params)
    if signed:
        if "timestamp" not in params:
            query += ("&" if query else "") + f"timestamp={sim.call(sim.sim.now_ms)}"
        sig = hmac.new(account.secret.encode(), query.encode(), hashlib.sha256).hexdigest()
        query += f"&signature={sig}"
    headers = {"X-MBX-APIKEY": account.api_key}
    return requests.request(method, f"{sim.url}{path}?{query}", headers=headers, timeout=10)


def assert_binance_error(reply: requests.Response) -> dict[str, Any]:
    assert 400 <= reply.status_code < 500, (reply.status_code, reply.text)
    body = reply.json()
    assert isinstance(body, dict) and isinstance(body.get("code"), int) and body["code"] < 0
    assert isinstance(body.get("msg"), str) and body["msg"]
    return body


def baseline(route: tuple[str, str, bool, dict[str, str]]) -> dict[str, str]:
    method, path, _, names = route
    values = {n: VALID[n] for n in names if n != "timestamp"}
    values |= ROUTE_VALID.get((method, path), {})
    if "stopPrice" in names and method == "POST" and path == "/api/v3/order":
        values |= ROUTE_VALID[(method, path, "STOP")]
        values.pop("price", None)
    if "quoteOrderQty" in names:
        values |= ROUTE_VALID[(method, path, "MARKET")]
    return values


@st.composite
def one_bad_parameter(draw: st.DrawFn) -> tuple[tuple[str, str, bool, dict[str, str]], str, str]:
    route = draw(st.sampled_from(ROUTES))
    name = draw(st.sampled_from(sorted(route[3])))
    return route, name, draw(malformed(route[3][name]))


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=one_bad_parameter())
def test_every_malformed_parameter_is_a_binance_4xx(
    venue: tuple[BackgroundSimulator, Account],
    case: tuple[tuple[str, str, bool, dict[str, str]], str, str],
) -> None:
    sim, account = venue
    route, name, value = case
    method, path, signed, _ = route
    params = baseline(route) | {name: value}
    assert_binance_error(send(sim, account, method, path, signed, params))
    assert requests.get(f"{sim.url}/api/v3/ping", timeout=10).json() == {}


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    route=st.sampled_from(ROUTES),
    values=st.dictionaries(
        st.sampled_from(sorted(VALID)), st.one_of(st.sampled_from(TRICKY), st.text(max_size=30))
    ),
)
def test_any_parameters_never_break_the_server(
    venue: tuple[BackgroundSimulator, Account],
    route: tuple[str, str, bool, dict[str, str]],
    values: dict[str, str],
) -> None:
    sim, account = venue
    method, path, signed, _ = route
    reply = send(sim, account, method, path, signed, baseline(route) | values)
    assert reply.status_code < 500, reply.text
    if reply.status_code >= 400:
        assert_binance_error(reply)


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/api/v3/depth", {"symbol": "ETHUSDT", "limit": "²"}, -1100),
        ("/api/v3/depth", {"symbol": "ETHUSDT", "limit": "١٠"}, -1100),
        ("/api/v3/depth", {"symbol": "ETHUSDT", "limit": "10\n"}, -1100),
        ("/api/v3/account", {"recvWindow": "٥٠٠٠"}, -1100),
        ("/api/v3/account", {"timestamp": "²"}, -1102),
        ("/api/v3/order", {"symbol": "ETHUSDT", "orderId": "²"}, -1100),
        ("/api/v3/myTrades", {"symbol": "ETHUSDT", "fromId": "٣"}, -1100),
    ],
)
def test_unicode_digits_are_refused(
    venue: tuple[BackgroundSimulator, Account], path: str, params: dict[str, str], code: int
) -> None:
    sim, account = venue
    reply = send(sim, account, "GET", path, path != "/api/v3/depth", params)
    assert assert_binance_error(reply)["code"] == code


@pytest.mark.parametrize(
    ("client_id", "accepted"),
    [
        ("ok.A:/z_9-", True),
        ("a" * 36, True),
        ("a" * 37, False),
        ("abc\n", False),
        ("a;b", False),
        ("a@b", False),
        ("a[b", False),
        ("a^b", False),
        ("a=b", False),
        ("a b", False),
        ("", True),
    ],
)
def test_client_order_id_pattern(
    venue: tuple[BackgroundSimulator, Account], client_id: str, accepted: bool
) -> None:
    sim, account = venue
    params = {
        "symbol": "ETHUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.01",
        "price": "1000.00",
        "newClientOrderId": client_id,
    }
    reply = send(sim, account, "POST", "/api/v3/order/test", True, params)
    if accepted:
        assert reply.status_code == 200 and reply.json() == {}
    else:
        assert assert_binance_error(reply) == {
            "code": -1100,
            "msg": "Illegal characters found in parameter 'newClientOrderId'; "
            "legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.",
        }


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/api/v3/nothing", "/", "/sapi/v9/x", "/api/v3/order/extra"])
def test_unknown_routes_answer_json(
    venue: tuple[BackgroundSimulator, Account], method: str, path: str
) -> None:
    sim, _ = venue
    reply = requests.request(method, f"{sim.url}{path}", timeout=10)
    assert reply.status_code == 404
    assert reply.json() == {"code": -1020, "msg": "This operation is not supported."}


def test_duplicate_parameter(venue: tuple[BackgroundSimulator, Account]) -> None:
    sim, _ = venue
    reply = requests.get(f"{sim.url}/api/v3/depth?symbol=ETHUSDT&symbol=BTCUSDT", timeout=10)
    assert assert_binance_error(reply) == {
        "code": -1101,
        "msg": "Duplicate values for parameter 'symbol'.",
    }


def test_state_is_consistent_after_fuzzing(venue: tuple[BackgroundSimulator, Account]) -> None:
    sim, account = venue

    def locked_matches_open_orders() -> bool:
        held = Decimal(0)
        for order in sim.sim.engine.open_orders(account, "ETHUSDT"):
            if order.side == "BUY":
                held += order.locked
        return account.balance("USDT").locked >= held

    assert sim.call(locked_matches_open_orders)
    assert requests.get(f"{sim.url}/api/v3/ping", timeout=10).status_code == 200
