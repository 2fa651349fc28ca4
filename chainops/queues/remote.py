"""Driving an operator in another process: the operator side and the strategy side.

:class:`OperatorService` consumes commands, acts on each id once (the command
id is journalled next to the client id of the operation it started, before
anything is sent) and publishes :class:`TxUpdate` / :class:`CommandFailed`
events. :class:`OperatorClient` sends commands and turns the answers back
into the transaction's state or the same typed error as in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import chainops.core.errors as core_errors
from chainops.core.errors import ChainopsError, UnknownOutcome, ValidationError
from chainops.core.journal import Journal
from chainops.core.transaction import Transaction
from chainops.queues.actor import Actor, Publisher
from chainops.queues.commands import COMMANDS, EVENTS, CommandFailed, SendTransaction, TxUpdate
from chainops.queues.transport import Transport

__all__ = ["OperatorClient", "OperatorService", "SendsTransactions", "error_from"]

_PENDING = "pending"


class SendsTransactions(Protocol):
    """What the service needs of an operator (an EvmOperator is one)."""

    journal: Journal

    async def send(self, request: Any = None, **fields: Any) -> Transaction: ...


def _key(command_id: str) -> str:
    return f"queue-command:{command_id}"


class OperatorService:
    """Serves one operator: commands from ``commands``, answers to ``events``."""

    def __init__(
        self,
        operator: SendsTransactions,
        transport: Transport,
        *,
        commands: str,
        events: str,
        name: str = "operator",
        confirmations: int | None = 1,
    ) -> None:
        self.operator, self.confirmations = operator, confirmations
        self._events = Publisher(transport, events, EVENTS)
        self.actor = Actor(transport, commands, COMMANDS, self._handle, group=name, name=name)
        self._waits: set[asyncio.Task[None]] = set()
        self.sent = 0

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await self.actor.run(stop=stop, poll=0.2)
        finally:
            for task in self._waits:
                task.cancel()

    async def _handle(self, cmd: SendTransaction) -> None:
        journal = self.operator.journal
        known = journal.get_value(_key(cmd.id))
        if known is not None:
            await self._answer_again(cmd, known)
            return
        try:
            value = _decimal(cmd.value)
            data = bytes.fromhex(cmd.data.removeprefix("0x"))
        except ValueError as exc:
            await self._fail(cmd, ValidationError(f"bad command {cmd.id}: {exc}"))
            return
        # Marked before sending: a crash after this point never leads to a second send.
        journal.set_value(_key(cmd.id), _PENDING)
        try:
            tx = await self.operator.send(to=cmd.to, value=value, data=data)
        except ChainopsError as exc:
            journal.set_value(_key(cmd.id), "failed:" + type(exc).__name__)
            await self._fail(cmd, exc)
            return
        journal.set_value(_key(cmd.id), str(tx.client_id))
        self.sent += 1
        await self._update(cmd, tx)
        task = asyncio.create_task(self._follow(cmd, tx))
        self._waits.add(task)
        task.add_done_callback(self._waits.discard)

    async def _answer_again(self, cmd: SendTransaction, known: str) -> None:
        if known == _PENDING:
            await self._fail(cmd, UnknownOutcome(f"command {cmd.id} was taken before a restart"))
            return
        if known.startswith("failed:"):
            await self._events.publish(
                CommandFailed(command_id=cmd.id, error=known[7:], message="already failed")
            )
            return
        tx = self.operator.journal.load(known, Transaction)
        state = tx.state.name if tx is not None and tx.state is not None else "UNKNOWN"
        tx_hash = str(tx.hash) if tx is not None and tx.hash is not None else None
        await self._events.publish(
            TxUpdate(
                command_id=cmd.id, client_id=known, state=state, tx_hash=tx_hash, duplicate=True
            )
        )

    async def _follow(self, cmd: SendTransaction, tx: Transaction) -> None:
        try:
            await tx.wait(confirmations=self.confirmations)
        except ChainopsError as exc:
            await self._fail(cmd, exc, client_id=str(tx.client_id))
            return
        await self._update(cmd, tx)

    async def _update(self, cmd: SendTransaction, tx: Transaction) -> None:
        await self._events.publish(
            TxUpdate(
                command_id=cmd.id,
                client_id=str(tx.client_id),
                state=tx.state.name if tx.state is not None else "UNKNOWN",
                tx_hash=str(tx.hash) if tx.hash is not None else None,
            )
        )

    async def _fail(
        self, cmd: SendTransaction, exc: ChainopsError, client_id: str | None = None
    ) -> None:
        await self._events.publish(
            CommandFailed(
                command_id=cmd.id, error=type(exc).__name__, message=str(exc), client_id=client_id
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
    cls = getattr(core_errors, failed.error, None)
    if isinstance(cls, type) and issubclass(cls, ChainopsError):
        with contextlib.suppress(TypeError):
            return cls(failed.message)
    return ChainopsError(f"{failed.error}: {failed.message}")


class OperatorClient:
    """The strategy side: publishes commands, collects the answers by command id."""

    def __init__(self, transport: Transport, *, commands: str, events: str, name: str) -> None:
        self._commands = Publisher(transport, commands, COMMANDS)
        self.answers: dict[str, list[TxUpdate | CommandFailed]] = {}
        self._changed = asyncio.Event()
        self.actor = Actor(transport, events, EVENTS, self._collect, group=name, name=name)

    async def _collect(self, message: TxUpdate | CommandFailed) -> None:
        self.answers.setdefault(message.command_id, []).append(message)
        self._changed.set()

    async def run(self, stop: asyncio.Event) -> None:
        await self.actor.run(stop=stop, poll=0.2)

    async def send(self, command: SendTransaction) -> str:
        await self._commands.publish(command)
        return command.id

    async def outcome(self, command_id: str, *, states: frozenset[str]) -> TxUpdate:
        """The first update of ``command_id`` in one of ``states``; raises its typed error."""
        while True:
            for answer in self.answers.get(command_id, []):
                if isinstance(answer, CommandFailed):
                    raise error_from(answer)
                if answer.state in states:
                    return answer
            self._changed.clear()
            await self._changed.wait()
