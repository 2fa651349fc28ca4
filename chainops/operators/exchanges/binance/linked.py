"""Binance OCO order lists and cancel-replace: request parameters and reply translation."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chainops.core.assets import Asset, Fee
from chainops.core.order import Fill, Order, OrderType, OrderUpdate
from chainops.operators.exchanges.binance.rest import translate
from chainops.operators.exchanges.errors import VenueError
from chainops.operators.exchanges.linked_orders import ReplaceOutcome
from chainops.operators.exchanges.order_lists import OrderList
from chainops.operators.exchanges.rules import TradingRule

__all__ = ["LinkedOrderEntry", "order_params", "reply_fills"]

_FEE_DECIMALS = 8  # Binance reports commissions with 8 decimals
_CANCEL_FAILED = -2022  # cancel-replace: the cancel failed, so nothing was placed
_PARTLY_FAILED = -2021  # cancel-replace: one half succeeded


def wire(value: Decimal) -> str:
    return f"{value:f}"


def fee(amount: str, asset: str | None) -> Fee | None:
    return None if not asset else Fee(Asset(asset, _FEE_DECIMALS), Decimal(amount))


def _needs_tif(kind: OrderType) -> bool:
    return kind is OrderType.LIMIT or kind.value.endswith("_LIMIT")


def order_params(order: Order, rule: TradingRule) -> dict[str, Any]:
    """``order.place`` parameters of one order."""
    params: dict[str, Any] = {
        "symbol": rule.venue_symbol,
        "side": order.side.value,
        "type": order.order_type.value,
        "quantity": wire(order.amount),
        "newClientOrderId": str(order.client_id),
        "newOrderRespType": "FULL",
    }
    if order.price is not None:
        params["price"] = wire(order.price)
    if order.stop_price is not None:
        params["stopPrice"] = wire(order.stop_price)
    if _needs_tif(order.order_type):
        params["timeInForce"] = order.time_in_force.value
    return params


def reply_fills(reply: Mapping[str, Any]) -> tuple[Fill, ...]:
    """The ``fills`` of a FULL order reply."""
    return tuple(
        Fill(
            fill_id=str(f["tradeId"]),
            price=Decimal(f["price"]),
            base_amount=Decimal(f["qty"]),
            quote_amount=Decimal(f["price"]) * Decimal(f["qty"]),
            fee=fee(f["commission"], f["commissionAsset"]),
        )
        for f in reply.get("fills", ())
    )


def _leg_params(name: str, order: Order) -> dict[str, Any]:
    params: dict[str, Any] = {
        f"{name}Type": order.order_type.value,
        f"{name}ClientOrderId": str(order.client_id),
    }
    if order.price is not None:
        params[f"{name}Price"] = wire(order.price)
    if order.stop_price is not None:
        params[f"{name}StopPrice"] = wire(order.stop_price)
    if _needs_tif(order.order_type):
        params[f"{name}TimeInForce"] = order.time_in_force.value
    return params


class LinkedOrderEntry:
    """The OCO and cancel-replace hooks of :class:`BinanceSpot` (mixed in)."""

    if TYPE_CHECKING:

        async def _entry(
            self, method: str, rest_method: str, params: dict[str, Any], path: str = ...
        ) -> Mapping[str, Any]: ...

        def _update(self, data: Mapping[str, Any], fills: tuple[Fill, ...] = ()) -> OrderUpdate: ...

    def _list_updates(
        self, order_list: OrderList, reply: Mapping[str, Any]
    ) -> tuple[OrderUpdate, OrderUpdate]:
        reports = {r["clientOrderId"]: r for r in reply.get("orderReports", ())}
        above, below = (self._update(reports[str(leg.client_id)]) for leg in order_list.legs)
        return above, below

    async def _venue_place_oco(
        self, order_list: OrderList, rule: TradingRule
    ) -> tuple[str | None, tuple[OrderUpdate, OrderUpdate]]:
        above, below = order_list.legs
        params: dict[str, Any] = {
            "symbol": rule.venue_symbol,
            "listClientOrderId": order_list.client_id,
            "side": above.side.value,
            "quantity": wire(above.amount),
            "newOrderRespType": "FULL",
            **_leg_params("above", above),
            **_leg_params("below", below),
        }
        reply = await self._entry("orderList.place.oco", "POST", params, "/api/v3/orderList/oco")
        return str(reply["orderListId"]), self._list_updates(order_list, reply)

    async def _venue_cancel_list(
        self, order_list: OrderList, rule: TradingRule
    ) -> tuple[OrderUpdate, OrderUpdate]:
        params = {"symbol": rule.venue_symbol, "listClientOrderId": order_list.client_id}
        reply = await self._entry("orderList.cancel", "DELETE", params, "/api/v3/orderList")
        return self._list_updates(order_list, reply)

    async def _venue_cancel_replace(
        self, order: Order, new: Order, rule: TradingRule
    ) -> ReplaceOutcome:
        params = order_params(new, rule) | {
            "cancelReplaceMode": "STOP_ON_FAILURE",
            "cancelOrigClientOrderId": str(order.client_id),
        }
        try:
            reply = await self._entry(
                "order.cancelReplace", "POST", params, "/api/v3/order/cancelReplace"
            )
        except VenueError as exc:
            data = exc.data if isinstance(exc.data, Mapping) else None
            if exc.code not in (_CANCEL_FAILED, _PARTLY_FAILED) or data is None:
                raise
            canceled = None
            if data.get("cancelResult") == "SUCCESS":
                canceled = self._update(data["cancelResponse"])
            placed = None
            if data.get("newOrderResult") == "SUCCESS":
                body = data["newOrderResponse"]
                placed = self._update(body, reply_fills(body))
            return ReplaceOutcome(canceled, placed, _new_order_error(exc, data))
        body = reply["newOrderResponse"]
        return ReplaceOutcome(
            self._update(reply["cancelResponse"]), self._update(body, reply_fills(body))
        )


def _new_order_error(exc: VenueError, data: Mapping[str, Any]) -> VenueError:
    """Why the new half of a cancel-replace failed (e.g. insufficient balance), as typed."""
    body = data.get("newOrderResponse")
    if data.get("newOrderResult") != "FAILURE" or not isinstance(body, Mapping):
        return exc
    code, message = body.get("code"), body.get("msg")
    if not isinstance(code, int) or not isinstance(message, str):
        return exc
    error = translate(code, f"{exc.venue_message} New order: {message}", exc.data)
    error.__cause__ = exc
    return error
