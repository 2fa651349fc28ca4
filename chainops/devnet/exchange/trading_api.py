"""Signed spot trading: orders, cancel-replace, queries, account, trades (REST and WebSocket API).

Each method takes the verified account and the request's parameters as
strings and returns the JSON body; malformed input raises an ApiError.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from chainops.devnet.exchange import errors
from chainops.devnet.exchange import params as p
from chainops.devnet.exchange.accounts import Account
from chainops.devnet.exchange.engine import Engine
from chainops.devnet.exchange.filters import SymbolSpec, fmt
from chainops.devnet.exchange.orders import STOP_TYPES, Result, SimOrder
from chainops.devnet.exchange.publisher import Publisher
from chainops.devnet.exchange.weights import OrderCounter

__all__ = ["OrderRequest", "TradingApi", "parse_order"]

ORDER_TYPES = ("LIMIT", "MARKET", "LIMIT_MAKER", *STOP_TYPES)
_LIMIT_TYPES = ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")
_PRICED = (*_LIMIT_TYPES, "LIMIT_MAKER")
RESP_TYPES = ("ACK", "RESULT", "FULL")
MAX_LIMIT = 1000
Params = dict[str, str]


@dataclass
class OrderRequest:
    """A validated new-order request."""

    spec: SymbolSpec
    side: str
    type: str
    tif: str
    price: Decimal | None
    qty: Decimal | None
    quote_qty: Decimal | None
    stop_price: Decimal | None
    client_id: str
    resp_type: str


def parse_order(engine: Engine, params: Params) -> OrderRequest:
    """Check a new order's parameters as the venue does."""
    symbol = p.symbol(params)
    assert symbol is not None
    spec = engine.spec(symbol)
    side = p.enum(params, "side", ("BUY", "SELL"))
    kind = p.enum(params, "type", ORDER_TYPES)
    assert side is not None and kind is not None
    tif = p.enum(params, "timeInForce", ("GTC", "IOC", "FOK"), required=kind in _LIMIT_TYPES)
    if tif is not None and kind not in _LIMIT_TYPES:
        raise errors.not_required("timeInForce")
    price = p.decimal(params, "price", required=kind in _PRICED)
    if price is not None and kind not in _PRICED:
        raise errors.not_required("price")
    stop = p.decimal(params, "stopPrice", required=kind in STOP_TYPES)
    if stop is not None and kind not in STOP_TYPES:
        raise errors.not_required("stopPrice")
    quote_qty = p.decimal(params, "quoteOrderQty", required=False)
    qty = p.decimal(params, "quantity", required=kind != "MARKET" or quote_qty is None)
    if quote_qty is not None:
        if kind != "MARKET":
            raise errors.not_required("quoteOrderQty")
        if qty is not None:
            raise errors.bad_combo("Combination of optional parameters invalid.")
        if quote_qty <= 0:
            raise errors.filter_failure("NOTIONAL")
    client_id = p.client_id(params, "newClientOrderId") or f"sim{secrets.token_hex(8)}"
    default_resp = "FULL" if kind in ("LIMIT", "MARKET") else "ACK"
    resp = p.enum(params, "newOrderRespType", RESP_TYPES, required=False) or default_resp
    if qty is not None:
        spec.check(price, qty, market=kind == "MARKET")
    if stop is not None:
        spec.check_price(stop)
    return OrderRequest(
        spec, side, kind, tif or "GTC", price, qty, quote_qty, stop, client_id, resp
    )


class TradingApi:
    """The signed trading surface of one simulator."""

    def __init__(
        self,
        engine: Engine,
        publisher: Publisher,
        clock: Callable[[], int],
        order_requests: dict[str, int],
        orders: OrderCounter | None = None,
    ) -> None:
        self.engine, self.publisher, self.clock = engine, publisher, clock
        self.order_requests = order_requests  # client id -> order requests (for tests)
        self.orders = orders or OrderCounter()  # the account's ORDERS count

    # -- orders ------------------------------------------------------------

    def execute(self, account: Account, req: OrderRequest) -> tuple[Result, int]:
        """Place a validated request; publishes its events."""
        self.order_requests[req.client_id] = self.order_requests.get(req.client_id, 0) + 1
        now = self.clock()
        qty = req.qty
        if qty is None:
            assert req.quote_qty is not None
            qty = self.engine.quote_to_qty(req.spec, req.side, req.quote_qty)
            if qty < req.spec.min_qty:
                raise errors.filter_failure("LOT_SIZE")
        result = self.engine.place(
            account,
            req.spec,
            side=req.side,
            type=req.type,
            tif=req.tif,
            price=req.price,
            qty=qty,
            client_id=req.client_id,
            now=now,
            stop_price=req.stop_price,
            quote_qty=req.quote_qty or Decimal(0),
        )
        self.publisher.result(result, now)
        return result, now

    @staticmethod
    def reply(result: Result, now: int, resp_type: str) -> dict[str, Any]:
        order = result.order
        if resp_type == "ACK":
            return order.ack(now)
        body = order.result(now)
        if resp_type == "FULL":
            body["fills"] = [t.fill(order) for t in result.trades]
        return body

    def new_order(self, account: Account, params: Params) -> Any:
        req = parse_order(self.engine, params)
        with self.orders.placing(account.api_key, 1, self.clock()):
            result, now = self.execute(account, req)
        return self.reply(result, now, req.resp_type)

    def test_order(self, account: Account, params: Params) -> Any:
        parse_order(self.engine, params)
        if p.enum(params, "computeCommissionRates", ("true", "false"), required=False) != "true":
            return {}
        rate = fmt(account.commission)
        zero = "0.00000000"
        return {
            "standardCommissionForOrder": {"maker": rate, "taker": rate},
            "specialCommissionForOrder": {"maker": zero, "taker": zero},
            "taxCommissionForOrder": {"maker": zero, "taker": zero},
            "discount": {
                "enabledForAccount": False,
                "enabledForSymbol": False,
                "discountAsset": "BNB",
                "discount": zero,
            },
        }

    def target(self, account: Account, params: Params, *, prefix: str = "orig") -> SimOrder:
        """The order a query or cancel names by ``orderId`` or ``origClientOrderId``."""
        symbol = p.symbol(params)
        assert symbol is not None
        self.engine.spec(symbol)
        id_name = "orderId" if prefix == "orig" else "cancelOrderId"
        client_name = "origClientOrderId" if prefix == "orig" else "cancelOrigClientOrderId"
        order_id = p.integer(params, id_name)
        client_id = p.client_id(params, client_name)
        if order_id is None and client_id is None:
            raise errors.ApiError(
                -1102,
                f"Param '{client_name}' or '{id_name}' must be sent, but both were empty/null!",
            )
        return self.engine.find(account, symbol, order_id, client_id)

    def query_order(self, account: Account, params: Params) -> Any:
        return self.target(account, params).to_json()

    def cancel(self, order: SimOrder, params: Params, name: str = "newClientOrderId") -> Any:
        now = self.clock()
        new_id = p.client_id(params, name) or f"cxl{secrets.token_hex(8)}"
        restriction = _cancel_restriction(params)
        if restriction is not None and order.is_open and order.status != restriction:
            raise errors.ApiError(-2011, "Order was not canceled due to cancel restrictions.")
        canceled = self.engine.cancel(order, now)
        self.publisher.canceled(canceled, now, client_id=new_id)
        return _cancel_report(order, now, new_id)

    def cancel_order(self, account: Account, params: Params) -> Any:
        _cancel_restriction(params)
        try:
            order = self.target(account, params)
        except errors.ApiError as exc:
            if exc.code == -2013:
                raise errors.cancel_unknown() from None
            raise
        return self.cancel(order, params)

    def cancel_replace(self, account: Account, params: Params) -> Any:
        """Cancel then place; the new order counts toward ORDERS before either half runs
        (even when it is not attempted). Over the limit, ``orderRateLimitExceededMode``
        ``DO_NOTHING`` refuses it all (-1015), ``CANCEL_ONLY`` still cancels."""
        mode = p.enum(params, "cancelReplaceMode", ("STOP_ON_FAILURE", "ALLOW_FAILURE"))
        over_limit = p.enum(
            params, "orderRateLimitExceededMode", ("DO_NOTHING", "CANCEL_ONLY"), required=False
        )
        _cancel_restriction(params)
        req = parse_order(self.engine, params)
        now = self.clock()
        refused = self.orders.refusal(account.api_key, 1, now)
        if refused is None:
            self.orders.add(account.api_key, 1, now)
        elif over_limit != "CANCEL_ONLY":
            raise refused
        cancel_body: Any = None
        cancel_error: errors.ApiError | None = None
        try:
            order = self.target(account, params, prefix="cancel")
            cancel_body = self.cancel(order, params, "cancelNewClientOrderId")
        except errors.ApiError as exc:
            cancel_error = errors.cancel_unknown() if exc.code == -2013 else exc
        if cancel_error is not None and mode == "STOP_ON_FAILURE":
            raise self._replace_failure(-2022, cancel_error, None, "NOT_ATTEMPTED")
        if refused is not None:
            code = -2022 if cancel_error is not None else -2021
            raise self._replace_failure(code, cancel_error, refused.error, "FAILURE", cancel_body)
        try:
            result, now = self.execute(account, req)
        except errors.ApiError as exc:
            code = -2022 if cancel_error is not None else -2021
            raise self._replace_failure(code, cancel_error, exc, "FAILURE", cancel_body) from None
        new_body = self.reply(result, now, req.resp_type)
        if cancel_error is not None:
            raise self._replace_failure(-2021, cancel_error, None, "SUCCESS", None, new_body)
        return {
            "cancelResult": "SUCCESS",
            "newOrderResult": "SUCCESS",
            "cancelResponse": cancel_body,
            "newOrderResponse": new_body,
        }

    @staticmethod
    def _replace_failure(
        code: int,
        cancel_error: errors.ApiError | None,
        new_error: errors.ApiError | None,
        new_result: str,
        cancel_body: Any = None,
        new_body: Any = None,
    ) -> errors.ApiError:
        message = (
            "Order cancel-replace failed."
            if code == -2022
            else ("Order cancel-replace partially failed.")
        )
        data = {
            "cancelResult": "FAILURE" if cancel_error is not None else "SUCCESS",
            "newOrderResult": new_result,
            "cancelResponse": cancel_error.body() if cancel_error is not None else cancel_body,
            "newOrderResponse": new_error.body() if new_error is not None else new_body,
        }
        # one half done (-2021) is a conflict, 409, as Binance answers it; both failed, 400
        return errors.ApiError(code, message, 409 if code == -2021 else 400, data=data)

    def open_orders(self, account: Account, params: Params) -> Any:
        symbol = p.symbol(params, required=False)
        if symbol is not None:
            self.engine.spec(symbol)
        return [o.to_json() for o in self.engine.open_orders(account, symbol)]

    def cancel_all(self, account: Account, params: Params) -> Any:
        symbol = p.symbol(params)
        assert symbol is not None
        self.engine.spec(symbol)
        orders = self.engine.open_orders(account, symbol)
        if not orders:
            raise errors.cancel_unknown()
        new_id = f"cxl{secrets.token_hex(8)}"  # one cancel id for the whole request
        out = []
        for order in orders:
            if not order.is_open:  # a list's second leg went with the first
                continue
            order_list = self.engine.lists.get(order.list_id)
            if order_list is None or order_list.status == "ALL_DONE":
                out.append(self.cancel(order, {"newClientOrderId": new_id}))
                continue
            # a live order list is one entry: the list with a report per leg
            now = self.clock()
            canceled = self.engine.cancel_list(order_list, now)
            self.publisher.canceled(canceled, now, client_id=new_id)
            body = order_list.to_json(now=now)
            body["orderReports"] = [_cancel_report(o, now, new_id) for o in order_list.orders]
            out.append(body)
        return out

    def all_orders(self, account: Account, params: Params) -> Any:
        symbol = p.symbol(params)
        assert symbol is not None
        self.engine.spec(symbol)
        from_id = p.integer(params, "orderId")
        start, end = p.time_range(params, 24)
        if start is not None or end is not None:
            from_id = None  # a time range wins over the starting order id
        limit = p.limit(params, 500, MAX_LIMIT)
        found = [
            o
            for o in self.engine.account_orders(account, symbol)
            if (from_id is None or o.order_id >= from_id)
            and (start is None or o.time >= start)
            and (end is None or o.time <= end)
        ]
        found.sort(key=lambda o: o.order_id)
        chosen = found[:limit] if from_id is not None or start is not None else found[-limit:]
        return [o.to_json() for o in chosen]

    # -- account -----------------------------------------------------------

    def account(self, account: Account, params: Params) -> Any:
        rate = fmt(account.commission)
        bps = int(account.commission * 10_000)
        return {
            "makerCommission": bps,
            "takerCommission": bps,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": rate,
                "taker": rate,
                "buyer": "0.00000000",
                "seller": "0.00000000",
            },
            "canTrade": True,
            "canWithdraw": False,
            "canDeposit": False,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": self.clock(),
            "accountType": "SPOT",
            "balances": account.to_json(),
            "permissions": ["SPOT"],
            "uid": abs(hash(account.api_key)) % 10**9,
        }

    def commission(self, account: Account, params: Params) -> Any:
        symbol = p.symbol(params)
        assert symbol is not None
        self.engine.spec(symbol)
        rate = fmt(account.commission)
        zero = "0.00000000"
        return {
            "symbol": symbol,
            "standardCommission": {"maker": rate, "taker": rate, "buyer": zero, "seller": zero},
            "specialCommission": {"maker": zero, "taker": zero, "buyer": zero, "seller": zero},
            "taxCommission": {"maker": zero, "taker": zero, "buyer": zero, "seller": zero},
            "discount": {
                "enabledForAccount": False,
                "enabledForSymbol": False,
                "discountAsset": "BNB",
                "discount": zero,
            },
        }

    def my_trades(self, account: Account, params: Params) -> Any:
        symbol = p.symbol(params)
        assert symbol is not None
        self.engine.spec(symbol)
        order_id, from_id = p.integer(params, "orderId"), p.integer(params, "fromId")
        start, end = p.time_range(params, 24)
        if (order_id is not None or from_id is not None) and (start, end) != (None, None):
            raise errors.bad_combo("Combination of optional parameters invalid.")
        limit = p.limit(params, 500, MAX_LIMIT)
        out = []
        for trade in self.engine.trades.get(account.api_key, []):
            if trade.spec.symbol != symbol or (from_id is not None and trade.trade_id < from_id):
                continue
            if (start is not None and trade.time < start) or (end is not None and trade.time > end):
                continue
            for side in (trade.maker, trade.taker):
                if side.account is account and (order_id is None or side.order_id == order_id):
                    out.append(trade.for_account(side))
        return out[-limit:] if from_id is None and start is None else out[:limit]


def _cancel_report(order: SimOrder, now: int, new_id: str) -> dict[str, Any]:
    """A canceled order as DELETE order reports it: its own client id is the original one."""
    body = order.result(now) | {"origClientOrderId": order.client_order_id}
    body["clientOrderId"] = new_id
    return body


def _cancel_restriction(params: Params) -> str | None:
    """``cancelRestrictions``: the status an order must have to be canceled, if any."""
    value = params.get("cancelRestrictions")
    if not value:
        return None
    if value not in ("ONLY_NEW", "ONLY_PARTIALLY_FILLED"):
        raise errors.ApiError(-1145, "Invalid cancelRestrictions")
    return value.removeprefix("ONLY_")
