"""Driving an operator in another process: the EVM operator side and the strategy side.

:class:`OperatorService` serves ``SendTransaction`` for an EVM operator: the
command id is journalled next to the client id of the transaction it started,
before anything is sent, and :class:`TxUpdate` events follow the transaction.
(:class:`~chainops.queues.exchange_service.ExchangeService` serves orders.)
:class:`OperatorClient` sends commands and turns the answers back into the
same results and typed errors as in-process: an ``Order``, balances, or
``VenueRejected``, ``InsufficientFunds``, ``ValidationError``...
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar

from chainops.core.assets import to_decimal
from chainops.core.attempt import check_uint
from chainops.core.errors import ChainopsError, InvalidAmount, UnknownOutcome, ValidationError
from chainops.core.journal import Journal
from chainops.core.order import Order
from chainops.core.transaction import Transaction
from chainops.operators.exchanges.types import Balance
from chainops.queues.actor import Actor, Publisher
from chainops.queues.commands import (
    COMMANDS,
    EVENTS,
    AmendOrder,
    Answer,
    BalancesReply,
    CancelOrder,
    Command,
    CommandFailed,
    CreateOrder,
    Event,
    GetBalances,
    OrderReply,
    SendTransaction,
    Swap,
    TxUpdate,
)
from chainops.queues.errors import MalformedCommand, MalformedMessage
from chainops.queues.service import CommandServer, journal_key
from chainops.queues.transport import Transport
from chainops.queues.wire_errors import rebuild_error

__all__ = ["OperatorClient", "OperatorService", "SendsTransactions", "error_from"]

_PENDING = "pending"
E = TypeVar("E", bound=Event)


class SendsTransactions(Protocol):
    """What the service needs of an operator (an EvmOperator is one)."""

    journal: Journal

    async def send(self, request: Any = None, **fields: Any) -> Transaction: ...


class OperatorService(CommandServer):
    """Serves ``SendTransaction`` for one EVM operator: commands in, answers out."""

    def __init__(
        self,
        operator: SendsTransactions,
        transport: Transport,
        *,
        commands: str,
        events: str,
        name: str = "operator",
        confirmations: int | None = 1,
        claim_after: float = 30.0,
    ) -> None:
        super().__init__(
            transport,
            operator.journal,
            commands=commands,
            events=events,
            name=name,
            claim_after=claim_after,
        )
        if confirmations is not None:  # checked now, not after the first send
            check_uint(confirmations, "confirmations")
        self.operator, self.confirmations = operator, confirmations
        self.handlers[SendTransaction] = self._send
        self._waits: set[asyncio.Task[None]] = set()
        self.sent = 0

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await super().run(stop)
        finally:
            for task in self._waits:
                task.cancel()

    async def _send(self, cmd: SendTransaction) -> None:
        journal = self.journal
        known = journal.get_value(journal_key(cmd.id))
        if known is not None:
            await self._answer_again(cmd, known)
            return
        try:
            value = _decimal(cmd.value)
            data = bytes.fromhex(cmd.data.removeprefix("0x"))
        except ValueError as exc:
            raise ValidationError(f"bad command {cmd.id}: {exc}") from None
        # Marked before sending: a crash after this point never leads to a second send.
        journal.set_value(journal_key(cmd.id), _PENDING)
        try:
            tx = await self.operator.send(to=cmd.to, value=value, data=data)
        except ChainopsError as exc:
            journal.set_value(journal_key(cmd.id), "failed:" + type(exc).__name__)
            await self.fail(cmd.id, exc)
            return
        journal.set_value(journal_key(cmd.id), str(tx.client_id))
        self.sent += 1
        await self._update(cmd, tx)
        task = asyncio.create_task(self._follow(cmd, tx))
        self._waits.add(task)
        task.add_done_callback(self._waits.discard)

    async def _answer_again(self, cmd: SendTransaction, known: str) -> None:
        if known == _PENDING:
            await self.fail(cmd.id, UnknownOutcome(f"command {cmd.id} was taken before a restart"))
            return
        if known.startswith("failed:"):
            await self.events.publish(
                CommandFailed(command_id=cmd.id, error=known[7:], message="already failed")
            )
            return
        tx = self.journal.load(known, Transaction)
        state = tx.state.name if tx is not None and tx.state is not None else "UNKNOWN"
        tx_hash = str(tx.hash) if tx is not None and tx.hash is not None else None
        await self.events.publish(
            TxUpdate(
                command_id=cmd.id, client_id=known, state=state, tx_hash=tx_hash, duplicate=True
            )
        )

    async def _follow(self, cmd: SendTransaction, tx: Transaction) -> None:
        try:
            await tx.wait(confirmations=self.confirmations)
        except ChainopsError as exc:
            await self.fail(cmd.id, exc, client_id=str(tx.client_id))
            return
        await self._update(cmd, tx)

    async def _update(self, cmd: SendTransaction, tx: Transaction) -> None:
        await self.events.publish(
            TxUpdate(
                command_id=cmd.id,
                client_id=str(tx.client_id),
                state=tx.state.name if tx.state is not None else "UNKNOWN",
                tx_hash=str(tx.hash) if tx.hash is not None else None,
            )
        )


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"value {text!r} is not a decimal number") from exc
    if not value.is_finite() or value < 0:
        raise ValueError(f"value {text!r} must be a finite, non-negative amount")
    return value


def error_from(failed: CommandFailed) -> ChainopsError:
    """The typed error a :class:`CommandFailed` names (ChainopsError when it is not ours)."""
    order = None if failed.order is None else Order.from_json(failed.order)
    return rebuild_error(failed.error, failed.message, failed.code, order=order)


def _text(value: Decimal | int | str | None, what: str, *, zero: bool = False) -> str | None:
    """A positive (or, with ``zero``, non-negative) decimal string; None stays None.

    Checked here too, so bad input fails before anything is published.
    """
    if value is None:
        return None
    number = to_decimal(value, what=what)
    if number < 0 or (number == 0 and not zero):
        raise InvalidAmount(f"{what} must be {'>= 0' if zero else '> 0'}, got {value!r}")
    return str(number)


def _amount(value: Decimal | int | str, what: str) -> str:
    if value is None:
        raise InvalidAmount(f"{what} is required")
    return _text(value, what) or ""


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{what} must be a non-empty string, got {value!r}")
    return str(value)


class OperatorClient:
    """The strategy side: publishes commands, collects answers by command id and events."""

    def __init__(
        self,
        transport: Transport,
        *,
        commands: str,
        events: str,
        name: str,
        claim_after: float = 30.0,
        keep: int = 10_000,
    ) -> None:
        """``keep``: how many commands' answers and how many events are remembered."""
        self._commands = Publisher(transport, commands, COMMANDS)
        self.answers: OrderedDict[str, list[Answer]] = OrderedDict()
        self.received: deque[Event] = deque(maxlen=keep)  # the operator's events, oldest first
        self._keep = keep
        self._changed = asyncio.Event()
        self.actor = Actor(
            transport, events, EVENTS, self._collect, group=name, name=name, claim_after=claim_after
        )

    async def _collect(self, message: Answer | Event) -> None:
        command_id = getattr(message, "command_id", None)
        if isinstance(command_id, str):
            self.answers.setdefault(command_id, []).append(message)  # type: ignore[arg-type]
            if len(self.answers) > self._keep:  # a long-running strategy must not grow for ever
                self.answers.popitem(last=False)
        else:
            self.received.append(message)  # type: ignore[arg-type]
        self._changed.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Listen for answers and events until ``stop`` is set."""
        await self.actor.run(stop=stop, poll=0.2)

    async def send(self, command: Command) -> str:
        """Publish ``command``; returns its id (the answers are collected by it).

        A command whose fields do not have their declared types raises
        :class:`MalformedCommand` here, before it is published.
        """
        try:
            await self._commands.publish(command, check=True)
        except (MalformedMessage, TypeError) as exc:
            raise MalformedCommand(f"{type(command).__name__} not sent: {exc}") from None
        return command.id

    async def wait_until(self, found: Callable[[], Any], *, timeout: float | None = 30.0) -> Any:
        """Re-evaluate ``found()`` on every answer or event until it is not None; return it."""
        async with asyncio.timeout(timeout):
            while True:
                value = found()
                if value is not None:
                    return value
                self._changed.clear()
                await self._changed.wait()

    async def outcome(
        self, command_id: str, *, states: frozenset[str], timeout: float | None = None
    ) -> TxUpdate:
        """The first update of ``command_id`` in one of ``states``; raises its typed error.

        Waits for ever by default (a confirmation can take long); with ``timeout``
        seconds, TimeoutError when no such update came in time.
        """

        def find() -> TxUpdate | None:
            for answer in self.answers.get(command_id, []):
                if isinstance(answer, CommandFailed):
                    raise error_from(answer)
                if isinstance(answer, TxUpdate) and answer.state in states:
                    return answer
            return None

        found: TxUpdate = await self.wait_until(find, timeout=timeout)
        return found

    async def request(self, command: Command, *, timeout: float | None = 30.0) -> Answer:
        """Send ``command`` and wait for its answer; a refusal raises its typed error."""
        await self.send(command)
        return await self.answer(command.id, timeout=timeout)

    async def answer(self, command_id: str, *, timeout: float | None = 30.0) -> Answer:
        """The first answer to ``command_id``; a :class:`CommandFailed` raises its typed error."""

        def first() -> Answer | None:
            got = self.answers.get(command_id)
            return got[0] if got else None

        found: Answer = await self.wait_until(first, timeout=timeout)
        if isinstance(found, CommandFailed):
            raise error_from(found)
        return found

    async def wait_answer(
        self, command_id: str, match: Callable[[Answer], bool], *, timeout: float | None = 30.0
    ) -> Answer:
        """The first answer to ``command_id`` for which ``match`` is true (no error raised)."""

        def find() -> Answer | None:
            return next((a for a in self.answers.get(command_id, []) if match(a)), None)

        found: Answer = await self.wait_until(find, timeout=timeout)
        return found

    async def _order(self, command: Command, timeout: float | None) -> Order:
        reply = await self.request(command, timeout=timeout)
        if not isinstance(reply, OrderReply):
            raise ChainopsError(f"expected an order in answer to {command.id}, got {reply!r}")
        return Order.from_json(reply.order)

    async def place(
        self,
        trading_pair: str,
        side: str,
        order_type: str,
        amount: Decimal | int | str,
        price: Decimal | int | str | None = None,
        *,
        time_in_force: str | None = None,
        timeout: float | None = 30.0,
    ) -> Order:
        """``ExchangeOperator.place`` in the operator's process; the Order as it stood then."""
        command = CreateOrder(
            trading_pair=_name(trading_pair, "trading pair"),
            side=_name(str(side), "side"),
            order_type=_name(str(order_type), "order type"),
            amount=_amount(amount, "order amount"),
            price=_text(price, "order price"),
            time_in_force=time_in_force,
        )
        return await self._order(command, timeout)

    async def cancel(self, client_id: str, *, timeout: float | None = 30.0) -> Order:
        """Cancel the order with ``client_id``; the Order after the venue answered."""
        return await self._order(CancelOrder(client_id=_name(client_id, "client id")), timeout)

    async def amend(
        self,
        client_id: str,
        *,
        price: Decimal | int | str | None = None,
        amount: Decimal | int | str | None = None,
        timeout: float | None = 30.0,
    ) -> Order:
        """Replace an open order by one at ``price`` for up to ``amount`` in total."""
        if price is None and amount is None:
            raise ValidationError("an amend needs a new price, a new amount or both")
        command = AmendOrder(
            client_id=_name(client_id, "client id"),
            price=_text(price, "order price"),
            amount=_text(amount, "order amount"),
        )
        return await self._order(command, timeout)

    async def swap(
        self,
        dex: str,
        path: Iterable[str],
        amount_in: Decimal | int | str,
        *,
        slippage: str = "0.5%",
        min_out: Decimal | int | str | None = None,
        timeout: float | None = 60.0,
    ) -> Order:
        """Swap exactly ``amount_in`` along ``path`` on ``dex``; the swap's Order (OPEN)."""
        if isinstance(path, str):
            raise ValidationError(f"a swap path is a list of tokens, got the string {path!r}")
        hops = [_name(token, "a token of the swap path") for token in path]
        if len(hops) < 2:
            raise ValidationError(f"a swap path names at least two tokens, got {hops!r}")
        command = Swap(
            dex=_name(dex, "dex"),
            path=hops,
            amount_in=_amount(amount_in, "amount in"),
            slippage=_name(slippage, "slippage"),
            min_out=_text(min_out, "minimum out", zero=True),
        )
        return await self._order(command, timeout)

    async def balances(self, *assets: str, timeout: float | None = 30.0) -> dict[str, Balance]:
        """The account's balances (only ``assets`` when given)."""
        wanted = tuple(_name(asset, "asset") for asset in assets)
        reply = await self.request(GetBalances(assets=wanted), timeout=timeout)
        if not isinstance(reply, BalancesReply):
            raise ChainopsError(f"expected balances, got {reply!r}")
        return {
            a: Balance(a, Decimal(free), Decimal(locked))
            for a, (free, locked) in reply.balances.items()
        }

    async def wait_event(
        self, kind: type[E], match: Callable[[E], bool], *, timeout: float | None = 30.0
    ) -> E:
        """The first received event of ``kind`` for which ``match`` is true."""

        def find() -> E | None:
            return next((e for e in self.received if isinstance(e, kind) and match(e)), None)

        found: E = await self.wait_until(find, timeout=timeout)
        return found
