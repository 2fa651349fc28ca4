"""Serving an exchange operator over a queue: create, cancel and amend orders, balances.

Each command acts once however often it is delivered:

* a created order's client id is derived from the command id, and the order
  is journalled (by ``ExchangeOperator.place``) before the venue hears of it,
  so a redelivered create finds the order and answers with it
  (``duplicate=True``) instead of placing again;
* an amend is cancel-then-place: the replacement's client id is derived from
  the amend's id and the journal notes that the amend started, so a
  redelivery after a crash between the two finishes the job, never repeats it;
* a cancel is idempotent at the venue, and its journal note marks a repeat;
* an amend whose cancel is unanswered is answered ``UnknownOutcome`` and left
  pending: its redelivery, after the cancel is resolved, finishes it (a second
  answer, an :class:`OrderReply`, follows).
"""

from __future__ import annotations

from collections.abc import Callable

from chainops.core.errors import ChainopsError, UnknownOutcome, ValidationError
from chainops.core.order import Order, OrderState, OrderType
from chainops.operators.exchanges.errors import VenueNotFound
from chainops.operators.exchanges.operator import ExchangeOperator
from chainops.queues.commands import (
    AmendOrder,
    BalancesReply,
    CancelOrder,
    CommandFailed,
    CreateOrder,
    GetBalances,
    OrderReply,
)
from chainops.queues.errors import AmendRefused
from chainops.queues.operator_events import EventForwarder, balances_map
from chainops.queues.service import CommandServer, RetryLater, derived_client_id, journal_key
from chainops.queues.service import amount as parse_amount
from chainops.queues.transport import Transport

__all__ = ["AmendRefused", "ExchangeService", "amend_order"]


class ExchangeService(CommandServer):
    """Commands for one ``ExchangeOperator``; its events go to ``events`` as well."""

    def __init__(
        self,
        operator: ExchangeOperator,
        transport: Transport,
        *,
        commands: str,
        events: str,
        name: str = "exchange",
        claim_after: float = 30.0,
        forward_events: bool = True,
        balances_after_fills: bool = True,
    ) -> None:
        """``balances_after_fills``: read and publish the balances after each fill or finished
        order (one venue request each, merged while they queue up)."""
        super().__init__(
            transport,
            operator.journal,
            commands=commands,
            events=events,
            name=name,
            claim_after=claim_after,
        )
        self.operator = operator
        self.handlers.update(
            {
                CreateOrder: self._create,
                CancelOrder: self._cancel,
                AmendOrder: self._amend,
                GetBalances: self._balances,
            }
        )
        self.forwarder: EventForwarder | None = None
        if forward_events:
            self.forwarder = EventForwarder(
                operator.events,
                transport,
                events,
                balances=operator.balances if balances_after_fills else None,
                platform=operator.platform.name,
            )
        self.placed = 0

    async def close(self) -> None:
        """Publish the events still queued and stop forwarding."""
        if self.forwarder is not None:
            await self.forwarder.close()

    def find(self, client_id: str) -> Order | None:
        """A tracked order, or one the journal holds (finished before a restart)."""
        found = self.operator.tracker.get(client_id)
        if found is None:
            found = self.operator.journal.load(client_id, Order)
        return found

    async def _answer(
        self, command_id: str, order: Order, *, duplicate: bool = False, replaced: str | None = None
    ) -> None:
        reply = OrderReply(
            command_id=command_id, order=order.to_json(), duplicate=duplicate, replaced=replaced
        )
        await self.events.publish(reply)

    async def _create(self, cmd: CreateOrder) -> None:
        client_id = derived_client_id(cmd.id)
        known = self.find(client_id)
        if known is not None:
            await self._repeat(cmd.id, known)
            return
        size = parse_amount(cmd.amount, "order amount")
        price = parse_amount(cmd.price, "order price")
        try:
            order = await self.operator.place(
                cmd.trading_pair,
                cmd.side.upper(),
                cmd.order_type.upper(),
                size if size is not None else 0,
                price,
                time_in_force=None if cmd.time_in_force is None else cmd.time_in_force.upper(),
                client_id=client_id,
            )
        except ValidationError:
            raise
        except ChainopsError as exc:
            await self.fail(cmd.id, exc, client_id=client_id)
            return
        self.placed += 1
        await self._answer(cmd.id, order)

    async def _repeat(self, command_id: str, order: Order, replaced: str | None = None) -> None:
        """Answer a redelivered command from what it did the first time."""
        if order.state is OrderState.FAILED and order.error is not None:
            failed = order.error
            await self.events.publish(
                CommandFailed(
                    command_id=command_id,
                    error=failed.kind,
                    message=failed.message,
                    client_id=str(order.client_id),
                )
            )
            return
        await self._answer(command_id, order, duplicate=True, replaced=replaced)

    async def _cancel(self, cmd: CancelOrder) -> None:
        target = self.find(cmd.client_id)
        if target is None:
            raise VenueNotFound(f"no order with client id {cmd.client_id}")
        key = journal_key(cmd.id)
        repeat = self.journal.get_value(key) is not None
        self.journal.set_value(key, cmd.client_id)
        order = await self.operator.cancel(target)
        await self._answer(cmd.id, order, duplicate=repeat)

    async def _amend(self, cmd: AmendOrder) -> None:
        old = self.find(cmd.client_id)
        if old is None:
            raise VenueNotFound(f"no order with client id {cmd.client_id}")
        new_id = derived_client_id(cmd.id)
        known = self.find(new_id)
        if known is not None:
            await self._repeat(cmd.id, known, replaced=str(old.client_id))
            return
        key = journal_key(cmd.id)
        started = self.journal.get_value(key) is not None
        try:
            order = await amend_order(
                self.operator,
                old,
                price=cmd.price,
                amount=cmd.amount,
                client_id=new_id,
                started=started,
                note=lambda: self.journal.set_value(key, new_id),
            )
        except UnknownOutcome as exc:
            # Told now, and left pending: redelivered once the cancel is resolved, the
            # amend places the remainder (or is refused if the order filled meanwhile).
            await self.fail(cmd.id, exc, client_id=str(old.client_id))
            raise RetryLater(str(exc)) from exc
        self.placed += 1
        await self._answer(cmd.id, order, replaced=str(old.client_id))

    async def _balances(self, cmd: GetBalances) -> None:
        found = await self.operator.balances()
        wanted = {a.upper() for a in cmd.assets}
        chosen = {a: b for a, b in found.items() if not wanted or a.upper() in wanted}
        await self.events.publish(BalancesReply(command_id=cmd.id, balances=balances_map(chosen)))


async def amend_order(
    operator: ExchangeOperator,
    old: Order,
    *,
    price: str | None = None,
    amount: str | None = None,
    client_id: str | None = None,
    started: bool = False,
    note: Callable[[], object] | None = None,
) -> Order:
    """Cancel ``old`` and place its remainder at ``price`` / up to total ``amount``.

    Checked before anything is sent: the new price and amount must be valid
    decimals that pass the pair's trading rule. ``started`` says a previous try
    already cancelled ``old`` (so a cancelled ``old`` is expected); ``note`` is
    called just before the cancel is sent. Raises :class:`AmendRefused` when
    nothing is left to amend, :class:`UnknownOutcome` while the cancel is
    unanswered.
    """
    if old.order_type is OrderType.MARKET:
        raise ValidationError("a MARKET order cannot be amended")
    new_price = parse_amount(price, "order price") if price is not None else old.price
    new_total = parse_amount(amount, "order amount") if amount is not None else old.amount
    assert new_total is not None  # an order always has an amount
    rule = operator.rule(old.trading_pair)
    rule.check(old.order_type, new_total, new_price)
    if old.is_terminal and not (started and old.state is OrderState.CANCELED):
        raise AmendRefused(f"order {old.client_id} is {old.state.name}: nothing to amend")
    if new_total <= old.filled_base:
        raise ValidationError(f"the new amount is not above the {old.filled_base} already filled")
    rule.check(old.order_type, new_total - old.filled_base, new_price)
    if not old.is_terminal:
        if note is not None:
            note()
        await operator.cancel(old)
    if old.state is not OrderState.CANCELED:
        if old.is_terminal:
            raise AmendRefused(f"order {old.client_id} is {old.state.name}: nothing to amend")
        raise UnknownOutcome(f"the cancel of {old.client_id} is unanswered ({old.state.name})")
    remaining = new_total - old.filled_base
    if remaining <= 0:
        raise AmendRefused(f"order {old.client_id} already filled {old.filled_base}")
    return await operator.place(
        old.trading_pair,
        old.side,
        old.order_type,
        remaining,
        new_price,
        time_in_force=old.time_in_force,
        client_id=client_id or operator.ids.next(),
    )
