"""Commands to an operator and the answers it sends back, as queue messages.

A command's ``id`` is its idempotency key: the operator acts on it once and
maps it to the operation's client id in its journal. Amounts and prices
travel as decimal strings, never floats; an order or transaction travels as
its journal JSON, so the strategy side rebuilds the same object.
"""

from __future__ import annotations

from chainops.queues.message import Message, MessageCodec
from chainops.queues.operator_events import (
    BalancesChanged,
    ConnectorStatus,
    OrderEventMessage,
    TxEventMessage,
)

__all__ = [
    "COMMANDS",
    "EVENTS",
    "AmendOrder",
    "BalancesReply",
    "CancelOrder",
    "Command",
    "CommandFailed",
    "CreateOrder",
    "GetBalances",
    "OrderReply",
    "SendTransaction",
    "Swap",
    "TxUpdate",
]


class SendTransaction(Message, frozen=True):
    """Send ``value`` (native units, a decimal string) and optional calldata to ``to``."""

    to: str
    value: str = "0"
    data: str = ""  # 0x-hex calldata


class CreateOrder(Message, frozen=True):
    """Place an order on the operator's exchange (the arguments of ``ExchangeOperator.place``)."""

    trading_pair: str
    side: str  # "BUY" / "SELL" (any case)
    order_type: str  # "LIMIT", "MARKET", "LIMIT_MAKER"
    amount: str
    price: str | None = None
    time_in_force: str | None = None


class CancelOrder(Message, frozen=True):
    """Cancel the order with this client id."""

    client_id: str


class AmendOrder(Message, frozen=True):
    """Move an open order to a new price and/or total amount (cancel, then place the rest).

    The replacement is a new order (new client id) for ``amount`` minus what the
    old one filled; the venue never holds both at once.
    """

    client_id: str
    price: str | None = None
    amount: str | None = None


class Swap(Message, frozen=True):
    """Sell exactly ``amount_in`` of ``path[0]`` for ``path[-1]`` on ``dex``.

    ``min_out`` (human units of ``path[-1]``) replaces the limit the slippage
    gives when it is stricter; the swap is refused in simulation below it.
    """

    dex: str  # "uniswap-v2", "uniswap-v3", ...
    path: list[str]
    amount_in: str
    slippage: str = "0.5%"
    min_out: str | None = None


class GetBalances(Message, frozen=True):
    """Ask for the account's balances (assets filter: all when empty)."""

    assets: tuple[str, ...] = ()


Command = SendTransaction | CreateOrder | CancelOrder | AmendOrder | Swap | GetBalances


class TxUpdate(Message, frozen=True):
    """Where the transaction a command started stands."""

    command_id: str
    client_id: str
    state: str
    tx_hash: str | None = None
    duplicate: bool = False  # the answer to a redelivered command: nothing was sent again


class OrderReply(Message, frozen=True):
    """The order a command created, cancelled or amended, as the operator sees it now."""

    command_id: str
    order: str  # Order.to_json()
    duplicate: bool = False
    replaced: str | None = None  # for an amend: the client id of the order it replaced


class BalancesReply(Message, frozen=True):
    """Free and locked amount per asset (decimal strings)."""

    command_id: str
    balances: dict[str, tuple[str, str]]


class CommandFailed(Message, frozen=True):
    """A command the operator refused or that failed, with the typed error's class name."""

    command_id: str
    error: str
    message: str
    client_id: str | None = None
    code: int | None = None  # the venue's error code, when the venue refused it
    order: str | None = None  # Order.to_json() of a refused order that was journalled


COMMANDS: MessageCodec[Command] = MessageCodec(
    [SendTransaction, CreateOrder, CancelOrder, AmendOrder, Swap, GetBalances]
)
Answer = TxUpdate | OrderReply | BalancesReply | CommandFailed
Event = OrderEventMessage | TxEventMessage | BalancesChanged | ConnectorStatus
EVENTS: MessageCodec[Answer | Event] = MessageCodec(
    [
        TxUpdate,
        OrderReply,
        BalancesReply,
        CommandFailed,
        OrderEventMessage,
        TxEventMessage,
        BalancesChanged,
        ConnectorStatus,
    ]
)
