"""A strategy drives a Binance adapter (on the exchange simulator) through a queue.

On Redis and NATS the operator runs in its own process; on the asyncio queue
(one process by nature) it runs as a task next to the strategy. The strategy
gets Orders, balances and typed errors back as in-process, and the operator's
order and fill events; a redelivered command never reaches the venue twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import pytest
from cex_helpers import AMOUNT, ETH, adapter, venue
from hypothesis import given, settings
from hypothesis import strategies as st

from chainops.core.errors import UnknownOutcome, ValidationError
from chainops.core.order import Order, OrderState
from chainops.devnet.exchange import ExchangeSimulator
from chainops.devnet.exchange.accounts import Account
from chainops.operators.exchanges.errors import RuleViolation, VenueInsufficientFunds
from chainops.queues import Transport
from chainops.queues.commands import COMMANDS, AmendOrder, CreateOrder, OrderReply
from chainops.queues.exchange_service import AmendRefused, ExchangeService
from chainops.queues.operator_events import BalancesChanged, OrderEventMessage
from chainops.queues.remote import OperatorClient
from chainops.queues.service import derived_client_id
from tests.integration.queue_helpers import URLS, connect_or_skip, unique

CHILD = Path(__file__).with_name("queue_exchange_child.py")
ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def operator_process(
    backend: str, sim: ExchangeSimulator, account: Account, journal: Path, cmds: str, evts: str,
    *, die_after: int = 0,
) -> AsyncIterator[asyncio.subprocess.Process]:  # fmt: skip
    args = (URLS[backend], sim.url, account.api_key, account.secret, str(journal), cmds, evts)
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, str(CHILD), *args, str(die_after)),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        assert (await asyncio.wait_for(proc.stdout.readline(), 60)).startswith(b"ready")
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
        await proc.wait()


@asynccontextmanager
async def operator_side(
    backend: str, transport: Transport, sim: ExchangeSimulator, account: Account, journal: Path,
    cmds: str, evts: str,
) -> AsyncIterator[None]:  # fmt: skip
    """The operator in a child process, or in this one for the asyncio queue."""
    if backend != "memory":
        async with operator_process(backend, sim, account, journal, cmds, evts):
            yield
        return
    async with adapter(sim, account, journal_path=str(journal)) as op:
        service = ExchangeService(op, transport, commands=cmds, events=evts)
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        try:
            yield
        finally:
            stop.set()
            await task
            await service.close()


@asynccontextmanager
async def strategy(transport: Transport, cmds: str, evts: str) -> AsyncIterator[OperatorClient]:
    client = OperatorClient(transport, commands=cmds, events=evts, name="strategy")
    stop = asyncio.Event()
    listening = asyncio.create_task(client.run(stop))
    try:
        yield client
    finally:
        stop.set()
        await listening


def is_event(kind: str, client_id: str):  # type: ignore[no-untyped-def]
    return lambda e: e.event == kind and e.client_id == client_id


@pytest.mark.parametrize("backend", ["memory", "redis", "nats"])
async def test_strategy_places_amends_cancels_through_the_queue(
    backend: str, tmp_path: Path
) -> None:
    transport = await connect_or_skip(backend)
    cmds, evts = unique("ex.cmd"), unique("ex.evt")
    try:
        async with (
            venue() as (sim, account, _),
            strategy(transport, cmds, evts) as client,
            operator_side(backend, transport, sim, account, tmp_path / "j.sqlite", cmds, evts),
        ):
            resting = await client.place(ETH, "BUY", "LIMIT", AMOUNT, "1900")
            assert resting.state is OrderState.OPEN and resting.price == Decimal("1900")
            market = await client.place(ETH, "buy", "market", AMOUNT)
            assert market.state is OrderState.FILLED and market.filled_base == AMOUNT
            fill = await client.wait_event(
                OrderEventMessage, is_event("OrderFilled", market.client_id)
            )
            assert fill.to_fill() in market.fills.values()

            moved = await client.amend(resting.client_id, price="1901.5", amount="0.02")
            assert (moved.price, moved.amount, moved.state) == (
                Decimal("1901.5"), Decimal("0.02"), OrderState.OPEN,
            )  # fmt: skip
            await client.wait_event(OrderEventMessage, is_event("OrderCanceled", resting.client_id))
            with pytest.raises(AmendRefused, match="CANCELED"):
                await client.amend(resting.client_id, price="1902")
            gone = await client.cancel(moved.client_id)
            assert gone.state is OrderState.CANCELED

            with pytest.raises(RuleViolation):
                await client.place(ETH, "BUY", "LIMIT", "0.00001", "1900")
            with pytest.raises(VenueInsufficientFunds) as refused:
                await client.place(ETH, "BUY", "LIMIT", "60", "1999")
            assert refused.value.code == -2010

            remote = await client.balances("ETH", "USDT")
            held = account.balances
            assert {a: (b.free, b.locked) for a, b in remote.items()} == {
                a: (held[a].free, held[a].locked) for a in ("ETH", "USDT")
            }
            await client.wait_event(BalancesChanged, lambda e: "ETH" in e.balances)

            # The market order's command delivered again (a publisher retry): answered, not acted.
            again = CreateOrder(trading_pair=ETH, side="BUY", order_type="MARKET", amount="0.01")
            first = await client.request(again)
            assert isinstance(first, OrderReply) and not first.duplicate
            await transport.publish(cmds, again.id + "-retry", COMMANDS.encode(again))
            dup = await client.wait_answer(again.id, lambda a: getattr(a, "duplicate", False))
            assert reply_client_id(dup) == reply_client_id(first)
            assert sim.order_requests[reply_client_id(first)] == 1
            assert sim.order_requests[market.client_id] == 1
    finally:
        await transport.close()


def reply_client_id(reply: object) -> str:
    assert isinstance(reply, OrderReply), reply
    return str(Order.from_json(reply.order).client_id)


@pytest.mark.parametrize("backend", ["redis", "nats"])
async def test_operator_killed_with_commands_pending(backend: str, tmp_path: Path) -> None:
    """The operator acts on 3 of 6 commands and dies before acking any: a restarted peer
    answers all 6, and the venue saw each order exactly once."""
    transport = await connect_or_skip(backend)
    cmds, evts = unique("ex.kill.cmd"), unique("ex.kill.evt")
    journal = tmp_path / "j.sqlite"
    commands = [
        CreateOrder(trading_pair=ETH, side="BUY", order_type="LIMIT", amount="0.01",
                    price=str(1900 + i))
        for i in range(6)
    ]  # fmt: skip
    try:
        async with venue() as (sim, account, _), strategy(transport, cmds, evts) as client:
            for cmd in commands:  # queued first, so the operator takes all six in one batch
                await client.send(cmd)
            async with operator_process(
                backend, sim, account, journal, cmds, evts, die_after=3
            ) as doomed:
                assert doomed.stdout is not None
                line = await asyncio.wait_for(doomed.stdout.readline(), 30)
                assert line.startswith(b"acted 3"), line
                await asyncio.wait_for(doomed.wait(), 10)
                assert doomed.returncode == -signal.SIGKILL
            async with operator_process(backend, sim, account, journal, cmds, evts):
                answers = [await asyncio.wait_for(client.answer(c.id), 30) for c in commands]
                for c in commands[:3]:  # acted on before the kill: answered again, not placed
                    await client.wait_answer(c.id, lambda a: getattr(a, "duplicate", False))
            placed = [derived_client_id(c.id) for c in commands]
            assert [reply_client_id(a) for a in answers if isinstance(a, OrderReply)] == placed
            assert [sim.order_requests.get(cid) for cid in placed] == [1] * 6
            orders = [Order.from_json(a.order) for a in answers if isinstance(a, OrderReply)]
            assert {o.state for o in orders} == {OrderState.OPEN}
    finally:
        await transport.close()


async def test_amend_of_a_partly_filled_order_places_the_remainder(tmp_path: Path) -> None:
    transport = await connect_or_skip("memory")
    cmds, evts = unique("ex.cmd"), unique("ex.evt")
    async with (
        venue() as (sim, account, _),
        strategy(transport, cmds, evts) as client,
        operator_side("memory", transport, sim, account, tmp_path / "j.sqlite", cmds, evts),
    ):
        top = sim.book("ETHUSDT").top("SELL")
        assert top is not None
        ask, available = top
        # Takes the whole best ask level, and rests the rest as the best bid.
        bought = await client.place(ETH, "BUY", "LIMIT", available + Decimal("0.05"), ask)
        assert bought.state is OrderState.PARTIALLY_FILLED and bought.filled_base == available
        with pytest.raises(ValidationError, match="not above"):  # nothing left to place
            await client.amend(bought.client_id, amount=available)
        moved = await client.amend(bought.client_id, price=ask - 1, amount=available + 1)
        assert (moved.amount, moved.price, moved.state) == (Decimal(1), ask - 1, OrderState.OPEN)
        old = await client.wait_event(
            OrderEventMessage, is_event("OrderCanceled", bought.client_id)
        )
        assert old.to_order().filled_base == available
        assert sim.order_requests[str(moved.client_id)] == 1


@settings(max_examples=12, deadline=None)
@given(
    deliveries=st.lists(st.integers(0, 3), min_size=1, max_size=10),
    restart_after=st.integers(0, 10),
)
async def test_any_redelivery_pattern_places_each_order_once(
    deliveries: list[int], restart_after: int
) -> None:
    """Commands delivered any number of times, in any order, with the operator's consumer
    restarted in between: one order per command at the venue, every delivery answered."""
    transport = await connect_or_skip("memory")
    cmds, evts = unique("ex.cmd"), unique("ex.evt")
    commands = [
        CreateOrder(trading_pair=ETH, side="BUY", order_type="LIMIT", amount="0.01",
                    price=str(1900 + i))
        for i in range(4)
    ]  # fmt: skip
    used = sorted(set(deliveries))
    async with (
        venue() as (sim, account, _),
        strategy(transport, cmds, evts) as client,
        adapter(sim, account) as op,
    ):

        async def serve(stop: asyncio.Event) -> ExchangeService:
            service = ExchangeService(op, transport, commands=cmds, events=evts, claim_after=0.2)
            await service.run(stop)
            await service.close()
            return service

        stop = asyncio.Event()
        serving = asyncio.create_task(serve(stop))
        for n, index in enumerate(deliveries):
            if n == restart_after:  # a new consumer, nothing remembered but the journal
                stop.set()
                await serving
                stop = asyncio.Event()
                serving = asyncio.create_task(serve(stop))
            cmd = commands[index]
            await transport.publish(cmds, f"{cmd.id}-{n}", COMMANDS.encode(cmd))

        def answered() -> bool | None:
            counts = [len(client.answers.get(commands[i].id, [])) for i in used]
            return counts == [deliveries.count(i) for i in used] or None

        await client.wait_until(answered, timeout=30)
        stop.set()
        await serving
    for i in used:
        answers = client.answers[commands[i].id]
        assert [getattr(a, "duplicate", None) for a in answers][1:] == [True] * (len(answers) - 1)
        assert sim.order_requests[derived_client_id(commands[i].id)] == 1
    assert len(sim.order_requests) == len(used)


async def test_amend_whose_cancel_fails_finishes_on_redelivery(tmp_path: Path) -> None:
    transport = await connect_or_skip("memory")
    cmds, evts = unique("ex.cmd"), unique("ex.evt")
    async with (
        venue() as (sim, account, _),
        strategy(transport, cmds, evts) as client,
        adapter(sim, account, journal_path=str(tmp_path / "j.sqlite")) as op,
    ):
        service = ExchangeService(op, transport, commands=cmds, events=evts, claim_after=0.5)
        stop = asyncio.Event()
        serving = asyncio.create_task(service.run(stop))
        try:
            resting = await client.place(ETH, "BUY", "LIMIT", AMOUNT, "1900")
            sim.faults.server_errors = 1  # the cancel is answered 503 (not executed)
            amend = AmendOrder(client_id=str(resting.client_id), price="1890")
            with pytest.raises(UnknownOutcome):
                await client.request(amend)
            later = await client.wait_answer(amend.id, lambda a: isinstance(a, OrderReply))
            moved = Order.from_json(later.order)  # type: ignore[union-attr]
            assert (moved.price, moved.state) == (Decimal("1890"), OrderState.OPEN)
            assert sim.order_requests[str(moved.client_id)] == 1
            old = service.find(str(resting.client_id))
            assert old is not None and old.state is OrderState.CANCELED
        finally:
            stop.set()
            await serving
            await service.close()
