"""Shared pieces of the queue tests: message types, server URLs, unique names."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from chainops.queues import Message, MessageCodec, QueueUnavailable, Transport, open_transport

REDIS_URL = os.environ.get("CHAINOPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
NATS_URL = os.environ.get("CHAINOPS_TEST_NATS_URL", "nats://127.0.0.1:4222")
URLS = {"memory": "memory://", "redis": REDIS_URL, "nats": NATS_URL}
ENV = {"redis": "CHAINOPS_TEST_REDIS_URL", "nats": "CHAINOPS_TEST_NATS_URL"}


class Ping(Message, frozen=True):
    n: int


class Note(Message, frozen=True):
    text: str


class Stranger(Message, frozen=True):
    """Known to publishers, not to the consumers' codec."""

    x: int


CODEC: MessageCodec[Ping | Note] = MessageCodec([Ping, Note])


# The random part of every name unique() gave out: what conftest.py drops at the end.
TOKENS: set[str] = set()


def unique(prefix: str) -> str:
    token = uuid.uuid4().hex[:10]
    TOKENS.add(token)
    return f"{prefix}-{token}"


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def connect_or_skip(backend: str) -> Transport:
    try:
        return await open_transport(URLS[backend], timeout=2.0)
    except QueueUnavailable as exc:
        pytest.skip(f"no {backend} server ({exc}); set {ENV[backend]} to point the tests at one")


@asynccontextmanager
async def private_server(
    backend: str, data: Path, *, timeout: float = 0.5
) -> AsyncIterator[tuple[asyncio.subprocess.Process, Transport]]:
    """A redis-server or nats-server of this test's own (skipped when not installed), on a
    free port with its data in ``data``, and a transport opened on it; killed on exit."""
    binary = shutil.which("redis-server" if backend == "redis" else "nats-server")
    if binary is None:
        pytest.skip(f"no {backend} server binary to start a private server")
    port = dead_port()
    args = (
        ("--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(data))
        if backend == "redis"
        else ("-js", "-p", str(port), "-sd", str(data))
    )
    process = await asyncio.create_subprocess_exec(
        binary, *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        transport = None
        for _ in range(100):  # until it listens
            try:
                transport = await open_transport(f"{backend}://127.0.0.1:{port}", timeout=timeout)
                break
            except QueueUnavailable:
                await asyncio.sleep(0.05)
        assert transport is not None, f"the private {backend} server did not start"
        yield process, transport
    finally:
        if process.returncode is None:
            process.kill()
            await asyncio.wait_for(process.wait(), 10)
