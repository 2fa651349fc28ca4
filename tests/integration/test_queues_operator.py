"""A strategy drives an EVM operator in another process through a queue, on each backend."""

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

from chainops.core.errors import InsufficientFunds, ValidationError
from chainops.devnet.world import World
from chainops.queues import Transport
from chainops.queues.commands import COMMANDS, SendTransaction
from chainops.queues.remote import OperatorClient
from tests.integration.queue_helpers import URLS, connect_or_skip, unique

pytestmark = pytest.mark.integration
CHILD = Path(__file__).with_name("queue_operator_child.py")
ROOT = Path(__file__).resolve().parents[2]
DONE = frozenset({"CONFIRMED", "FINALIZED"})


@asynccontextmanager
async def operator_process(
    backend: str, world: World, journal: Path, commands: str, events: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    key = world.book.accounts[5].private_key
    args = (URLS[backend], world.rpc_url, key, str(journal), commands, events)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CHILD),
        *args,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        assert (await asyncio.wait_for(proc.stdout.readline(), 60)).startswith(b"ready")
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
        await proc.wait()


def balance(world: World, address: str) -> int:
    return int(world.anvil.rpc("eth_getBalance", [address, "latest"]), 16)


@pytest.mark.parametrize("backend", ["redis", "nats"])
async def test_strategy_drives_operator_across_processes(
    backend: str, devnet: World, tmp_path: Path
) -> None:
    transport: Transport = await connect_or_skip(backend)
    commands, events = unique("ops.cmd"), unique("ops.evt")
    client = OperatorClient(transport, commands=commands, events=events, name="strategy")
    stop = asyncio.Event()
    listening = asyncio.create_task(client.run(stop))
    recipients = [devnet.book.accounts[i].address for i in (6, 7, 8)]
    before = {a: balance(devnet, a) for a in recipients}
    first = [SendTransaction(to=a, value="0.01") for a in recipients]
    journal = tmp_path / "operator.sqlite"
    try:
        async with operator_process(backend, devnet, journal, commands, events) as proc:
            for cmd in first:
                await client.send(cmd)
            done = [await asyncio.wait_for(client.outcome(c.id, states=DONE), 60) for c in first]
            with pytest.raises(ValidationError, match="not a decimal"):
                bad = await client.send(SendTransaction(to=recipients[0], value="lots"))
                await asyncio.wait_for(client.outcome(bad, states=DONE), 30)
            with pytest.raises(InsufficientFunds):
                rich = await client.send(SendTransaction(to=recipients[0], value="1e12"))
                await asyncio.wait_for(client.outcome(rich, states=DONE), 30)
            proc.send_signal(signal.SIGKILL)  # the operator dies; its journal stays
        # The same commands delivered again, to a restarted operator, plus a new one.
        again = SendTransaction(to=recipients[0], value="0.02")
        async with operator_process(backend, devnet, journal, commands, events):
            for cmd in first:
                # A fresh transport-level id: JetStream would drop a same-id republish itself.
                await transport.publish(commands, cmd.id + "-again", COMMANDS.encode(cmd))
            await client.send(again)
            await asyncio.wait_for(client.outcome(again.id, states=DONE), 60)
            answers = [await asyncio.wait_for(_duplicate(client, c.id), 60) for c in first]
    finally:
        stop.set()
        await listening
        await transport.close()
    assert [a.client_id for a in answers] == [d.client_id for d in done]
    assert len({d.client_id for d in done}) == 3 and all(d.tx_hash for d in done)
    wei = 10**16
    assert balance(devnet, recipients[0]) - before[recipients[0]] == 3 * wei
    assert [balance(devnet, a) - before[a] for a in recipients[1:]] == [wei, wei]


async def _duplicate(client: OperatorClient, command_id: str):  # type: ignore[no-untyped-def]
    while True:
        for a in client.answers.get(command_id, []):
            if getattr(a, "duplicate", False):
                return a
        await asyncio.sleep(0.05)


def test_send_transaction_value_is_never_a_float() -> None:
    assert Decimal(SendTransaction(to="0x" + "11" * 20, value="0.1").value) == Decimal("0.1")
