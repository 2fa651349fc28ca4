"""ExchangeOperator: the venue-neutral half of every exchange adapter.

It owns the order tracker, trading rules and the outcome rules; an adapter
only translates requests and replies. Outcome rules:

* the order is journalled (with its client id) before the venue hears of it;
* a timeout, 5xx or dropped connection makes the order UNKNOWN, never FAILED,
  and a background task reconciles it by client id;
* FAILED only when the venue definitively refuses, or reports the order
  missing after its receive window closed (no delayed copy can arrive then);
  an order cancelled meanwhile ends CANCELED instead, with no venue call;
* fills are keyed by the venue's trade id, so WebSocket and REST reports of
  one trade count once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import abstractmethod
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any, ClassVar

from chainops.core.assets import to_decimal
from chainops.core.bus import EventBus
from chainops.core.errors import (
    ChainopsError,
    RpcTransientError,
    ValidationError,
)
from chainops.core.ids import ClientId, ClientIdGenerator, TradingPair
from chainops.core.journal import Journal, open_journal
from chainops.core.order import (
    Fill,
    Order,
    OrderSide,
    OrderState,
    OrderType,
    OrderUpdate,
    TimeInForce,
)
from chainops.operators.base import Operator
from chainops.operators.exchanges.capabilities import Capability, require
from chainops.operators.exchanges.errors import (
    DEFINITIVE,
    UnknownTradingPair,
    Unsupported,
    VenueNotFound,
)
from chainops.operators.exchanges.linked_orders import (
    ReplaceOutcome,
    cancel_order_list,
    cancel_replace,
    place_oco,
)
from chainops.operators.exchanges.order_lists import OcoLeg, OrderList
from chainops.operators.exchanges.order_terms import check_terms, client_id_or_new
from chainops.operators.exchanges.rules import TradingRule
from chainops.operators.exchanges.tracker import OrderTracker
from chainops.operators.exchanges.types import (
    Balance,
    ConnectionState,
    ExchangeConfiguration,
    TradingFees,
    VenueOrder,
)

__all__ = ["ExchangeOperator"]

log = logging.getLogger("chainops.exchanges")

_WINDOW_MARGIN_MS = 1000  # venues accept requests stamped up to 1 s ahead of their clock
_ACTIVE_EXECUTED = (OrderState.PARTIALLY_FILLED, OrderState.FILLED)


class ExchangeOperator(Operator):
    """Orders on one exchange account. Adapters implement the ``_venue_*`` methods."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    config: ExchangeConfiguration

    def __init__(
        self,
        config: ExchangeConfiguration,
        events: EventBus | None = None,
        journal: Journal | None = None,
    ) -> None:
        super().__init__(config, events)
        path = config.journal_path
        self.journal = journal or open_journal(path)
        self._owns_journal = journal is None
        self.tracker = OrderTracker(self.journal, self.events)
        prefix = config.client_id_prefix
        self.ids = ClientIdGenerator(prefix, last_issued=self.journal.last_client_id(prefix))
        self.rules: dict[TradingPair, TradingRule] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.resync_listeners: list[Callable[[], object]] = []  # told after each resync
        self.order_lists: dict[str, OrderList] = {}  # OCO lists placed here, by client id

    @property
    def owner(self) -> str:
        return f"apikey:{self.config.api_key[:16]}"  # a prefix names the account without the key

    # -- adapter hooks -----------------------------------------------------

    @abstractmethod
    async def _venue_connect(self) -> None:
        """Open sessions and sync the clock."""

    @abstractmethod
    async def _venue_disconnect(self) -> None: ...

    @abstractmethod
    async def _venue_rules(self) -> dict[TradingPair, TradingRule]: ...

    @abstractmethod
    async def _venue_place(self, order: Order, rule: TradingRule) -> OrderUpdate:
        """Send the order; transient failures raise RpcTransientError."""

    @abstractmethod
    async def _venue_cancel(self, order: Order, rule: TradingRule) -> OrderUpdate: ...

    @abstractmethod
    async def _venue_cancel_all(self, rule: TradingRule) -> list[VenueOrder]: ...

    @abstractmethod
    async def _venue_order(self, order: Order, rule: TradingRule) -> VenueOrder | None:
        """The venue's view of ``order`` by client id; None if it says there is none."""

    @abstractmethod
    async def _venue_fills(
        self, order: Order, rule: TradingRule, venue_id: str | None = None
    ) -> tuple[Fill, ...]:
        """Every fill of ``order`` (``venue_id`` when the order does not know its own yet)."""

    @abstractmethod
    async def _venue_open_orders(self, rule: TradingRule | None) -> list[VenueOrder]: ...

    @abstractmethod
    async def _venue_balances(self) -> dict[str, Balance]: ...

    @abstractmethod
    async def _venue_fees(self) -> TradingFees: ...

    async def _venue_user_stream(self) -> None:
        """Start the user-data stream (adapters with USER_STREAM override this)."""

    async def _venue_place_oco(
        self, order_list: OrderList, rule: TradingRule
    ) -> tuple[str | None, tuple[OrderUpdate, OrderUpdate]]:
        """Send an OCO list; the venue's list id and the (above, below) updates."""
        raise Unsupported(f"{self.platform.name} does not support oco")

    async def _venue_cancel_list(
        self, order_list: OrderList, rule: TradingRule
    ) -> tuple[OrderUpdate, OrderUpdate]:
        raise Unsupported(f"{self.platform.name} does not support oco")

    async def _venue_cancel_replace(
        self, order: Order, new: Order, rule: TradingRule
    ) -> ReplaceOutcome:
        """Cancel ``order`` and place ``new`` in one request, placing only if the cancel worked."""
        raise Unsupported(f"{self.platform.name} does not support cancel_replace")

    # -- lifecycle ---------------------------------------------------------

    async def _start(self) -> None:
        await self._venue_connect()
        try:
            self.rules = await self._venue_rules()
            if self.config.user_stream and Capability.USER_STREAM in self.capabilities:
                await self._venue_user_stream()
            await self.restore()
        except BaseException:
            await self._venue_disconnect()  # a failed start leaves no session or socket open
            raise

    async def _close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        await self._venue_disconnect()
        if self._owns_journal:
            self.journal.close()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- rules -------------------------------------------------------------

    def rule(self, trading_pair: TradingPair | str) -> TradingRule:
        """The trading rule of a pair; :class:`UnknownTradingPair` if the venue lists none."""
        pair = TradingPair(trading_pair)
        found = self.rules.get(pair)
        if found is None:
            raise UnknownTradingPair(f"{self.platform.name} does not list {pair}")
        return found

    # -- orders ------------------------------------------------------------

    async def place(
        self,
        trading_pair: TradingPair | str,
        side: OrderSide | str,
        order_type: OrderType | str,
        amount: Decimal | int | str,
        price: Decimal | int | str | None = None,
        *,
        time_in_force: TimeInForce | str | None = None,
        client_id: ClientId | str | None = None,
        stop_price: Decimal | int | str | None = None,
    ) -> Order:
        """Place an order; returns it at once (OPEN, FILLED, … or UNKNOWN while reconciling).

        Local checks (pair, amounts, rules, capabilities) raise a ValidationError
        subclass with nothing sent; a definitive venue refusal marks the order
        FAILED and raises the typed error.
        """
        rule = self.rule(trading_pair)
        kind = OrderType.parse(order_type, "order type")
        order_side = OrderSide.parse(side, "side")
        tif = None if time_in_force is None else TimeInForce.parse(time_in_force, "time in force")
        limit = None if price is None else to_decimal(price, what="order price")
        stop = None if stop_price is None else to_decimal(stop_price, what="stop price")
        check_terms(kind, tif, limit, stop)
        self._check_capabilities(kind, tif)
        order = Order(
            client_id=client_id_or_new(client_id, self.ids),
            platform=self.platform.name,
            owner=self.owner,
            trading_pair=rule.trading_pair,
            side=order_side,
            order_type=kind,
            amount=to_decimal(amount, what="order amount"),
            price=limit,
            time_in_force=tif,
            stop_price=stop,
        )
        rule.check(kind, order.amount, order.price or order.stop_price)
        if order.price is not None and order.stop_price is not None:
            rule.check(kind, order.amount, order.stop_price)
        if self.tracker.get(order.client_id) is not None:
            raise ValidationError(f"client id {order.client_id} is already in use")
        self.tracker.add(order)
        try:
            update = await self._venue_place(order, rule)
        except DEFINITIVE as exc:
            self.tracker.transition(order, OrderState.FAILED, reason="rejected", error=exc)
            raise
        except (RpcTransientError, TimeoutError) as exc:
            if order.state is not OrderState.PENDING_CREATE:
                # the user stream already reported it (OPEN, FILLED, ...): the venue has it
                log.info("reply to %s lost after the venue reported it: %s", order.client_id, exc)
                return order
            self.tracker.transition(order, OrderState.UNKNOWN, reason="no reply", error=exc)
            self._spawn(self._resolve(order))
            return order
        self.tracker.apply(order, update)
        return order

    def _check_capabilities(self, kind: OrderType, tif: TimeInForce | None) -> None:
        venue = self.platform.name
        require(self.capabilities, Capability(kind.value.lower()), venue)
        if tif is TimeInForce.IOC:
            require(self.capabilities, Capability.IOC, venue)
        if tif is TimeInForce.FOK:
            require(self.capabilities, Capability.FOK, venue)

    def _order(self, order: Order | ClientId | str) -> Order:
        if isinstance(order, Order):
            return order
        found = self.tracker.get(order)
        if found is None:
            raise VenueNotFound(f"no tracked order with client id {order}")
        return found

    async def cancel(self, order: Order | ClientId | str) -> Order:
        """Cancel an order; a finished order is returned as it is."""
        target = self._order(order)
        if target.is_terminal:
            return target
        rule = self.rule(target.trading_pair)
        unsent = target.state in (OrderState.UNKNOWN, OrderState.PENDING_CREATE)
        # not journalled: after a crash the venue tells what became of the cancel anyway
        self.tracker.transition(
            target, OrderState.PENDING_CANCEL, reason="cancel requested", persist=False
        )
        try:
            update = await self._venue_cancel(target, rule)
        except VenueNotFound:
            await self.reconcile(target)  # it filled or never existed: ask what it is
            if unsent and target.state is OrderState.PENDING_CANCEL:
                self._spawn(self._resolve(target))  # a delayed copy may still land: watch it
            return target
        except (RpcTransientError, TimeoutError):
            self._spawn(self._resolve(target))
            return target
        if update.state is not None and update.state is not OrderState.CANCELED:
            return await self.reconcile(target)
        fills = await self._venue_fills(target, rule) if self._maybe_filled(target, update) else ()
        self.tracker.apply(target, replace(update, fills=fills))
        return target

    @staticmethod
    def _maybe_filled(order: Order, update: OrderUpdate) -> bool:
        return bool(update.fills) or order.state in _ACTIVE_EXECUTED or bool(order.fills)

    async def cancel_all(self, trading_pair: TradingPair | str) -> list[Order]:
        """Cancel every open order of the pair at the venue; returns the tracked ones."""
        require(self.capabilities, Capability.CANCEL_ALL, self.platform.name)
        rule = self.rule(trading_pair)
        canceled = []
        for venue_order in await self._venue_cancel_all(rule):
            tracked = self.tracker.get(venue_order.client_id)
            if tracked is not None:
                fills: tuple[Fill, ...] = ()
                if venue_order.executed:
                    venue_id = venue_order.update.venue_id
                    fills = await self._venue_fills(tracked, rule, str(venue_id))
                self.tracker.apply(tracked, replace(venue_order.update, fills=fills))
                canceled.append(tracked)
        return canceled

    async def place_oco(
        self,
        trading_pair: TradingPair | str,
        side: OrderSide | str,
        amount: Decimal | int | str,
        above: OcoLeg,
        below: OcoLeg,
        *,
        client_id: str | None = None,
    ) -> OrderList:
        """Place a native OCO list (capability OCO): each leg a tracked Order."""
        return await place_oco(self, trading_pair, side, amount, above, below, client_id=client_id)

    async def cancel_order_list(self, order_list: OrderList | str) -> OrderList:
        """Cancel both legs of an OCO list (by the list or its client id)."""
        if isinstance(order_list, str):
            found = self.order_lists.get(order_list)
            if found is None:
                raise VenueNotFound(f"no tracked order list with client id {order_list}")
            order_list = found
        return await cancel_order_list(self, order_list)

    async def cancel_replace(
        self,
        order: Order | ClientId | str,
        amount: Decimal | int | str,
        price: Decimal | int | str | None,
        *,
        client_id: str | None = None,
        stop_price: Decimal | int | str | None = None,
    ) -> Order:
        """Replace an open order by a new one in one venue request (capability CANCEL_REPLACE).

        Returns the replacement; it is FAILED "not attempted" if the old order
        had filled or ended, in which case the venue placed nothing.
        """
        target = self._order(order)
        return await cancel_replace(
            self, target, amount, price, client_id=client_id, stop_price=stop_price
        )

    async def order_status(self, order: Order | ClientId | str) -> Order:
        """Ask the venue about an order and apply what it says."""
        return await self.reconcile(self._order(order))

    async def open_orders(self, trading_pair: TradingPair | str | None = None) -> list[VenueOrder]:
        """Open orders at the venue (tracked ones are updated on the way)."""
        rule = None if trading_pair is None else self.rule(trading_pair)
        found = await self._venue_open_orders(rule)
        for venue_order in found:
            tracked = self.tracker.get(venue_order.client_id)
            if tracked is not None:
                self.tracker.apply(tracked, venue_order.update)
        return found

    async def balances(self) -> dict[str, Balance]:
        return await self._venue_balances()

    async def fees(self) -> TradingFees:
        return await self._venue_fees()

    def connection_states(self) -> dict[str, ConnectionState]:
        """The venue connections this operator keeps open (streams, WebSocket API), by name;
        an adapter that talks only in requests has none."""
        return {}

    # -- reconciliation ----------------------------------------------------

    async def reconcile(self, order: Order) -> Order:
        """Bring ``order`` up to date from the venue (state and every fill)."""
        rule = self.rule(order.trading_pair)
        venue_order = await self._venue_order(order, rule)
        if venue_order is None:
            if self._window_closed(order) and order.venue_id is None:
                self._never_arrived(order)
            return order
        fills: tuple[Fill, ...] = ()
        if venue_order.executed:
            venue_id = venue_order.update.venue_id
            fills = await self._venue_fills(
                order, rule, None if venue_id is None else str(venue_id)
            )
        self.tracker.apply(order, replace(venue_order.update, fills=fills))
        return order

    def _never_arrived(self, order: Order) -> None:
        """The venue never had ``order`` and no copy can arrive any more: end it locally.

        A cancel asked meanwhile is satisfied (CANCELED); otherwise it FAILED.
        """
        if order.state is OrderState.PENDING_CANCEL:
            self.tracker.transition(order, OrderState.CANCELED, reason="never reached the venue")
            return
        missing = VenueNotFound("the venue has no such order after its receive window")
        self.tracker.transition(order, OrderState.FAILED, reason="not found", error=missing)

    def _window_closed(self, order: Order) -> bool:
        placed_ms = order.created_at.timestamp() * 1000
        window = self.config.recv_window_ms + _WINDOW_MARGIN_MS
        return time.time() * 1000 > placed_ms + window

    async def _resolve(self, order: Order) -> None:
        """Reconcile an UNKNOWN / PENDING_CANCEL order until the venue answers definitively."""
        delay = self.config.reconcile_backoff
        while order.state in (OrderState.UNKNOWN, OrderState.PENDING_CANCEL):
            try:
                await self.reconcile(order)
            except (RpcTransientError, TimeoutError) as exc:
                log.info("reconcile of %s failed, will retry: %s", order.client_id, exc)
            if order.state not in (OrderState.UNKNOWN, OrderState.PENDING_CANCEL):
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def restore(self) -> list[Order]:
        """Reload non-terminal orders from the journal and reconcile each."""
        restored = self.tracker.restore(self.platform.name, self.owner)
        for order in restored:
            if order.state is OrderState.PENDING_CREATE:
                # journalled, then the process stopped: it may or may not have been sent
                self.tracker.transition(order, OrderState.UNKNOWN, reason="restored without reply")
        await self.resync()
        return restored

    async def resync(self) -> None:
        """Reconcile every active order (after a restart or a reconnect)."""
        for order in self.tracker.active():
            try:
                await self.reconcile(order)
            except (RpcTransientError, TimeoutError):
                self._spawn(self._resolve(order))
            if order.state is OrderState.UNKNOWN:
                self._spawn(self._resolve(order))
        for listener in list(self.resync_listeners):
            listener()

    def _on_venue_update(self, client_id: str, update: OrderUpdate) -> None:
        """A pushed report (user stream): apply it to the tracked order, if any."""
        order = self.tracker.get(client_id)
        if order is None:
            return
        try:
            self.tracker.apply(order, update)
        except ChainopsError:
            log.exception("ignored an inconsistent report for %s", client_id)

    async def wait_all(self, orders: Sequence[Order], timeout: float) -> None:
        """Wait until every order is terminal."""
        async with asyncio.timeout(timeout):
            for order in orders:
                await order._wait_for(lambda o: o.is_terminal)
