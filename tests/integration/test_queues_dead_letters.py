"""Malformed and refused commands: dead-lettered with the reason, the sender gets the typed
error, nothing reaches the venue, and the operator goes on serving (on each backend)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cex_helpers import ETH, adapter, venue

from chainops.core.errors import InvalidAmount, ValidationError
from chainops.core.order import OrderState
from chainops.devnet.exchange import ExchangeSimulator
from chainops.operators.exchanges.errors import RuleViolation, UnknownTradingPair, VenueNotFound
from chainops.queues import Transport
from chainops.queues.commands import (
    AmendOrder,
    CancelOrder,
    Command,
    CreateOrder,
    SendTransaction,
    Swap,
)
from chainops.queues.errors import MalformedCommand, UnsupportedCommand
from chainops.queues.exchange_service import ExchangeService
from chainops.queues.remote import OperatorClient
from tests.integration.queue_helpers import connect_or_skip, unique

BACKENDS = ["memory", "redis", "nats"]


@dataclass
class Rig:
    transport: Transport
    sim: ExchangeSimulator
    client: OperatorClient
    service: ExchangeService
    cmds: str

    async def raw(self, fields: dict[str, Any]) -> str:
        """Publish a hand-made command (what a buggy or foreign sender could put on the queue)."""
        await self.transport.publish(self.cmds, fields["id"], msgspec.msgpack.encode(fields))
        return str(fields["id"])

    async def refused(self, command: Command) -> BaseException:
        await self.client.send(command)
        try:
            await self.client.answer(command.id, timeout=20)
        except Exception as exc:
            return exc
        raise AssertionError(f"{command!r} was not refused")

    async def reason(self, message_id: str) -> str:
        for _ in range(100):
            for dead in await self.transport.dead_letters(self.cmds):
                if dead.message_id == message_id:
                    return dead.reason
            await asyncio.sleep(0.05)
        raise AssertionError(f"{message_id} is not among the dead letters")


@asynccontextmanager
async def rig(backend: str, tmp_path: Path) -> AsyncIterator[Rig]:
    transport = await connect_or_skip(backend)
    cmds, evts = unique("dl.cmd"), unique("dl.evt")
    client = OperatorClient(transport, commands=cmds, events=evts, name="strategy")
    stop = asyncio.Event()
    try:
        journal = str(tmp_path / "j.sqlite")
        async with (
            venue() as (sim, account, _),
            adapter(sim, account, journal_path=journal) as op,
        ):
            service = ExchangeService(op, transport, commands=cmds, events=evts)
            tasks = [asyncio.create_task(x.run(stop)) for x in (service, client)]
            try:
                yield Rig(transport, sim, client, service, cmds)
            finally:
                stop.set()
                await asyncio.gather(*tasks)
                await service.close()
    finally:
        await transport.close()


def order(**fields: Any) -> CreateOrder:
    base = {"trading_pair": ETH, "side": "BUY", "order_type": "LIMIT", "amount": "0.01"}
    return CreateOrder(**(base | {"price": "1900"} | fields))


@pytest.mark.parametrize("backend", BACKENDS)
async def test_unknown_command_type(backend: str, tmp_path: Path) -> None:
    async with rig(backend, tmp_path) as r:
        sent = await r.raw({"type": "WithdrawEverything", "id": "w-1", "to": "0xabc"})
        with pytest.raises(MalformedCommand, match="WithdrawEverything"):
            await r.client.answer(sent, timeout=20)
        assert "WithdrawEverything" in await r.reason(sent)
        assert r.sim.order_requests == {}


@pytest.mark.parametrize("backend", BACKENDS)
async def test_undecodable_bytes_are_dead_lettered_and_the_service_goes_on(
    backend: str, tmp_path: Path
) -> None:
    async with rig(backend, tmp_path) as r:
        await r.transport.publish(r.cmds, "junk-1", b"\xc1 not msgpack")
        assert "malformed" in await r.reason("junk-1")
        placed = await r.client.place(ETH, "BUY", "LIMIT", "0.01", "1900")
        assert placed.state is OrderState.OPEN


@pytest.mark.parametrize("backend", BACKENDS)
async def test_create_order_with_a_field_of_the_wrong_type(backend: str, tmp_path: Path) -> None:
    async with rig(backend, tmp_path) as r:
        fields = msgspec.to_builtins(order()) | {"amount": 5}  # a number, not a decimal string
        sent = await r.raw(fields)
        with pytest.raises(MalformedCommand, match=r"amount"):
            await r.client.answer(sent, timeout=20)
        assert "Expected `str`" in await r.reason(sent)
        assert r.sim.order_requests == {}


@pytest.mark.parametrize("backend", BACKENDS)
async def test_cancel_order_without_its_client_id(backend: str, tmp_path: Path) -> None:
    async with rig(backend, tmp_path) as r:
        sent = await r.raw({"type": "CancelOrder", "id": "c-1"})
        with pytest.raises(MalformedCommand, match="client_id"):
            await r.client.answer(sent, timeout=20)
        assert "client_id" in await r.reason(sent)


@pytest.mark.parametrize(
    ("command", "error", "words"),
    [
        (order(amount="lots"), InvalidAmount, "order amount"),
        (order(price="-3"), InvalidAmount, "order price"),
        (order(side="sideways"), ValidationError, "SIDEWAYS"),
        (order(order_type="STOP_LOSS_LIMIT"), ValidationError, "STOP_LOSS_LIMIT"),
        (order(trading_pair="DOGE-USDT"), UnknownTradingPair, "DOGE-USDT"),
        (order(amount="0.00001"), RuleViolation, "below the minimum"),
        (order(price="1900.001"), RuleViolation, "tick"),
        (AmendOrder(client_id="x", price="1901"), None, "no order"),
        (Swap(dex="uniswap-v2", path=["WETH", "USDC"], amount_in="1"), UnsupportedCommand, "Swap"),
        (SendTransaction(to="0x" + "11" * 20, value="1"), UnsupportedCommand, "SendTransaction"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, msgspec.Struct) else None,
)
@pytest.mark.parametrize("backend", BACKENDS)
async def test_bad_fields_are_typed_errors_and_dead_letters(
    backend: str, tmp_path: Path, command: Command, error: type[Exception] | None, words: str
) -> None:
    async with rig(backend, tmp_path) as r:
        exc = await r.refused(command)
        if error is None:  # an amend of an order nobody knows: refused, not malformed
            assert isinstance(exc, VenueNotFound) and words in str(exc)
            assert await r.transport.dead_letters(r.cmds) == []
            return
        assert isinstance(exc, error), exc
        assert words in str(exc)
        reason = await r.reason(command.id)
        assert reason.startswith(type(exc).__name__) and words in reason
        assert r.sim.order_requests == {}


@pytest.mark.parametrize("backend", ["memory"])
async def test_amend_with_a_bad_price_leaves_the_order_alone(backend: str, tmp_path: Path) -> None:
    async with rig(backend, tmp_path) as r:
        resting = await r.client.place(ETH, "BUY", "LIMIT", "0.01", "1900")
        for price, error in (("abc", InvalidAmount), ("1900.005", RuleViolation)):
            exc = await r.refused(AmendOrder(client_id=str(resting.client_id), price=price))
            assert isinstance(exc, error)
        unknown = await r.refused(CancelOrder(client_id="never-placed"))
        assert isinstance(unknown, VenueNotFound)
        still = r.service.find(str(resting.client_id))
        assert still is not None and still.state is OrderState.OPEN
        assert r.sim.order_requests == {str(resting.client_id): 1}
        with pytest.raises(InvalidAmount):  # refused before anything is published
            await r.client.place(ETH, "BUY", "LIMIT", "lots", "1900")
