"""The reconciler: compares each intent with the orders that realise it and repairs drift.

Rules that make it safe to run at any time, any number of times:

* it places only when every order of the intent is terminal, so an order whose
  outcome is unknown (or whose cancel is unanswered) is waited for, never doubled;
* the new order's client id is journalled with the intent before it is sent;
* a live order that no longer matches the intent (price, stop price, or amount
  after the fills of earlier orders) is replaced: by the venue's cancel-replace
  where offered (it places only if the cancel succeeded), else cancelled first;
  its fills count, and the replacement is sized for what remains;
* a leg of an emulated OCO goes once the other leg trades or is refused (FAILED);
* a venue-native OCO is reconciled as a pair (see ``native``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from chainops.core.errors import ChainopsError, RpcTransientError
from chainops.core.order import Order, OrderState, OrderType, TimeInForce
from chainops.operators.exchanges.capabilities import Capability
from chainops.operators.exchanges.intents.model import IntentState, OrderIntent
from chainops.operators.exchanges.intents.native import reconcile_native
from chainops.operators.exchanges.intents.policies import OrphanPolicy
from chainops.operators.exchanges.intents.records import IntentRecords
from chainops.operators.exchanges.operator import ExchangeOperator
from chainops.operators.exchanges.types import VenueOrder

__all__ = ["Reconciler", "ReconciliationMetrics"]

log = logging.getLogger("chainops.exchanges.intents")

_UNSETTLED = (OrderState.PENDING_CREATE, OrderState.UNKNOWN, OrderState.PENDING_CANCEL)
MAX_ORDERS_PER_INTENT = 50  # a venue that keeps dropping an order is failing, not drifting


@dataclass
class ReconciliationMetrics:
    """Counters of the reconciler; lags in seconds."""

    passes: int = 0
    actions: int = 0
    retries: int = 0
    errors: int = 0
    drift_found: int = 0
    drift_repaired: int = 0
    orphans_found: int = 0
    last_lag: float = 0.0
    max_lag: float = 0.0
    converged: bool = False


class Reconciler:
    """One pass at a time over the intents of an operator (the kernel serialises passes)."""

    def __init__(
        self,
        operator: ExchangeOperator,
        records: IntentRecords,
        intents: Mapping[str, OrderIntent],
        policy: OrphanPolicy,
        changed: Callable[[OrderIntent], None],
    ) -> None:
        self.op = operator
        self.records = records
        self.intents = intents
        self.policy = policy
        self.changed = changed
        self.metrics = ReconciliationMetrics()
        self.failures: dict[str, ChainopsError] = {}  # since the last pass: why intents FAILED
        self._drift_since: float | None = None

    # -- helpers -----------------------------------------------------------

    def orders_of(self, intent: OrderIntent) -> list[Order]:
        return [o for cid in intent.orders if (o := self.op.tracker.get(cid)) is not None]

    def filled(self, intent: OrderIntent) -> Decimal:
        return sum((o.filled_base for o in self.orders_of(intent)), Decimal(0))

    def _set(self, intent: OrderIntent, state: IntentState, why: str) -> None:
        if intent.state is state:
            return
        intent.state = state
        intent.reason = why
        intent.note(f"{state.value}: {why}")
        self.records.save(intent)
        self.changed(intent)

    def fail(self, intent: OrderIntent, exc: ChainopsError) -> None:
        """The venue refused what the intent needs: FAILED, and the error kept for the caller."""
        self.failures[intent.intent_id] = exc
        self._set(intent, IntentState.FAILED, f"{type(exc).__name__}: {exc}")

    def _drift(self) -> None:
        self.metrics.drift_found += 1
        if self._drift_since is None:
            self._drift_since = time.monotonic()

    # -- one pass ----------------------------------------------------------

    def _touched(self, orders: set[str]) -> list[OrderIntent]:
        """The intents owning these client ids, with the other legs of their groups."""
        owners = [i for i in self.intents.values() if orders.intersection(i.orders)]
        groups = {i.group_id for i in owners if i.group_id is not None}
        return [i for i in self.intents.values() if i in owners or i.group_id in groups]

    async def run(self, *, scan_venue: bool, orders: set[str] | None = None) -> bool:
        """Reconcile unfinished intents (all, or those of ``orders``); True if converged.

        ``scan_venue`` also compares with the venue's open orders.
        """
        started = self._drift_since or time.monotonic()
        self.metrics.passes += 1
        self.failures.clear()
        settled = True
        if scan_venue:
            settled = await self._scan_venue() and settled
        targets = list(self.intents.values()) if orders is None else self._touched(orders)
        lists: set[str] = set()
        for intent in targets:
            if intent.is_terminal and not any(not o.is_terminal for o in self.orders_of(intent)):
                continue
            if intent.native_leg is not None and intent.group_id is not None:
                if intent.group_id in lists:
                    continue  # the pair was reconciled with its other leg
                lists.add(intent.group_id)
            try:
                settled = await self.reconcile(intent) and settled
            except (RpcTransientError, TimeoutError) as exc:
                self.metrics.errors += 1
                settled = False
                log.info("reconcile of intent %s will be retried: %s", intent.intent_id, exc)
        if orders is not None:
            return settled  # a partial pass says nothing about the other intents
        self.metrics.converged = settled
        if settled:
            lag = time.monotonic() - started
            self.metrics.last_lag = lag
            self.metrics.max_lag = max(self.metrics.max_lag, lag)
            self._drift_since = None
        elif self._drift_since is None:
            self._drift_since = started
        return settled

    def pair(self, intent: OrderIntent) -> tuple[OrderIntent, OrderIntent] | None:
        """The (above, below) legs of a native OCO intent; None for any other intent."""
        if intent.native_leg is None or intent.group_id is None:
            return None
        legs = {i.native_leg: i for i in self.intents.values() if i.group_id == intent.group_id}
        above, below = legs.get("above"), legs.get("below")
        return None if above is None or below is None else (above, below)

    async def reconcile(self, intent: OrderIntent) -> bool:
        """Bring one intent (or its native OCO pair) towards its desired state.

        True when nothing is left to do.
        """
        pair = self.pair(intent)
        if pair is not None:
            return await reconcile_native(self, *pair)
        return await self.reconcile_single(intent)

    async def reconcile_single(self, intent: OrderIntent) -> bool:
        """Reconcile one intent on its own (a plain intent, or an emulated OCO leg)."""
        orders = self.orders_of(intent)
        live = [o for o in orders if not o.is_terminal]
        if len(orders) < len(intent.orders):
            # an id journalled with the intent but unknown to the tracker: ask the venue
            await self._recover_untracked(intent)
            return False
        if intent.is_terminal:
            return await self._cancel_all(live)
        filled = sum((o.filled_base for o in orders), Decimal(0))
        if intent.wanted and self._sibling_filled(intent, filled):
            self._drift()
            intent.wanted = False
            intent.note("the other leg of the group filled")
            self.records.save(intent)
        if intent.wanted and self._sibling_failed(intent):
            intent.wanted = False  # one leg of an OCO is no OCO: the group goes
            intent.reason = "the other leg of the group failed"
            intent.note(intent.reason)
            self.records.save(intent)
        if filled >= intent.amount:
            self._set(intent, IntentState.FILLED, "filled")
            return await self._cancel_all(live)
        if not intent.wanted:
            if live:
                # cancelled at once: go on to the final state in this same call
                return await self._cancel_all(live) and await self.reconcile_single(intent)
            self._set(intent, IntentState.CANCELED, intent.reason or "canceled")
            return True
        for order in live:
            if order.state is OrderState.UNKNOWN:
                await self.op.reconcile(order)  # an unknown outcome: ask by client id first
            elif order.state is OrderState.PENDING_CANCEL:
                await self.op.cancel(order)  # an unanswered cancel may never have arrived: resend
        live = [o for o in live if not o.is_terminal]
        filled = sum((o.filled_base for o in orders), Decimal(0))
        if filled >= intent.amount:
            return False  # the answer filled it: the next call finishes the intent
        if any(o.state in _UNSETTLED for o in live):
            return False  # the venue has not told yet: placing now could double the order
        rule = self.op.rule(intent.trading_pair)
        if live:
            current = live[-1]
            target = intent.amount - filled + current.filled_base
            extra = live[:-1]
            stale = current.price != intent.price or current.stop_price != intent.stop_price
            if stale or current.amount != rule.quantize_amount(target):
                if not extra and await self._cancel_replace(intent, current, filled):
                    return False  # the next pass confirms the replacement
                extra.append(current)
            if extra:
                return await self._cancel_all(extra) and await self.reconcile_single(intent)
            self._set(intent, IntentState.WORKING, "order open on the venue")
            return True
        return await self._replace(intent, orders, filled)

    async def _replace(self, intent: OrderIntent, orders: list[Order], filled: Decimal) -> bool:
        """No live order: place one for what remains, unless the intent is over."""
        last = orders[-1] if orders else None
        if last is not None:
            if last.state is OrderState.FAILED and _failed_reason(last) == "rejected":
                self._set(intent, IntentState.FAILED, f"venue refused {last.client_id}")
                return True
            once = intent.order_type is OrderType.MARKET or intent.time_in_force in (
                TimeInForce.IOC,
                TimeInForce.FOK,
            )
            if once:
                state = IntentState.FILLED if filled > 0 else IntentState.CANCELED
                self._set(intent, state, f"immediate order ended {last.state.value}")
                return True
            if len(orders) >= MAX_ORDERS_PER_INTENT:
                self._set(intent, IntentState.FAILED, "too many replacement orders")
                return True
            if not any(h.state == OrderState.PENDING_CANCEL.value for h in last.history):
                self._drift()  # the venue ended an order nobody asked it to end
        rule = self.op.rule(intent.trading_pair)
        remaining = rule.quantize_amount(intent.amount - filled)
        if remaining < rule.min_amount or remaining <= 0:
            self._set(intent, IntentState.FILLED, "remainder below the venue minimum")
            return True
        client_id = self.op.ids.next()
        intent.orders.append(client_id)
        intent.note(f"placing {client_id} for {remaining}")
        self.records.save(intent)  # journalled before the venue hears of it
        self.metrics.actions += 1
        if last is not None:
            self.metrics.retries += 1
        try:
            order = await self.op.place(
                intent.trading_pair,
                intent.side,
                intent.order_type,
                remaining,
                intent.price,
                time_in_force=intent.time_in_force,
                client_id=client_id,
                stop_price=intent.stop_price,
            )
        except ChainopsError as exc:
            if isinstance(exc, RpcTransientError):
                raise
            self.metrics.errors += 1
            self.fail(intent, exc)
            return True
        if last is not None:
            self.metrics.drift_repaired += 1
        if order.state in (OrderState.OPEN, OrderState.PARTIALLY_FILLED):
            self._set(intent, IntentState.WORKING, "order open on the venue")
        return False  # the next pass confirms what the venue did

    async def _cancel_replace(self, intent: OrderIntent, current: Order, filled: Decimal) -> bool:
        """Replace ``current`` in one venue request where offered; False if not attempted.

        Sized for what remains after every fill known now; a fill that lands
        meanwhile shows in the cancel's reply and the next pass resizes again.
        """
        if Capability.CANCEL_REPLACE not in self.op.capabilities:
            return False
        if current.state not in (OrderState.OPEN, OrderState.PARTIALLY_FILLED):
            return False
        before = current.filled_base
        await self.op.reconcile(current)  # fills the stream has not told yet narrow the race
        if current.state not in (OrderState.OPEN, OrderState.PARTIALLY_FILLED):
            return False
        filled += current.filled_base - before
        rule = self.op.rule(intent.trading_pair)
        remaining = rule.quantize_amount(intent.amount - filled)
        if remaining < rule.min_amount or remaining <= 0:
            return False  # nothing worth replacing: a plain cancel ends the intent
        client_id = self.op.ids.next()
        intent.orders.append(client_id)
        intent.note(f"replacing {current.client_id} by {client_id} for {remaining}")
        self.records.save(intent)  # journalled before the venue hears of it
        self.metrics.actions += 1
        try:
            await self.op.cancel_replace(
                current, remaining, intent.price, client_id=client_id, stop_price=intent.stop_price
            )
        except ChainopsError as exc:
            if isinstance(exc, RpcTransientError):
                raise
            self.metrics.errors += 1
            self.fail(intent, exc)
        return True

    async def _cancel_all(self, orders: list[Order]) -> bool:
        done = True
        for order in orders:
            if order.is_terminal:
                continue
            if order.state in (OrderState.UNKNOWN, OrderState.PENDING_CREATE):
                done = False
                continue  # cancel once the venue told whether it has the order at all
            self.metrics.actions += 1
            await self.op.cancel(order)
            done = done and order.is_terminal
        return done

    def _sibling_filled(self, intent: OrderIntent, filled: Decimal) -> bool:
        """An OCO leg gives way once another leg trades (the earlier leg wins a tie)."""
        if intent.group_id is None:
            return False
        for other in self.intents.values():
            if other.group_id != intent.group_id or other is intent:
                continue
            if self.filled(other) > 0 and (filled == 0 or _before(other, intent, self.intents)):
                return True
        return False

    def _sibling_failed(self, intent: OrderIntent) -> bool:
        """Another leg of the group ended FAILED (the venue refused it)."""
        if intent.group_id is None:
            return False
        return any(
            other.group_id == intent.group_id and other.state is IntentState.FAILED
            for other in self.intents.values()
            if other is not intent
        )

    async def _recover_untracked(self, intent: OrderIntent) -> None:
        """An id journalled before a crash that the order journal lacks: the venue decides."""
        for client_id in intent.orders:
            if self.op.tracker.get(client_id) is not None:
                continue
            stored = self.op.journal.load(client_id, Order)
            if stored is not None:  # finished before the restart: the journal has it
                self.op.tracker.track_loaded(stored)
                continue
            order = self._new_order(client_id, intent)
            self.op.tracker.add(order)
            self.op.tracker.transition(order, OrderState.UNKNOWN, reason="restored without order")
            await self.op.reconcile(order)  # FAILED once its receive window closed unseen

    def _new_order(self, client_id: str, spec: OrderIntent | VenueOrder) -> Order:
        """An order of this operator with ``spec``'s terms (an intent's or the venue's)."""
        return Order(
            client_id=client_id,
            platform=self.op.platform.name,
            owner=self.op.owner,
            trading_pair=spec.trading_pair,
            side=spec.side,
            order_type=spec.order_type,
            amount=spec.amount,
            price=spec.price,
            time_in_force=spec.time_in_force,
            stop_price=spec.stop_price,
        )

    async def _scan_venue(self) -> bool:
        """Compare with the venue's open orders: lost orders, and orders no intent wants."""
        known = {cid for intent in self.intents.values() for cid in intent.orders}
        open_orders = await self.op.open_orders()
        on_venue = {venue_order.client_id for venue_order in open_orders}
        for client_id in known - on_venue:
            order = self.op.tracker.get(client_id)
            if order is not None and order.state in (OrderState.OPEN, OrderState.PARTIALLY_FILLED):
                await self.op.reconcile(order)  # we think it works, the venue does not list it
        settled = True
        for venue_order in open_orders:
            if venue_order.client_id in known:
                continue
            self.metrics.orphans_found += 1
            if self.policy is OrphanPolicy.REPORT:
                continue
            self._drift()
            tracked = self.op.tracker.get(venue_order.client_id)
            if tracked is None:
                tracked = self._new_order(venue_order.client_id, venue_order)
                self.op.tracker.add(tracked)
                self.op.tracker.apply(tracked, venue_order.update)
            if self.policy is OrphanPolicy.CANCEL:
                settled = False
                await self.op.cancel(tracked)
            else:
                adopted = OrderIntent(
                    intent_id=f"adopted-{venue_order.client_id}",
                    trading_pair=venue_order.trading_pair,
                    side=venue_order.side,
                    order_type=venue_order.order_type,
                    amount=venue_order.amount,
                    price=venue_order.price,
                    time_in_force=venue_order.time_in_force,
                    stop_price=venue_order.stop_price,
                    orders=[venue_order.client_id],
                )
                adopted.note("adopted from the venue's open orders")
                self.records.save(adopted)
                assert isinstance(self.intents, dict)
                self.intents[adopted.intent_id] = adopted
                self.changed(adopted)
            self.metrics.drift_repaired += 1
        return settled


def _failed_reason(order: Order) -> str | None:
    return next((h.reason for h in reversed(order.history) if h.state == order.state.value), None)


def _before(a: OrderIntent, b: OrderIntent, intents: Mapping[str, OrderIntent]) -> bool:
    ids = list(intents)
    return ids.index(a.intent_id) < ids.index(b.intent_id)
