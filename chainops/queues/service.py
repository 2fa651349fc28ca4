"""The operator side of a command queue: dispatch, typed refusals, dead letters.

:class:`CommandServer` consumes commands as a member of a group, hands each
to the handler registered for its type, and answers on the events stream.
A command it cannot use (undecodable, an unknown or unserved type, fields
that fail validation) goes to the commands' dead letters with the reason,
and the sender gets a :class:`CommandFailed` naming the typed error.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import msgspec

from chainops.core.assets import to_decimal
from chainops.core.errors import ChainopsError, SlippageExceeded, ValidationError
from chainops.core.journal import Journal
from chainops.queues.actor import Actor, Publisher, RetryLater
from chainops.queues.commands import COMMANDS, EVENTS, Command, CommandFailed
from chainops.queues.errors import MalformedCommand, UnsupportedCommand
from chainops.queues.message import Message
from chainops.queues.transport import Delivery, Transport

__all__ = ["CommandServer", "RetryLater", "derived_client_id", "journal_key"]

log = logging.getLogger(__name__)

CommandHandler = Callable[[Any], Awaitable[None]]


def journal_key(command_id: str) -> str:
    """The journal key under which a command's outcome is kept."""
    return f"queue-command:{command_id}"


def derived_client_id(command_id: str) -> str:
    """The client id of the operation a command creates: the same on every redelivery.

    A digest, so any command id maps to a valid 1-36 character client id; the ``q``
    keeps it apart from the ids a ClientIdGenerator issues.
    """
    return "q" + hashlib.blake2b(command_id.encode(), digest_size=15).hexdigest()


def amount(text: str | None, what: str) -> Decimal | None:
    """A decimal string from a command (None stays None); InvalidAmount when it is not one."""
    return None if text is None else to_decimal(text, what=what)


class _AnswerAgain:
    """A seen-store that remembers nothing: the handlers find a command's first outcome in
    the journal and answer a redelivery with it (the sender may have missed the answer)."""

    async def seen(self, message_id: str) -> bool:
        return False

    async def mark(self, message_id: str) -> None:
        return None


class CommandServer:
    """Serves commands from ``commands`` and answers on ``events`` (see the module doc)."""

    def __init__(
        self,
        transport: Transport,
        journal: Journal,
        *,
        commands: str,
        events: str,
        name: str = "operator",
        claim_after: float = 30.0,
    ) -> None:
        self.transport, self.journal, self.commands = transport, journal, commands
        self.events = Publisher(transport, events, EVENTS)
        self.handlers: dict[type[Message], CommandHandler] = {}
        self.actor = Actor(
            transport,
            commands,
            COMMANDS,
            self._dispatch,
            group=name,
            name=name,
            claim_after=claim_after,
            on_dead=self._on_dead,
            seen=_AnswerAgain(),
        )
        self.rejected = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set."""
        await self.actor.run(stop=stop, poll=0.2)

    async def _dispatch(self, command: Command) -> None:
        handler = self.handlers.get(type(command))
        try:
            if handler is None:
                served = ", ".join(sorted(t.__name__ for t in self.handlers))
                raise UnsupportedCommand(
                    f"{type(command).__name__} is not served here (serves {served})"
                )
            await handler(command)
        except ValidationError as exc:
            await self.reject(command, exc)
        except ChainopsError as exc:
            await self.fail(command.id, exc)

    async def reject(self, command: Command, exc: ValidationError) -> None:
        """Dead-letter an unusable command with the reason, and tell the sender."""
        self.rejected += 1
        reason = f"{type(exc).__name__}: {exc}"
        log.warning("command %s rejected: %s", command.id, reason)
        await self.transport.dead_letter(
            self.commands, command.id, COMMANDS.encode(command), reason
        )
        await self.fail(command.id, exc)

    async def fail(self, command_id: str, exc: ChainopsError, client_id: str | None = None) -> None:
        """Answer with the typed error (and the venue's code, and a refused order)."""
        order = exc.order if isinstance(exc, SlippageExceeded) else None
        code = getattr(exc, "code", None)
        await self.events.publish(
            CommandFailed(
                command_id=command_id,
                error=type(exc).__name__,
                message=str(exc),
                client_id=client_id if order is None else str(order.client_id),
                code=code if isinstance(code, int) and not isinstance(code, bool) else None,
                order=None if order is None else order.to_json(),
            )
        )

    async def _on_dead(self, delivery: Delivery, reason: str) -> None:
        # The actor already dead-lettered it; answer the sender when its id can be read.
        try:
            raw = msgspec.msgpack.decode(delivery.data)
        except msgspec.DecodeError:
            return
        command_id = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(command_id, str):
            self.rejected += 1
            await self.fail(command_id, MalformedCommand(reason))
