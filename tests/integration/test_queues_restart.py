"""A queue server restarted mid-run: the consumer rides it out and nothing is lost.

Each test starts its own server on a free port (the system service is left alone).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from chainops.queues import Actor, Publisher, open_transport
from tests.integration.queue_helpers import CODEC, Note, Ping, dead_port, unique


def _command(backend: str, port: int, data: Path) -> list[str]:
    if backend == "redis":
        # Append-only file fsynced on every write: the restarted server has every entry.
        return [
            "redis-server",
            "--port",
            str(port),
            "--dir",
            str(data),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
        ]
    return ["nats-server", "-js", "-p", str(port), "-sd", str(data)]


@contextmanager
def server(backend: str, port: int, data: Path) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        _command(backend, port, data), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


async def _connect(url: str):  # type: ignore[no-untyped-def]
    for _ in range(100):
        try:
            return await open_transport(url, timeout=0.5)
        except Exception:
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never came up")


@pytest.mark.parametrize("backend", ["redis", "nats"])
async def test_server_restarted_mid_run(backend: str, tmp_path: Path) -> None:
    binary = "redis-server" if backend == "redis" else "nats-server"
    if shutil.which(binary) is None:
        pytest.skip(f"{binary} is not installed")
    port = dead_port()
    url = f"{backend}://127.0.0.1:{port}"
    stream = unique("q.restart")
    got: list[int] = []

    async def handle(m: Ping | Note) -> None:
        assert isinstance(m, Ping)
        got.append(m.n)

    stop = asyncio.Event()
    with server(backend, port, tmp_path):
        transport = await _connect(url)
        actor = Actor(transport, stream, CODEC, handle, group="g", name="c", claim_after=1.0)
        running = asyncio.create_task(actor.run(stop=stop, poll=0.2))
        pub = Publisher(transport, stream, CODEC)
        for n in range(5):
            await pub.publish(Ping(n=n))
        while len(got) < 5:
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # the actor now reads from a server that is gone
    with server(backend, port, tmp_path):
        # A publish that timed out may still have landed: a retry sends the same messages
        # (the same ids), never new ones.
        later = [Ping(n=n) for n in range(5, 10)]
        for attempt in range(100):
            try:
                for message in later:
                    await pub.publish(message)
                break
            except Exception:
                if attempt == 99:
                    raise
                await asyncio.sleep(0.1)
        for _ in range(300):
            if len(set(got)) == 10:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(running, 10)
        await transport.close()
    assert sorted(set(got)) == list(range(10)) and len(got) == len(set(got))


@pytest.mark.parametrize("backend", ["redis", "nats"])
async def test_forwarded_events_survive_a_server_restart(backend: str, tmp_path: Path) -> None:
    """Events published on the bus while the queue server is down reach it once it is back."""
    from chainops.core.bus import EventBus
    from chainops.operators.exchanges.market_events import ConnectorStatus as BusStatus
    from chainops.queues.operator_events import OPERATOR_EVENTS, ConnectorStatus, EventForwarder

    binary = "redis-server" if backend == "redis" else "nats-server"
    if shutil.which(binary) is None:
        pytest.skip(f"{binary} is not installed")
    port = dead_port()
    url = f"{backend}://127.0.0.1:{port}"
    bus, stream = EventBus(), unique("q.fwd")

    def status(n: int) -> None:
        bus.publish(BusStatus(platform="binance", stream=f"s{n}", status="connected"))

    with server(backend, port, tmp_path):
        transport = await _connect(url)
        forwarder = EventForwarder(bus, transport, stream)
        for n in range(3):
            status(n)
        await forwarder.flush()
    for n in range(3, 6):  # the server is down: these wait in the forwarder
        status(n)
    await asyncio.sleep(0.5)
    assert forwarder.published == 3
    with server(backend, port, tmp_path):
        await asyncio.wait_for(forwarder.flush(), 30)
        got: list[str] = []
        stop = asyncio.Event()

        async def handle(m: object) -> None:
            assert isinstance(m, ConnectorStatus)
            got.append(m.stream)
            if len(got) == 6:
                stop.set()

        actor = Actor(transport, stream, OPERATOR_EVENTS, handle, group="g", name="c")
        await asyncio.wait_for(actor.run(stop=stop, poll=0.2), 30)
        await forwarder.close()
        await transport.close()
    assert got == [f"s{n}" for n in range(6)]
