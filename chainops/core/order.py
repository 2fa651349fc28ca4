"""Orders: one model for CEX orders and DEX swaps.

A DEX swap is an Order whose ``execution`` is a Transaction: its venue id is
the tx hash, its fills come from the receipt's swap logs (fill id
``txhash:logIndex``) and its gas is the ``network_fee``.

Filled amounts are always derived from the fills, which are keyed by fill
id, so a fill reported twice is counted once.

UNKNOWN ranks below OPEN: a venue never reports it, so moving an order to
UNKNOWN is a local decision made with ``transition`` (``apply`` would treat
it as a late report).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Self

from chainops.core.assets import Asset, Fee, exact_sum, to_decimal
from chainops.core.errors import (
    ChainopsError,
    InvalidAmount,
    InvalidTransition,
    Rejected,
    ValidationError,
)
from chainops.core.history import (
    Change,
    ErrorInfo,
    LabelEnum,
    check_time,
    dump_time,
    load_time,
)
from chainops.core.ids import ClientId, TradingPair, VenueId
from chainops.core.operation import Operation
from chainops.core.order_types import OrderType as OrderType  # its home; kept importable here
from chainops.core.statemachine import StateMachine

__all__ = [
    "ORDER_STATES",
    "Fill",
    "Order",
    "OrderSide",
    "OrderState",
    "OrderUpdate",
    "QuoteValue",
    "TimeInForce",
]


class OrderState(LabelEnum):
    """Where an order is in its life."""

    PENDING_CREATE = "PENDING_CREATE"
    OPEN = "OPEN"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    PENDING_CANCEL = "PENDING_CANCEL"
    CANCELED = "CANCELED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    UNKNOWN = "UNKNOWN"  # e.g. a timeout while placing: reconcile, it may have executed


class OrderSide(LabelEnum):
    """Buy or sell the base asset."""

    BUY = "BUY"
    SELL = "SELL"


class TimeInForce(LabelEnum):
    """How long an order may rest."""

    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


_O = OrderState
ORDER_STATES: StateMachine[OrderState] = StateMachine(
    "Order",
    _O.PENDING_CREATE,
    {
        # a market order may fill at once; a venue may refuse it or let it expire (IOC)
        _O.PENDING_CREATE: {
            _O.OPEN,
            _O.PARTIALLY_FILLED,
            _O.FILLED,
            _O.PENDING_CANCEL,
            _O.CANCELED,
            _O.FAILED,
            _O.EXPIRED,
            _O.UNKNOWN,
        },
        # OPEN -> FAILED: a DEX swap is OPEN while its transaction is in flight and may revert
        _O.OPEN: {
            _O.PARTIALLY_FILLED,
            _O.FILLED,
            _O.PENDING_CANCEL,
            _O.CANCELED,
            _O.FAILED,
            _O.EXPIRED,
            _O.UNKNOWN,
        },
        _O.PARTIALLY_FILLED: {
            _O.FILLED,
            _O.PENDING_CANCEL,
            _O.CANCELED,
            _O.EXPIRED,
            _O.UNKNOWN,
        },
        # back to OPEN / PARTIALLY_FILLED: the venue refused the cancel
        _O.PENDING_CANCEL: {
            _O.OPEN,
            _O.PARTIALLY_FILLED,
            _O.FILLED,
            _O.CANCELED,
            _O.EXPIRED,
            _O.UNKNOWN,
        },
        # reconciliation may find any real outcome
        _O.UNKNOWN: {
            _O.OPEN,
            _O.PARTIALLY_FILLED,
            _O.FILLED,
            _O.PENDING_CANCEL,
            _O.CANCELED,
            _O.FAILED,
            _O.EXPIRED,
        },
        _O.FILLED: set(),
        _O.CANCELED: set(),
        _O.FAILED: set(),
        _O.EXPIRED: set(),
    },
    {
        _O.PENDING_CREATE: 0,
        _O.UNKNOWN: 1,
        _O.OPEN: 2,
        _O.PARTIALLY_FILLED: 3,
        _O.PENDING_CANCEL: 4,
        _O.FILLED: 5,
        _O.CANCELED: 5,
        _O.FAILED: 5,
        _O.EXPIRED: 5,
    },
)


def _positive(value: object, what: str, *, allow_zero: bool = False) -> Decimal:
    result = to_decimal(value, what=what)
    if result < 0 or (result == 0 and not allow_zero):
        raise InvalidAmount(f"{what} must be {'>= 0' if allow_zero else '> 0'}, got {result}")
    return result


@dataclass(frozen=True, kw_only=True)
class Fill:
    """One execution of (part of) an order. ``fill_id`` is unique per order."""

    fill_id: str
    price: Decimal
    base_amount: Decimal
    quote_amount: Decimal
    fee: Fee | None = None
    timestamp: datetime | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.fill_id, str) or not 1 <= len(self.fill_id) <= 128:
            raise ValidationError(f"fill id must be 1-128 characters, got {self.fill_id!r}")
        object.__setattr__(self, "price", _positive(self.price, "fill price"))
        object.__setattr__(self, "base_amount", _positive(self.base_amount, "fill base amount"))
        quote = _positive(self.quote_amount, "fill quote amount", allow_zero=True)
        object.__setattr__(self, "quote_amount", quote)
        if self.timestamp is not None:
            check_time(self.timestamp, "fill timestamp")

    def same_trade(self, other: Fill) -> bool:
        """True if ``other`` reports the same execution (sources may differ on time or fee)."""
        return (self.fill_id, self.price, self.base_amount, self.quote_amount) == (
            other.fill_id,
            other.price,
            other.base_amount,
            other.quote_amount,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "fill_id": self.fill_id,
            "price": str(self.price),
            "base_amount": str(self.base_amount),
            "quote_amount": str(self.quote_amount),
            "fee": None if self.fee is None else self.fee.to_dict(),
            "timestamp": dump_time(self.timestamp),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Inverse of :meth:`to_dict`."""
        return cls(
            fill_id=data["fill_id"],
            price=Decimal(data["price"]),
            base_amount=Decimal(data["base_amount"]),
            quote_amount=Decimal(data["quote_amount"]),
            fee=None if data["fee"] is None else Fee.from_dict(data["fee"]),
            timestamp=load_time(data["timestamp"]),
        )


@dataclass(frozen=True, kw_only=True)
class OrderUpdate:
    """What a venue told us about an order. Applying it twice changes nothing.

    ``sequence`` orders updates from one source (an exchange's update time or
    event id, a block number); an update older than the last applied one has
    its state ignored. Its fills are still recorded: a fill is a fact keyed
    by id, never stale.
    """

    state: OrderState | None = None
    venue_id: VenueId | str | int | None = None
    fills: tuple[Fill, ...] = ()
    network_fee: Fee | None = None
    error: ErrorInfo | BaseException | None = None  # an exception is stored as ErrorInfo
    sequence: int | None = None
    timestamp: datetime | None = None
    reason: str | None = None
    client_id: ClientId | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "error", ErrorInfo.coerce(self.error))
        if self.state is not None:
            object.__setattr__(self, "state", OrderState(self.state))
        object.__setattr__(self, "fills", tuple(self.fills))


QuoteValue = str | int | bool | Decimal | None


def _dump_quote(quote: Mapping[str, QuoteValue] | None) -> dict[str, Any] | None:
    if quote is None:
        return None
    return {k: {"decimal": str(v)} if isinstance(v, Decimal) else v for k, v in quote.items()}


def _load_quote(data: Mapping[str, Any] | None) -> dict[str, QuoteValue] | None:
    if data is None:
        return None
    return {k: Decimal(v["decimal"]) if isinstance(v, dict) else v for k, v in data.items()}


def _check_quote(quote: Mapping[str, QuoteValue]) -> dict[str, QuoteValue]:
    out: dict[str, QuoteValue] = {}
    for key, value in quote.items():
        if not isinstance(key, str):
            raise ValidationError(f"quote keys must be strings, got {key!r}")
        if isinstance(value, float):
            raise InvalidAmount(f"quote field {key!r} is a float; use Decimal")
        if value is not None and not isinstance(value, str | int | bool | Decimal):
            raise ValidationError(f"quote field {key!r} has unsupported type {type(value)}")
        out[key] = value
    return out


class Order(Operation[OrderState]):
    """A request to trade ``amount`` of the base asset of ``trading_pair``."""

    kind = "order"
    machine = ORDER_STATES

    def __init__(
        self,
        *,
        client_id: ClientId | str,
        platform: str,
        owner: str,
        trading_pair: TradingPair | str,
        side: OrderSide | str,
        order_type: OrderType | str,
        amount: Decimal | int | str,
        price: Decimal | int | str | None = None,
        time_in_force: TimeInForce | str | None = None,
        quote: Mapping[str, QuoteValue] | None = None,
        execution: ClientId | str | None = None,
        created_at: datetime | None = None,
        stop_price: Decimal | int | str | None = None,
    ) -> None:
        super().__init__(client_id=client_id, platform=platform, owner=owner, created_at=created_at)
        self.trading_pair = TradingPair(trading_pair)
        self.side = OrderSide(side)
        self.order_type = OrderType(order_type)
        self.amount = _positive(amount, "order amount")
        self.price = None if price is None else _positive(price, "order price")
        if self.price is None and self.order_type.priced:
            raise ValidationError(f"a {self.order_type.name} order needs a price")
        self.stop_price = None if stop_price is None else _positive(stop_price, "stop price")
        if (self.stop_price is None) == self.order_type.is_stop:
            need = "needs" if self.order_type.is_stop else "takes no"
            raise ValidationError(f"a {self.order_type.name} order {need} a stop price")
        if time_in_force is None:
            # a market order never rests on the book, so it is immediate-or-cancel
            market = self.order_type is OrderType.MARKET
            time_in_force = TimeInForce.IOC if market else TimeInForce.GTC
        self.time_in_force = TimeInForce(time_in_force)
        if self.order_type is OrderType.LIMIT_MAKER and self.time_in_force is not TimeInForce.GTC:
            raise ValidationError("a LIMIT_MAKER order rests on the book: time in force is GTC")
        self.quote: dict[str, QuoteValue] | None = None if quote is None else _check_quote(quote)
        self._execution: ClientId | None = None if execution is None else ClientId(execution)
        self._fills: dict[str, Fill] = {}
        self.network_fee: Fee | None = None

    # -- derived views -----------------------------------------------------

    @property
    def fills(self) -> Mapping[str, Fill]:
        """Fills by fill id, in the order they were recorded (read-only)."""
        return MappingProxyType(self._fills)

    @property
    def filled_base(self) -> Decimal:
        """Base amount executed so far (sum of unique fills)."""
        return exact_sum(f.base_amount for f in self._fills.values())

    @property
    def filled_quote(self) -> Decimal:
        """Quote amount executed so far."""
        return exact_sum(f.quote_amount for f in self._fills.values())

    @property
    def remaining(self) -> Decimal:
        """Base amount still to execute (never negative)."""
        return max(exact_sum((self.amount, -self.filled_base)), Decimal(0))

    @property
    def average_price(self) -> Decimal | None:
        """Quote per base over all fills (28 significant digits), or None before any."""
        base = self.filled_base
        return None if not base else self.filled_quote / base

    @property
    def fees(self) -> tuple[Fee, ...]:
        """Total fees per asset: trading fees of the fills plus the network fee."""
        totals: dict[Asset, list[Decimal]] = {}
        sources = [f.fee for f in self._fills.values()] + [self.network_fee]
        for fee in sources:
            if fee is not None:
                totals.setdefault(fee.asset, []).append(fee.amount)
        return tuple(Fee(asset, exact_sum(amounts)) for asset, amounts in totals.items())

    @property
    def execution(self) -> ClientId | None:
        """Client id of the Transaction that executes this order (DEX swaps)."""
        return self._execution

    @execution.setter
    def execution(self, value: ClientId | str) -> None:
        new = ClientId(value)
        if self._execution is not None and new != self._execution:
            raise InvalidTransition("Order", f"execution {self._execution}", f"execution {new}")
        self._execution = new

    # -- updates -----------------------------------------------------------

    def add_fill(self, fill: Fill, *, at: datetime | None = None) -> bool:
        """Record one fill (idempotent); the state follows the filled amount."""
        return self.apply(OrderUpdate(fills=(fill,), timestamp=at))

    def apply(self, update: OrderUpdate) -> bool:
        """Apply a venue update idempotently; returns True if anything changed.

        Validation happens before any change, so a rejected update leaves the
        order untouched.
        """
        if update.client_id is not None and update.client_id != self.client_id:
            raise ValidationError(f"update for {update.client_id} applied to {self.client_id}")
        new_venue_id = self._check_venue_id(update.venue_id)
        new_fills: dict[str, Fill] = {}
        for fill in update.fills:
            known = self._fills.get(fill.fill_id) or new_fills.get(fill.fill_id)
            if known is None:
                new_fills[fill.fill_id] = fill
            elif not known.same_trade(fill):
                raise ValidationError(f"fill {fill.fill_id!r} conflicts with the recorded one")
        stale = self._is_stale(update.sequence)
        explicit = None
        if update.state is not None and not stale:
            explicit = self._resolve(OrderState(update.state), update.sequence)
        after = explicit or self._state
        if new_fills and after is OrderState.FAILED:
            raise InvalidTransition("Order", "FAILED", "fill")  # a failed order never traded
        derived = None
        if new_fills and not self.machine.is_terminal(after):
            filled = exact_sum([self.filled_base, *(f.base_amount for f in new_fills.values())])
            if filled >= self.amount:
                derived = OrderState.FILLED
            elif after in (OrderState.PENDING_CREATE, OrderState.OPEN, OrderState.UNKNOWN):
                derived = OrderState.PARTIALLY_FILLED
        fee_changed = update.network_fee is not None and update.network_fee != self.network_fee

        at = update.timestamp
        changed = False
        if new_venue_id is not None:
            self.set_venue_id(new_venue_id, at=at)
            changed = True
        if explicit is not None:
            error = ErrorInfo.coerce(update.error)
            if error is not None:
                self.error = error
            self._enter(explicit, reason=update.reason, sequence=update.sequence, at=at)
            changed = True
        for fill in new_fills.values():
            self._fills[fill.fill_id] = fill
            self._record(Change.FILL, self._state, ref=fill.fill_id, at=at)
            changed = True
        if derived is not None:
            self.machine.check(self._state, derived)
            self._enter(derived, reason="fills", sequence=update.sequence, at=at)
        if fee_changed:
            self.network_fee = update.network_fee
            self._record(Change.FEE, self._state, at=at)
            changed = True
        if not stale:
            self._note_sequence(update.sequence)
        return changed

    def _failure(self) -> ChainopsError | None:
        """FAILED raises the recorded error (a refusal when none was recorded)."""
        if self._state is not OrderState.FAILED:
            return None
        if self.error is not None:
            return self.error.to_exception()
        return Rejected(f"{self.client_id} failed without executing")

    # -- serialisation -----------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: Decimals as strings, enums by name."""
        return self._base_dict()

    def _state_dict(self) -> dict[str, Any]:
        return super()._state_dict() | {
            "trading_pair": str(self.trading_pair),
            "side": self.side.name,
            "order_type": self.order_type.name,
            "amount": str(self.amount),
            "price": None if self.price is None else str(self.price),
            "time_in_force": self.time_in_force.name,
            "quote": _dump_quote(self.quote),
            "execution": None if self._execution is None else str(self._execution),
            "stop_price": None if self.stop_price is None else str(self.stop_price),
            "fills": [f.to_dict() for f in self._fills.values()],
            "network_fee": None if self.network_fee is None else self.network_fee.to_dict(),
        }

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any]) -> Self:
        order = cls(
            **cls._base_args(data),
            trading_pair=data["trading_pair"],
            side=data["side"],
            order_type=data["order_type"],
            amount=Decimal(data["amount"]),
            price=None if data["price"] is None else Decimal(data["price"]),
            time_in_force=data["time_in_force"],
            quote=_load_quote(data["quote"]),
            execution=data["execution"],
            stop_price=data.get("stop_price"),  # absent from orders journalled before stops
        )
        order._restore_base(data)
        order._fills = {f["fill_id"]: Fill.from_dict(f) for f in data["fills"]}
        fee = data["network_fee"]
        order.network_fee = None if fee is None else Fee.from_dict(fee)
        return order

    def __repr__(self) -> str:
        return (
            f"Order(client_id={str(self.client_id)!r}, {self.side.name} {self.amount} "
            f"{self.trading_pair} {self.order_type.name}"
            f"{'' if self.price is None else f' @ {self.price}'}"
            f"{'' if self.stop_price is None else f' stop {self.stop_price}'}, "
            f"state={self.state.name}, filled={self.filled_base})"
        )
