"""Commands to an operator and the events it answers with, as queue messages.

A command's ``id`` is its idempotency key: the operator acts on it once and
maps it to the operation's client id in its journal. Amounts travel as
decimal strings, never floats.
"""

from __future__ import annotations

from chainops.queues.message import Message, MessageCodec

__all__ = [
    "COMMANDS",
    "EVENTS",
    "CommandFailed",
    "SendTransaction",
    "TxUpdate",
]


class SendTransaction(Message, frozen=True):
    """Send ``value`` (native units, a decimal string) and optional calldata to ``to``."""

    to: str
    value: str = "0"
    data: str = ""  # 0x-hex calldata


class TxUpdate(Message, frozen=True):
    """Where the transaction a command started stands."""

    command_id: str
    client_id: str
    state: str
    tx_hash: str | None = None
    duplicate: bool = False  # the answer to a redelivered command: nothing was sent again


class CommandFailed(Message, frozen=True):
    """A command the operator refused or that failed, with the typed error's class name."""

    command_id: str
    error: str
    message: str
    client_id: str | None = None


COMMANDS: MessageCodec[SendTransaction] = MessageCodec([SendTransaction])
EVENTS: MessageCodec[TxUpdate | CommandFailed] = MessageCodec([TxUpdate, CommandFailed])
