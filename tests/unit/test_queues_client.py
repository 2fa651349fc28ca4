"""The strategy side of a command queue refuses bad input before publishing anything."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from chainops.core.errors import InvalidAmount, ValidationError
from chainops.queues import MalformedCommand, MemoryTransport
from chainops.queues.commands import CreateOrder, GetBalances, SendTransaction
from chainops.queues.remote import OperatorClient

Call = Callable[[OperatorClient], Awaitable[Any]]

BAD_CALLS: dict[str, tuple[Call, type[Exception]]] = {
    "negative amount": (
        lambda c: c.place("ETH-USDT", "BUY", "LIMIT", -1, "1900"),
        InvalidAmount,
    ),
    "zero amount": (lambda c: c.place("ETH-USDT", "BUY", "LIMIT", 0, "1900"), InvalidAmount),
    "no amount": (
        lambda c: c.place("ETH-USDT", "BUY", "LIMIT", None, "1900"),  # type: ignore[arg-type]
        InvalidAmount,
    ),
    "negative price": (lambda c: c.place("ETH-USDT", "BUY", "LIMIT", "1", "-5"), InvalidAmount),
    "pair not a string": (
        lambda c: c.place(5, "BUY", "LIMIT", "1", "1900"),  # type: ignore[arg-type]
        ValidationError,
    ),
    "blank side": (lambda c: c.place("ETH-USDT", " ", "LIMIT", "1", "1900"), ValidationError),
    "cancel without id": (lambda c: c.cancel(None), ValidationError),  # type: ignore[arg-type]
    "amend of nothing": (lambda c: c.amend("c1"), ValidationError),
    "amend to a zero price": (lambda c: c.amend("c1", price=0), InvalidAmount),
    "swap path as one string": (
        lambda c: c.swap("uniswap-v2", "WETH", "1"),
        ValidationError,
    ),
    "swap path of one token": (lambda c: c.swap("uniswap-v2", ["WETH"], "1"), ValidationError),
    "swap of nothing": (lambda c: c.swap("uniswap-v2", ["WETH", "USDC"], "0"), InvalidAmount),
    "negative minimum out": (
        lambda c: c.swap("uniswap-v2", ["WETH", "USDC"], "1", min_out="-1"),
        InvalidAmount,
    ),
    "asset not a string": (lambda c: c.balances(5), ValidationError),  # type: ignore[arg-type]
    "command with a field of the wrong type": (
        lambda c: c.send(GetBalances(assets=(5,))),  # type: ignore[arg-type]
        MalformedCommand,
    ),
    "request with a field of the wrong type": (
        lambda c: c.request(SendTransaction(to=None)),  # type: ignore[arg-type]
        MalformedCommand,
    ),
    "order with a field of the wrong type": (
        lambda c: c.send(
            CreateOrder(trading_pair="ETH-USDT", side="BUY", order_type="LIMIT", amount=1)  # type: ignore[arg-type]
        ),
        MalformedCommand,
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
async def test_bad_input_is_refused_and_nothing_is_published(case: str) -> None:
    call, error = BAD_CALLS[case]
    transport = MemoryTransport()
    watcher = await transport.consumer("cmd", "operator", "operator")
    client = OperatorClient(transport, commands="cmd", events="evt", name="strategy")
    with pytest.raises(error):
        await asyncio.wait_for(call(client), 1)  # refused at once, not after a wait
    assert await watcher.fetch(timeout=0.01) == []


async def test_an_outcome_can_be_waited_for_with_a_bound() -> None:
    """With no operator serving, an outcome once waited for ever."""
    transport = MemoryTransport()
    client = OperatorClient(transport, commands="cmd", events="evt", name="strategy")
    command_id = await client.send(SendTransaction(to="0x" + "11" * 20, value="0.01"))
    with pytest.raises(TimeoutError):
        await client.outcome(command_id, states=frozenset({"CONFIRMED"}), timeout=0.05)


class _NeverSends:
    """An operator that must not be asked anything."""

    def __init__(self) -> None:
        from chainops.core.journal import open_journal

        self.journal = open_journal(None)
        self.sends = 0

    async def send(self, request: Any = None, **fields: Any) -> Any:
        self.sends += 1
        raise AssertionError("sent")


@pytest.mark.parametrize("confirmations", [-1, "1", 1.5, True])
def test_an_operator_service_checks_its_confirmations_before_serving(
    confirmations: object,
) -> None:
    """A bad depth used to surface only after each transaction had been sent."""
    from chainops.queues.remote import OperatorService

    with pytest.raises(ValidationError, match="confirmations"):
        OperatorService(
            _NeverSends(),
            MemoryTransport(),
            commands="cmd",
            events="evt",
            confirmations=confirmations,  # type: ignore[arg-type]
        )
