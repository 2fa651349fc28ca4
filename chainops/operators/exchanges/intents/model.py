"""The intent: what the strategy wants on the venue, with its history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from chainops.core.ids import TradingPair
from chainops.core.order import OrderSide, OrderType, TimeInForce

__all__ = ["IntentState", "OrderIntent"]


class IntentState(StrEnum):
    PENDING = "PENDING"  # wanted; no order confirmed working yet
    WORKING = "WORKING"  # an order is live on the venue
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    FAILED = "FAILED"

    @property
    def is_terminal(self) -> bool:
        return self in (IntentState.FILLED, IntentState.CANCELED, IntentState.FAILED)


@dataclass(kw_only=True)
class OrderIntent:
    """One wanted order; the orders that realised it are listed by client id, oldest first."""

    intent_id: str
    trading_pair: TradingPair
    side: OrderSide
    order_type: OrderType
    amount: Decimal
    price: Decimal | None
    time_in_force: TimeInForce | None = None
    stop_price: Decimal | None = None  # the trigger of a stop leg
    group_id: str | None = None
    # a venue-native OCO: "above" or "below" leg, and the client id of its current list
    native_leg: str | None = None
    order_list: str | None = None
    wanted: bool = True  # False once cancel was asked: the reconciler drives it to CANCELED
    state: IntentState = IntentState.PENDING
    orders: list[str] = field(default_factory=list)
    history: list[tuple[str, str]] = field(default_factory=list)  # (ISO time, what happened)
    reason: str | None = None

    @property
    def is_terminal(self) -> bool:
        return self.state.is_terminal

    def note(self, what: str) -> None:
        self.history.append((datetime.now(UTC).isoformat(), what))

    def to_dict(self) -> dict[str, Any]:
        return {
            "intent_id": self.intent_id,
            "trading_pair": str(self.trading_pair),
            "side": self.side.value,
            "order_type": self.order_type.value,
            "amount": str(self.amount),
            "price": None if self.price is None else str(self.price),
            "time_in_force": None if self.time_in_force is None else self.time_in_force.value,
            "stop_price": None if self.stop_price is None else str(self.stop_price),
            "group_id": self.group_id,
            "native_leg": self.native_leg,
            "order_list": self.order_list,
            "wanted": self.wanted,
            "state": self.state.value,
            "orders": list(self.orders),
            "history": [list(h) for h in self.history],
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OrderIntent:
        price, tif, stop = data["price"], data["time_in_force"], data.get("stop_price")
        return cls(
            intent_id=data["intent_id"],
            trading_pair=TradingPair(data["trading_pair"]),
            side=OrderSide(data["side"]),
            order_type=OrderType(data["order_type"]),
            amount=Decimal(data["amount"]),
            price=None if price is None else Decimal(price),
            time_in_force=None if tif is None else TimeInForce(tif),
            stop_price=None if stop is None else Decimal(stop),
            group_id=data["group_id"],
            native_leg=data.get("native_leg"),
            order_list=data.get("order_list"),
            wanted=data["wanted"],
            state=IntentState(data["state"]),
            orders=list(data["orders"]),
            history=[(h[0], h[1]) for h in data["history"]],
            reason=data["reason"],
        )
