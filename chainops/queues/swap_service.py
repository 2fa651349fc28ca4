"""Serving Uniswap swaps over a queue for one EVM account.

The command id is journalled as pending before the swap is sent and mapped
to the swap order's client id once it is; a redelivered command is answered
from the journal (``duplicate=True``), never swapped again. A command taken
just before a crash (still pending) is answered ``UnknownOutcome``: reconcile
it from the account's transactions, do not resend it blindly. The swap's
order is tracked on the operator's bus, so its fill reaches the events stream.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Protocol

from chainops.core.errors import ChainopsError, SlippageExceeded, UnknownOutcome, ValidationError
from chainops.core.order import Order, OrderState
from chainops.operators.dapps.quote import Quote
from chainops.operators.evm import EvmOperator
from chainops.queues.commands import CommandFailed, OrderReply, Swap
from chainops.queues.operator_events import EventForwarder
from chainops.queues.service import CommandServer, amount, journal_key
from chainops.queues.transport import Transport

__all__ = ["SwapService", "Swapper"]

_PENDING = "pending"


class Swapper(Protocol):
    """What the service needs of a DApp operator (UniswapV2, UniswapV3, UniswapMixed)."""

    dex: str

    async def quote_exact_in(self, path: Any, amount_in: Any, **options: Any) -> Quote: ...

    async def swap(self, quote: Quote, *, recipient: str | None = None) -> Order: ...


class SwapService(CommandServer):
    """``Swap`` commands for the DApps of one EVM operator, by their ``dex`` name."""

    def __init__(
        self,
        evm: EvmOperator,
        dexes: Mapping[str, Swapper] | list[Swapper],
        transport: Transport,
        *,
        commands: str,
        events: str,
        name: str = "swaps",
        claim_after: float = 30.0,
        forward_events: bool = True,
    ) -> None:
        super().__init__(
            transport, evm.journal, commands=commands, events=events, name=name,
            claim_after=claim_after,
        )  # fmt: skip
        self.evm = evm
        self.dexes = dict(dexes) if isinstance(dexes, Mapping) else {d.dex: d for d in dexes}
        self.handlers[Swap] = self._swap
        self.forwarder = EventForwarder(evm.events, transport, events) if forward_events else None
        self.swapped = 0

    async def close(self) -> None:
        if self.forwarder is not None:
            await self.forwarder.close()

    async def _swap(self, cmd: Swap) -> None:
        known = self.journal.get_value(journal_key(cmd.id))
        if known is not None:
            await self._repeat(cmd.id, known)
            return
        dex = self.dexes.get(cmd.dex)
        if dex is None:
            raise ValidationError(f"unknown dex {cmd.dex!r} (serving {', '.join(self.dexes)})")
        size = amount(cmd.amount_in, "amount in")
        floor = amount(cmd.min_out, "minimum out")
        quote = await dex.quote_exact_in(cmd.path, size, slippage=cmd.slippage)
        if floor is not None:
            raw = quote.path[-1].to_raw(floor)
            if raw > quote.limit:  # stricter than the slippage: the router enforces it
                quote = dataclasses.replace(quote, limit=raw)
        # Marked before sending: a crash after this point never leads to a second swap.
        self.journal.set_value(journal_key(cmd.id), _PENDING)
        try:
            order = await dex.swap(quote)
        except SlippageExceeded as exc:
            refused = exc.order
            note = str(refused.client_id) if refused is not None else _failed(exc)
            self.journal.set_value(journal_key(cmd.id), note)
            await self.fail(cmd.id, exc)
            return
        except ChainopsError as exc:  # e.g. InsufficientFunds, refused before sending
            self.journal.set_value(journal_key(cmd.id), _failed(exc))
            raise
        self.journal.set_value(journal_key(cmd.id), str(order.client_id))
        self.evm.events.track(order, announce=False)
        self.swapped += 1
        await self.events.publish(OrderReply(command_id=cmd.id, order=order.to_json()))

    async def _repeat(self, command_id: str, known: str) -> None:
        if known == _PENDING:
            raise UnknownOutcome(f"swap {command_id} was taken before a restart: reconcile it")
        if known.startswith("failed:"):
            kind, _, message = known.removeprefix("failed:").partition(":")
            failed = CommandFailed(command_id=command_id, error=kind, message=message)
            await self.events.publish(failed)
            return
        order = self.journal.load(known, Order)
        if order is None:
            raise UnknownOutcome(f"swap {command_id}: its order {known} is not in the journal")
        if order.state is OrderState.FAILED and order.error is not None:
            await self.events.publish(
                CommandFailed(
                    command_id=command_id,
                    error=order.error.kind,
                    message=order.error.message,
                    client_id=known,
                    order=order.to_json(),
                )
            )
            return
        reply = OrderReply(command_id=command_id, order=order.to_json(), duplicate=True)
        await self.events.publish(reply)


def _failed(exc: ChainopsError) -> str:
    return f"failed:{type(exc).__name__}:{exc}"
