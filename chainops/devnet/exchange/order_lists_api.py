"""OCO order lists: place (current and legacy forms), cancel, query, open and all lists."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from chainops.devnet.exchange import errors
from chainops.devnet.exchange import params as p
from chainops.devnet.exchange.accounts import Account
from chainops.devnet.exchange.engine import Engine
from chainops.devnet.exchange.events import execution_report, list_status
from chainops.devnet.exchange.orders import STOP_TYPES, OrderList
from chainops.devnet.exchange.publisher import Publisher
from chainops.devnet.exchange.weights import OrderCounter

__all__ = ["OrderListApi"]

LEG_TYPES = ("LIMIT_MAKER", *STOP_TYPES)
_LIMIT_LEGS = ("LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")
Params = dict[str, str]


class OrderListApi:
    """OCO lists of one simulator."""

    def __init__(
        self,
        engine: Engine,
        publisher: Publisher,
        clock: Callable[[], int],
        orders: OrderCounter | None = None,
    ) -> None:
        self.engine, self.publisher, self.clock = engine, publisher, clock
        self.orders = orders or OrderCounter()  # each leg counts toward ORDERS

    def _leg(self, params: Params, side: str, qty: Decimal, name: str) -> dict[str, object]:
        kind = params.get(f"{name}Type") or ""
        if not kind:
            raise errors.mandatory(f"{name}Type")
        if kind not in LEG_TYPES:
            raise errors.oco_type(kind)
        price = p.decimal(params, f"{name}Price", required=kind in _LIMIT_LEGS)
        stop = p.decimal(params, f"{name}StopPrice", required=kind in STOP_TYPES)
        tif = p.enum(
            params, f"{name}TimeInForce", ("GTC", "IOC", "FOK"), required=kind.endswith("_LIMIT")
        )
        client_id = p.client_id(params, f"{name}ClientOrderId") or f"sim{secrets.token_hex(8)}"
        return {
            "side": side,
            "type": kind,
            "tif": tif or "GTC",
            "price": price if kind in _LIMIT_LEGS else None,
            "qty": qty,
            "client_id": client_id,
            "stop_price": stop if kind in STOP_TYPES else None,
        }

    def place(self, account: Account, params: Params) -> Any:
        """``POST /api/v3/orderList/oco``: an above leg and a below leg."""
        symbol = p.symbol(params)
        assert symbol is not None
        spec = self.engine.spec(symbol)
        side = p.enum(params, "side", ("BUY", "SELL"))
        qty = p.decimal(params, "quantity")
        assert side is not None and qty is not None
        above, below = self._leg(params, side, qty, "above"), self._leg(params, side, qty, "below")
        self._check_order(above, below, side)
        list_id = p.client_id(params, "listClientOrderId") or f"oco{secrets.token_hex(8)}"
        return self._place(account, spec.symbol, [above, below], list_id)

    def place_legacy(self, account: Account, params: Params) -> Any:
        """``POST /api/v3/order/oco``: a LIMIT_MAKER at ``price`` and a stop leg."""
        symbol = p.symbol(params)
        assert symbol is not None
        self.engine.spec(symbol)
        side = p.enum(params, "side", ("BUY", "SELL"))
        qty = p.decimal(params, "quantity")
        price = p.decimal(params, "price")
        stop = p.decimal(params, "stopPrice")
        stop_limit = p.decimal(params, "stopLimitPrice", required=False)
        assert side is not None and qty is not None
        tif = p.enum(
            params, "stopLimitTimeInForce", ("GTC", "IOC", "FOK"), required=stop_limit is not None
        )
        limit_leg: dict[str, object] = {
            "side": side,
            "type": "LIMIT_MAKER",
            "tif": "GTC",
            "price": price,
            "qty": qty,
            "client_id": p.client_id(params, "limitClientOrderId") or f"sim{secrets.token_hex(8)}",
            "stop_price": None,
        }
        stop_leg: dict[str, object] = {
            "side": side,
            "type": "STOP_LOSS_LIMIT" if stop_limit is not None else "STOP_LOSS",
            "tif": tif or "GTC",
            "price": stop_limit,
            "qty": qty,
            "client_id": p.client_id(params, "stopClientOrderId") or f"sim{secrets.token_hex(8)}",
            "stop_price": stop,
        }
        legs = [limit_leg, stop_leg] if side == "SELL" else [stop_leg, limit_leg]
        self._check_order(legs[0], legs[1], side)
        list_id = p.client_id(params, "listClientOrderId") or f"oco{secrets.token_hex(8)}"
        return self._place(account, symbol, [stop_leg, limit_leg], list_id)

    @staticmethod
    def _check_order(above: dict[str, object], below: dict[str, object], side: str) -> None:
        def level(leg: dict[str, object]) -> Decimal:
            value = leg["price"] if leg["type"] == "LIMIT_MAKER" else leg["stop_price"]
            assert isinstance(value, Decimal)
            return value

        if above["type"] == "LIMIT_MAKER" and below["type"] == "LIMIT_MAKER":
            raise errors.ApiError(-1167, "Both OCO orders cannot be LIMIT_MAKER.")
        if level(above) <= level(below):
            code = -1166 if side == "SELL" else -1165
            which = "sell" if side == "SELL" else "buy"
            raise errors.ApiError(
                code, f"The above order of a {which} OCO must be priced above the below order."
            )

    def _place(
        self, account: Account, symbol: str, legs: list[dict[str, object]], list_id: str
    ) -> Any:
        spec = self.engine.spec(symbol)
        for leg in legs:
            price, qty, stop = leg["price"], leg["qty"], leg["stop_price"]
            assert isinstance(qty, Decimal) and (price is None or isinstance(price, Decimal))
            spec.check(price, qty, market=price is None)
            if stop is not None:
                assert isinstance(stop, Decimal)
                spec.check_price(stop)
        now = self.clock()
        with self.orders.placing(account.api_key, len(legs), now):
            order_list, _ = self.engine.place_oco(account, spec, legs, list_id, now)
        publish = self.publisher.hub.publish_user
        for order in order_list.orders:
            publish(account.api_key, execution_report(order, "NEW", now))
        publish(account.api_key, list_status(order_list, now))
        self.publisher.market(symbol, None, now)
        self.publisher.positions([account], symbol, now)
        return order_list.to_json(reports=True)

    def _find(self, account: Account, params: Params, *, client_name: str) -> OrderList:
        list_id = p.integer(params, "orderListId")
        client_id = p.client_id(params, client_name)
        found = None
        if list_id is not None:
            found = self.engine.lists.get(list_id)
        elif client_id is not None:
            found = self.engine.lists_by_client.get((account.api_key, client_id))
        else:
            raise errors.ApiError(
                -1102,
                f"Param '{client_name}' or 'orderListId' must be sent, but both were empty/null!",
            )
        if found is None or self.engine.list_owner[found.list_id] is not account:
            raise errors.ApiError(-2011, "Order list does not exist.")
        return found

    def cancel(self, account: Account, params: Params) -> Any:
        """``DELETE /api/v3/orderList``: cancel both legs."""
        symbol = p.symbol(params)
        assert symbol is not None
        self.engine.spec(symbol)
        order_list = self._find(account, params, client_name="listClientOrderId")
        if order_list.symbol != symbol:
            raise errors.ApiError(-2011, "Order list does not exist.")
        now = self.clock()
        canceled = self.engine.cancel_list(order_list, now)
        self.publisher.canceled(canceled, now)
        body = order_list.to_json(reports=True, now=now)
        return body

    def query(self, account: Account, params: Params) -> Any:
        return self._find(account, params, client_name="origClientOrderId").to_json()

    def open_lists(self, account: Account, params: Params) -> Any:
        return [
            lst.to_json()
            for lst in self.engine.lists.values()
            if self.engine.list_owner[lst.list_id] is account and lst.status != "ALL_DONE"
        ]

    def all_lists(self, account: Account, params: Params) -> Any:
        """``GET allOrderList``: ``fromId`` and a time range exclude each other."""
        return self._all_lists(account, params, strict=True)

    def all_lists_ws(self, account: Account, params: Params) -> Any:
        """``allOrderLists`` on the WebSocket API: a time range overrides ``fromId``."""
        return self._all_lists(account, params, strict=False)

    def _all_lists(self, account: Account, params: Params, *, strict: bool) -> Any:
        from_id = p.integer(params, "fromId")
        start, end = p.time_range(params, 24)
        if from_id is not None and (start, end) != (None, None):
            if strict:
                raise errors.bad_combo("Combination of optional parameters invalid.")
            from_id = None
        limit = p.limit(params, 500)
        found = [
            lst
            for lst in self.engine.lists.values()
            if self.engine.list_owner[lst.list_id] is account
            and (from_id is None or lst.list_id >= from_id)
            and (start is None or lst.time >= start)
            and (end is None or lst.time <= end)
        ]
        chosen = found[:limit] if from_id is not None or start is not None else found[-limit:]
        return [lst.to_json() for lst in chosen]
