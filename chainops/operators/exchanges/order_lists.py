"""Order lists: a venue-side OCO whose two legs are ordinary tracked Orders.

The venue links the legs: once one executes (or its stop triggers) it ends the
other, and cancelling either cancels both. Each leg keeps its own client id,
so an unknown outcome is resolved leg by leg, by client id, like any order.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from chainops.core.errors import ValidationError
from chainops.core.ids import ClientId, TradingPair
from chainops.core.order import Order, OrderSide, OrderType, TimeInForce
from chainops.operators.exchanges.order_terms import positive_decimal

__all__ = ["InvalidOrderList", "OcoLeg", "OrderList", "check_oco"]

# which leg types a venue OCO accepts on each side of the market (Binance's rule)
_TAKE = frozenset({OrderType.LIMIT_MAKER, OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_LIMIT})
_STOP = frozenset({OrderType.STOP_LOSS, OrderType.STOP_LOSS_LIMIT})


class InvalidOrderList(ValidationError):
    """The legs of an order list do not fit together; nothing was sent."""


@dataclass(frozen=True, kw_only=True)
class OcoLeg:
    """One leg of an OCO: its type, limit price and/or stop price, checked when built."""

    order_type: OrderType
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce | None = None
    client_id: str | None = None

    def __post_init__(self) -> None:
        """Coerce names and numbers (``"LIMIT_MAKER"``, ``"2050"``); refuse the rest."""
        tif = self.time_in_force
        values = {
            "order_type": OrderType.parse(self.order_type, "order type"),
            "price": None if self.price is None else positive_decimal(self.price, "leg price"),
            "stop_price": (
                None if self.stop_price is None else positive_decimal(self.stop_price, "stop price")
            ),
            "time_in_force": None if tif is None else TimeInForce.parse(tif, "time in force"),
            "client_id": None if self.client_id is None else ClientId(self.client_id),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @property
    def level(self) -> Decimal:
        """Where the leg acts: the stop price of a stop leg, else its limit price."""
        level = self.stop_price if self.order_type.is_stop else self.price
        if level is None:
            raise InvalidOrderList(f"a {self.order_type.name} leg needs its price")
        return level


@dataclass
class OrderList:
    """An OCO on the venue: ``above`` acts at the higher level, ``below`` at the lower."""

    client_id: str
    trading_pair: TradingPair
    above: Order
    below: Order
    venue_id: str | None = None

    @property
    def legs(self) -> tuple[Order, Order]:
        return self.above, self.below

    @property
    def is_terminal(self) -> bool:
        return self.above.is_terminal and self.below.is_terminal


def check_oco(side: OrderSide, above: OcoLeg, below: OcoLeg) -> None:
    """Raise :class:`InvalidOrderList` unless the pair of legs is a valid OCO.

    A SELL OCO takes profit above (LIMIT_MAKER / TAKE_PROFIT*) and stops the loss
    below (STOP_LOSS*); a BUY OCO is the mirror image. The above leg's level must
    be strictly above the below leg's.
    """
    upper, lower = (_TAKE, _STOP) if side is OrderSide.SELL else (_STOP, _TAKE)
    for leg, allowed, where in ((above, upper, "above"), (below, lower, "below")):
        if leg.order_type not in allowed:
            names = ", ".join(sorted(t.name for t in allowed))
            raise InvalidOrderList(
                f"the {where} leg of a {side.name} OCO must be one of {names}, "
                f"not {leg.order_type.name}"
            )
        if leg.order_type.priced and leg.price is None:
            raise InvalidOrderList(f"the {where} {leg.order_type.name} leg needs a price")
        if not leg.order_type.priced and leg.price is not None:
            raise InvalidOrderList(f"the {where} {leg.order_type.name} leg takes no price")
        if leg.order_type.is_stop and leg.stop_price is None:
            raise InvalidOrderList(f"the {where} {leg.order_type.name} leg needs a stop price")
        if not leg.order_type.is_stop and leg.stop_price is not None:
            raise InvalidOrderList(f"the {where} {leg.order_type.name} leg takes no stop price")
    if above.level <= below.level:
        raise InvalidOrderList(
            f"the above leg ({above.level}) must act above the below leg ({below.level})"
        )
