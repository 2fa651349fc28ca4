"""ExchangeKernel: intents over any ExchangeOperator, reconciled like a controller.

The strategy states what it wants (intents); the operator tracks what the
venue has (orders); the kernel's reconciler compares the two on every order
event, on a timer, after every reconnect and on start, and repairs drift.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from chainops.core.assets import to_decimal
from chainops.core.errors import RpcTransientError, ValidationError
from chainops.core.events import OrderEvent
from chainops.core.ids import TradingPair
from chainops.core.order import Order, OrderSide, OrderType, TimeInForce
from chainops.operators.exchanges.intents.checks import (
    build_intent,
    check_group,
    check_legs,
    check_modified_leg,
)
from chainops.operators.exchanges.intents.errors import (
    InconsistentGroup,
    IntentFinished,
    UnknownIntent,
)
from chainops.operators.exchanges.intents.funds import check_funds, modify_failed
from chainops.operators.exchanges.intents.model import IntentState, OrderIntent
from chainops.operators.exchanges.intents.policies import OrphanPolicy
from chainops.operators.exchanges.intents.reconciler import Reconciler, ReconciliationMetrics
from chainops.operators.exchanges.intents.records import IntentRecords
from chainops.operators.exchanges.operator import ExchangeOperator
from chainops.operators.exchanges.rules import TradingRule
from chainops.operators.exchanges.types import Balance, VenueOrder

__all__ = ["AccountState", "ExchangeKernel", "IntentEvent"]

log = logging.getLogger("chainops.exchanges.intents")


EventFilter = Callable[["IntentEvent"], bool]
Subscriber = tuple[Callable[["IntentEvent"], object], EventFilter | None]


@dataclass(frozen=True)
class IntentEvent:
    """An intent changed state."""

    intent_id: str
    state: IntentState
    reason: str | None
    trading_pair: TradingPair


@dataclass(frozen=True)
class AccountState:
    balances: dict[str, Balance]
    open_orders: list[VenueOrder]


class ExchangeKernel:
    """Intents on one exchange account; ``start`` restores journalled intents and converges."""

    def __init__(
        self,
        operator: ExchangeOperator,
        *,
        orphans: OrphanPolicy = OrphanPolicy.REPORT,
        interval: float = 1.0,
    ) -> None:
        if not isinstance(operator, ExchangeOperator):
            raise ValidationError(f"operator must be an ExchangeOperator, not {operator!r}")
        self.operator = operator
        self.interval = _interval(interval)  # the timer pass: catches what no event reported
        self.records = IntentRecords(operator.journal, operator.owner)
        self._intents: dict[str, OrderIntent] = {}
        policy = _policy(orphans)
        self.reconciler = Reconciler(operator, self.records, self._intents, policy, self._emit)
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._full = False
        self._dirty: set[str] = set()  # client ids with news since the last pass
        self._task: asyncio.Task[None] | None = None
        self._subscribers: dict[int, Subscriber] = {}
        self._tokens = itertools.count(1)
        self._ids = itertools.count(1)
        self._unsubscribe: Callable[[], None] | None = None

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> ExchangeKernel:
        """Start the operator if needed, restore journalled intents and reconcile them."""
        if self._task is not None:
            return self
        if not self.operator.started:
            await self.operator.start()
        for intent in self.records.load_all():
            self._intents.setdefault(intent.intent_id, intent)
        self._ids = itertools.count(len(self._intents) + 1)
        sub = self.operator.events.subscribe(OrderEvent, self._on_order_event)
        self._unsubscribe = sub.cancel
        self.operator.resync_listeners.append(self._on_reconnect)
        self._task = asyncio.create_task(self._loop())
        await self.force_reconciliation()
        return self

    async def stop(self) -> None:
        """Stop reconciling; orders on the venue stay as they are (nothing is cancelled)."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(BaseException):
            await self._task
        self._task = None
        if self._unsubscribe is not None:
            self._unsubscribe()
        with contextlib.suppress(ValueError):
            self.operator.resync_listeners.remove(self._on_reconnect)

    async def __aenter__(self) -> ExchangeKernel:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _on_order_event(self, event: OrderEvent) -> None:
        self._dirty.add(event.client_id)
        self._kick(full=False)

    def _on_reconnect(self) -> None:
        self._kick(full=True)

    def _kick(self, *, full: bool) -> None:
        self._full = self._full or full
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            full, self._full = self._full or not self._wake.is_set(), False
            dirty, self._dirty = self._dirty, set()
            self._wake.clear()
            try:
                async with self._lock:
                    await self.reconciler.run(scan_venue=full, orders=None if full else dirty)
            except Exception:
                self.reconciler.metrics.errors += 1
                await asyncio.sleep(self.interval)

    # -- intents -----------------------------------------------------------

    def _new_id(self) -> str:
        while (intent_id := f"i{next(self._ids)}") in self._intents:
            pass
        return intent_id

    def _intent(self, *args: Any) -> OrderIntent:
        """Build and check an intent; every error is raised before anything is sent."""
        return build_intent(self.operator, self._new_id(), *args)

    async def place_order(
        self,
        trading_pair: TradingPair | str,
        side: OrderSide | str,
        order_type: OrderType | str,
        amount: Decimal | int | str,
        price: Decimal | int | str | None = None,
        *,
        time_in_force: TimeInForce | str | None = None,
        stop_price: Decimal | int | str | None = None,
    ) -> str:
        """Add an intent and send its order; returns the intent id."""
        intent = self._intent(
            trading_pair, side, order_type, amount, price, time_in_force, stop_price
        )
        return (await self._add([intent]))[0]

    async def place_order_group(
        self,
        legs: Sequence[Mapping[str, Any]],
        kind: str = "OCO",
        *,
        native: bool | None = None,
    ) -> list[str]:
        """An OCO pair: once one leg trades, the other goes; returns the leg ids as given.

        Each leg takes ``place_order``'s arguments by name; the legs share pair,
        side and amount and act at different levels (limit or stop price). The
        venue's own order list is used when the operator has one and the legs
        fit it (a take-profit leg and a stop leg: ``native=None`` decides, True
        requires it); otherwise two orders are placed and the reconciler cancels
        one once the other trades.
        """
        if kind != "OCO":
            raise InconsistentGroup(f"unsupported order group kind {kind!r}")
        checked = check_legs(legs, native)
        if len(checked) != 2:
            raise InconsistentGroup("an OCO group has exactly two legs")
        intents = [self._leg_intent(leg) for leg in checked]
        first, second = intents
        if first.trading_pair != second.trading_pair:
            raise InconsistentGroup("OCO legs must trade the same pair")
        if first.side is not second.side or first.amount != second.amount:
            raise InconsistentGroup("OCO legs must have the same side and amount")
        check_group(self.operator, first, second, native)
        for intent in intents:
            intent.group_id = f"g-{first.intent_id}"
        return await self._add(intents)

    def _leg_intent(self, leg: Mapping[str, Any]) -> OrderIntent:
        missing = {"trading_pair", "side", "amount"} - set(leg)
        if missing:
            raise InconsistentGroup(f"an OCO leg lacks {', '.join(sorted(missing))}")
        fields = ("order_type", "price", "time_in_force", "stop_price")
        order_type, price, tif, stop = (leg.get(name) for name in fields)
        return self._intent(
            leg["trading_pair"],
            leg["side"],
            order_type or OrderType.LIMIT,
            leg["amount"],
            price,
            tif,
            stop,
        )

    async def _add(self, intents: list[OrderIntent]) -> list[str]:
        async with self._lock:
            for intent in intents:
                intent.note("created")
                self.records.save(intent)
                self._intents[intent.intent_id] = intent
                self._emit(intent)
            for intent in intents:
                await self._settle(intent)
        return [i.intent_id for i in intents]

    async def _settle(self, intent: OrderIntent) -> None:
        """Reconcile one intent a few times (cancel, then place) while answers come back."""
        for _ in range(3):
            try:
                if await self.reconciler.reconcile(intent):
                    return
            except (RpcTransientError, TimeoutError):
                self.reconciler.metrics.errors += 1
                return  # the intent is journalled: the loop converges once the venue answers
            if any(o.state.value in ("UNKNOWN", "PENDING_CANCEL") for o in self._orders(intent)):
                return  # the loop resolves it once the venue answers

    def _orders(self, intent: OrderIntent) -> list[Order]:
        return self.reconciler.orders_of(intent)

    def get_order_intent(self, intent_id: str) -> OrderIntent:
        found = self._intents.get(intent_id) if isinstance(intent_id, str) else None
        if found is None:
            raise UnknownIntent(f"no intent {intent_id}")
        return found

    async def modify_order(
        self,
        intent_id: str,
        *,
        price: Decimal | int | str | None = None,
        amount: Decimal | int | str | None = None,
        stop_price: Decimal | int | str | None = None,
    ) -> OrderIntent:
        """Change price, stop price and/or total amount; fills so far count.

        The venue's cancel-replace is used where offered, else the live order is
        cancelled and a new one placed for the remainder once the old one is
        confirmed gone: never two live orders. A leg of a native OCO changes by
        replacing the whole list.

        A change the balances cannot pay raises InsufficientFunds before anything
        is sent. If the venue refuses the replacement (the old order may already
        be cancelled), the intent ends FAILED and the venue's typed error is raised.
        """
        intent = self.get_order_intent(intent_id)
        _check_modifiable(intent)
        if intent.order_type is OrderType.MARKET:
            raise IntentFinished("a MARKET intent cannot be modified")
        kind = intent.order_type
        if price is not None and not kind.priced:
            raise ValidationError(f"a {kind.name} order takes no price")
        if stop_price is not None and not kind.is_stop:
            raise ValidationError(f"a {kind.name} order takes no stop price")
        new_price = intent.price if price is None else to_decimal(price, what="order price")
        new_amount = intent.amount if amount is None else to_decimal(amount, what="order amount")
        new_stop = (
            intent.stop_price if stop_price is None else to_decimal(stop_price, what="stop price")
        )
        rule = self.operator.rule(intent.trading_pair)
        rule.check(kind, new_amount, new_price if new_price is not None else new_stop)
        pair = self.reconciler.pair(intent)
        if pair is not None:
            check_modified_leg(pair, intent, new_amount, new_price, new_stop)
        filled = self.reconciler.filled(intent)
        if filled >= intent.amount:
            raise IntentFinished(f"intent {intent_id} has filled")
        if new_amount <= filled:
            raise ValidationError("the new amount is not above what already filled")
        if pair is None:
            await check_funds(self.operator, self._orders(intent), intent, new_amount, new_price)
        async with self._lock:
            _check_modifiable(intent)  # a cancel (or the last fill) may have come meanwhile
            intent.price, intent.amount, intent.stop_price = new_price, new_amount, new_stop
            intent.note(f"modified: {new_amount} at {new_price} stop {new_stop}")
            self.records.save(intent)
            self.reconciler.failures.clear()
            await self._settle(intent)
            failure = self.reconciler.failures.pop(intent_id, None)
        if intent.state is IntentState.FAILED:
            raise modify_failed(intent, failure)
        return intent

    async def cancel_order(self, intent_id: str) -> OrderIntent:
        """Stop wanting the intent (and its OCO partner); a finished intent is returned as is."""
        intent = self.get_order_intent(intent_id)
        if intent.is_terminal:
            return intent
        group = [
            i
            for i in self._intents.values()
            if i is intent or (intent.group_id is not None and i.group_id == intent.group_id)
        ]
        async with self._lock:
            for member in group:
                if member.wanted and not member.is_terminal:
                    member.wanted = False
                    member.reason = "cancel requested"
                    member.note("cancel requested")
                    self.records.save(member)
            for member in group:
                await self._settle(member)
        return intent

    async def cancel_all_orders(self, symbol: TradingPair | str | None = None) -> int:
        """Cancel every unfinished intent (of one pair); returns how many were cancelled."""
        pair = None if symbol is None else self.operator.rule(symbol).trading_pair
        targets = [
            i
            for i in self._intents.values()
            if not i.is_terminal and i.wanted and (pair is None or i.trading_pair == pair)
        ]
        for intent in targets:
            await self.cancel_order(intent.intent_id)
        return len(targets)

    # -- views -------------------------------------------------------------

    def get_order_state(self, intent_id: str) -> list[Order]:
        """The orders that realised the intent, oldest first (the venue's side)."""
        return self._orders(self.get_order_intent(intent_id))

    def get_all_intents(self, symbol: TradingPair | str | None = None) -> list[OrderIntent]:
        pair = None if symbol is None else TradingPair(symbol)
        return [i for i in self._intents.values() if pair is None or i.trading_pair == pair]

    def get_all_orders(self, symbol: TradingPair | str | None = None) -> list[Order]:
        pair = None if symbol is None else TradingPair(symbol)
        tracked = self.operator.tracker.all()
        return [o for o in tracked if pair is None or o.trading_pair == pair]

    async def get_account_state(self) -> AccountState:
        return AccountState(
            balances=await self.operator.balances(), open_orders=await self.operator.open_orders()
        )

    def get_symbol_metadata(self, symbol: TradingPair | str) -> TradingRule:
        return self.operator.rule(symbol)

    def list_symbols(self) -> list[TradingPair]:
        return sorted(self.operator.rules)

    # -- events ------------------------------------------------------------

    def subscribe_events(
        self, callback: Callable[[IntentEvent], object], filter: EventFilter | None = None
    ) -> int:
        """Call ``callback`` on every intent change ``filter`` accepts; returns a token.

        A callback that raises is logged; it never fails the call that changed the intent.
        """
        if not callable(callback):
            raise ValidationError(f"callback must be callable, not {type(callback).__name__}")
        if filter is not None and not callable(filter):
            raise ValidationError(f"filter must be callable, not {type(filter).__name__}")
        token = next(self._tokens)
        self._subscribers[token] = (callback, filter)
        return token

    def unsubscribe_events(self, token: int) -> None:
        self._subscribers.pop(token, None)

    def _emit(self, intent: OrderIntent) -> None:
        event = IntentEvent(intent.intent_id, intent.state, intent.reason, intent.trading_pair)
        for callback, accept in list(self._subscribers.values()):
            try:
                if accept is None or accept(event):
                    callback(event)
            except Exception:
                log.exception("intent event subscriber %r failed on %s", callback, event)

    # -- control -----------------------------------------------------------

    async def health_check(self) -> dict[str, Any]:
        """Connection states, a round-trip latency probe and error counts.

        ``connections`` has each venue connection the operator keeps open (user and
        market streams, the WebSocket API) with whether it is up and how often it was
        opened; ``healthy`` is all of them up, the venue answering and the loop running.
        """
        started = time.perf_counter()
        try:
            await self.operator.balances()
            latency: float | None = time.perf_counter() - started
        except Exception:
            latency = None
        metrics = self.reconciler.metrics
        links = self.operator.connection_states()
        reconciling = self._task is not None and not self._task.done()
        return {
            "healthy": latency is not None
            and reconciling
            and all(link.connected for link in links.values()),
            "operator_started": self.operator.started,
            "reconciling": reconciling,
            "venue_reachable": latency is not None,
            "latency_seconds": latency,
            "connections": {name: asdict(link) for name, link in links.items()},
            "errors": metrics.errors,
            "converged": metrics.converged,
        }

    async def force_reconciliation(self, intent_id: str | None = None) -> bool:
        """Reconcile now (one intent, or everything plus the venue's open orders)."""
        async with self._lock:
            if intent_id is None:
                return await self.reconciler.run(scan_venue=True)
            return await self.reconciler.reconcile(self.get_order_intent(intent_id))

    def get_reconciliation_metrics(self) -> ReconciliationMetrics:
        return self.reconciler.metrics


def _check_modifiable(intent: OrderIntent) -> None:
    if intent.is_terminal:
        raise IntentFinished(f"intent {intent.intent_id} is {intent.state.value}")
    if not intent.wanted:
        why = intent.reason or "cancel requested"
        raise IntentFinished(f"intent {intent.intent_id} is being cancelled ({why})")


def _interval(value: object) -> float:
    """The timer pass's period in seconds: a positive, finite int or float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"interval must be a number of seconds, not {value!r}")
    if not 0 < value < float("inf"):
        raise ValidationError(f"interval must be positive and finite, got {value!r}")
    return float(value)


def _policy(value: object) -> OrphanPolicy:
    """An ``OrphanPolicy`` or its name (any case)."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return OrphanPolicy(value.lower())
    known = ", ".join(p.value for p in OrphanPolicy)
    raise ValidationError(f"orphans must be one of {known}, got {value!r}")
