"""The simulator's order, trade, order-list and result records, and their wire forms."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from chainops.devnet.exchange.accounts import Account
from chainops.devnet.exchange.filters import SymbolSpec, fmt

__all__ = ["STOP_TYPES", "OrderList", "Result", "SimOrder", "Trade"]

STOP_TYPES = ("STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
_ZERO = Decimal(0)


@dataclass(eq=False)
class SimOrder:
    order_id: int
    client_order_id: str
    account: Account
    spec: SymbolSpec
    side: str
    type: str
    tif: str
    price: Decimal | None
    qty: Decimal
    time: int
    executed: Decimal = _ZERO
    cum_quote: Decimal = _ZERO
    status: str = "NEW"
    update_time: int = 0
    locked: Decimal = _ZERO
    stop_price: Decimal | None = None
    quote_qty: Decimal = _ZERO  # origQuoteOrderQty of a MARKET order sized in quote
    list_id: int = -1
    triggered: bool = False  # a stop order whose stop price was reached

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.executed

    @property
    def is_open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")

    @property
    def is_stop(self) -> bool:
        return self.type in STOP_TYPES

    @property
    def working(self) -> bool:
        """On the book (or triggered) at some point: stays true once it traded or ended."""
        return not self.is_stop or self.triggered

    def ack(self, now: int) -> dict[str, object]:
        """The ``newOrderRespType=ACK`` reply."""
        return {
            "symbol": self.spec.symbol,
            "orderId": self.order_id,
            "orderListId": self.list_id,
            "clientOrderId": self.client_order_id,
            "transactTime": now,
        }

    def result(self, now: int) -> dict[str, object]:
        """The ``newOrderRespType=RESULT`` reply."""
        body = self.ack(now) | {
            "price": fmt(self.price or _ZERO),
            "origQty": fmt(self.qty),
            "executedQty": fmt(self.executed),
            "origQuoteOrderQty": fmt(self.quote_qty),
            "cummulativeQuoteQty": fmt(self.cum_quote),
            "status": self.status,
            "timeInForce": self.tif,
            "type": self.type,
            "side": self.side,
            "workingTime": self.time if self.working or not self.is_stop else -1,
            "selfTradePreventionMode": "NONE",
        }
        if self.stop_price is not None:
            body["stopPrice"] = fmt(self.stop_price)
        return body

    def to_json(self) -> dict[str, object]:
        """The ``GET /api/v3/order`` form."""
        return {
            "symbol": self.spec.symbol,
            "orderId": self.order_id,
            "orderListId": self.list_id,
            "clientOrderId": self.client_order_id,
            "price": fmt(self.price or _ZERO),
            "origQty": fmt(self.qty),
            "executedQty": fmt(self.executed),
            "cummulativeQuoteQty": fmt(self.cum_quote),
            "status": self.status,
            "timeInForce": self.tif,
            "type": self.type,
            "side": self.side,
            "stopPrice": fmt(self.stop_price or _ZERO),
            "icebergQty": "0.00000000",
            "time": self.time,
            "updateTime": self.update_time,
            "isWorking": self.working,
            "workingTime": self.time if self.working or not self.is_stop else -1,
            "origQuoteOrderQty": fmt(self.quote_qty),
            "selfTradePreventionMode": "NONE",
        }


@dataclass(eq=False)
class Trade:
    trade_id: int
    spec: SymbolSpec
    price: Decimal
    qty: Decimal
    time: int
    maker: SimOrder
    taker: SimOrder
    maker_fee: Decimal
    taker_fee: Decimal
    # (status, executed, cumulative quote) of maker and taker right after this trade
    states: dict[int, tuple[str, Decimal, Decimal]] = field(default_factory=dict)

    @property
    def quote_qty(self) -> Decimal:
        return self.price * self.qty

    @property
    def buyer_is_maker(self) -> bool:
        return self.maker.side == "BUY"

    def fee_asset(self, order: SimOrder) -> str:
        return order.spec.base if order.side == "BUY" else order.spec.quote

    def fill(self, order: SimOrder) -> dict[str, object]:
        """One entry of a FULL order reply's ``fills``."""
        return {
            "price": fmt(self.price),
            "qty": fmt(self.qty),
            "commission": fmt(self.maker_fee if order is self.maker else self.taker_fee),
            "commissionAsset": self.fee_asset(order),
            "tradeId": self.trade_id,
        }

    def public(self) -> dict[str, object]:
        """The ``GET /api/v3/trades`` entry."""
        return {
            "id": self.trade_id,
            "price": fmt(self.price),
            "qty": fmt(self.qty),
            "quoteQty": fmt(self.quote_qty),
            "time": self.time,
            "isBuyerMaker": self.buyer_is_maker,
            "isBestMatch": True,
        }

    def for_account(self, order: SimOrder) -> dict[str, object]:
        """The myTrades entry for one side of the trade."""
        is_maker = order is self.maker
        return {
            "symbol": self.spec.symbol,
            "id": self.trade_id,
            "orderId": order.order_id,
            "orderListId": order.list_id,
            "price": fmt(self.price),
            "qty": fmt(self.qty),
            "quoteQty": fmt(self.quote_qty),
            "commission": fmt(self.maker_fee if is_maker else self.taker_fee),
            "commissionAsset": self.fee_asset(order),
            "time": self.time,
            "isBuyer": order.side == "BUY",
            "isMaker": is_maker,
            "isBestMatch": True,
        }


@dataclass(eq=False)
class OrderList:
    """An OCO: two orders of which at most one executes."""

    list_id: int
    client_id: str
    symbol: str
    orders: list[SimOrder]
    time: int
    status: str = "EXEC_STARTED"  # listStatusType; ALL_DONE once no leg is open

    @property
    def order_status(self) -> str:
        return "EXECUTING" if self.status == "EXEC_STARTED" else "ALL_DONE"

    def to_json(self, *, reports: bool = False, now: int | None = None) -> dict[str, object]:
        body: dict[str, object] = {
            "orderListId": self.list_id,
            "contingencyType": "OCO",
            "listStatusType": self.status,
            "listOrderStatus": self.order_status,
            "listClientOrderId": self.client_id,
            "transactionTime": self.time if now is None else now,
            "symbol": self.symbol,
            "orders": [
                {"symbol": self.symbol, "orderId": o.order_id, "clientOrderId": o.client_order_id}
                for o in self.orders
            ],
        }
        if reports:
            body["orderReports"] = [o.result(self.time) for o in self.orders]
        return body


@dataclass
class Result:
    """What one engine call did."""

    order: SimOrder
    trades: list[Trade] = field(default_factory=list)
    touched: list[SimOrder] = field(default_factory=list)  # makers whose state changed
    canceled: list[SimOrder] = field(default_factory=list)  # OCO siblings canceled on the way
    triggered: list[Result] = field(default_factory=list)  # stop orders this call set off
    lists: list[OrderList] = field(default_factory=list)  # order lists whose status changed
    expired: list[SimOrder] = field(default_factory=list)  # triggered orders that expired
