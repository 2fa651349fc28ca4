"""The integration tests leave the shared servers as they found them.

Every queue test names its streams with ``queue_helpers.unique``; at the end of
the run the NATS JetStream streams and the Redis streams carrying those names
are deleted. A server used for many runs would otherwise collect thousands of
them, and JetStream checks each new stream's subjects against every one it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator

import pytest

from chainops.queues import QueueUnavailable, Transport, open_transport
from tests.integration.queue_helpers import NATS_URL, REDIS_URL, TOKENS


@pytest.fixture(scope="session", autouse=True)
def _drop_test_streams() -> Iterator[None]:
    yield
    if TOKENS:
        asyncio.run(_drop_streams(set(TOKENS)))


async def _drop_streams(tokens: set[str]) -> None:
    cleanups: tuple[tuple[str, Callable[[Transport, set[str]], Awaitable[None]]], ...] = (
        (NATS_URL, _drop_nats),
        (REDIS_URL, _drop_redis),
    )
    for url, drop in cleanups:
        try:
            # The transport's own opening: a plain connect first, so a missing server
            # answers at once instead of being retried for ever.
            transport = await open_transport(url, timeout=2.0)
        except QueueUnavailable:
            continue  # no server, nothing was left on it
        # A clean-up never fails the run: a server that cannot list or delete keeps them.
        with contextlib.suppress(Exception):
            try:
                await drop(transport, tokens)
            finally:
                await transport.close()


async def _drop_nats(transport: Transport, tokens: set[str]) -> None:
    """By stream name: some tests also make streams of their own, not through a transport."""
    js = transport._js  # type: ignore[attr-defined]
    names: list[str] = []
    offset = 0
    while True:
        page = await js.streams_info(offset)
        if not page:
            break
        names += [info.config.name for info in page if info.config.name]
        offset += len(page)
    for name in names:
        if any(token in name for token in tokens):
            await js.delete_stream(name)


async def _drop_redis(transport: Transport, tokens: set[str]) -> None:
    """Every stream with a token in its key (a dead-letter key is deleted with its stream)."""
    client = transport._r  # type: ignore[attr-defined]
    keys = [key.decode() async for key in client.scan_iter(count=1000, _type="stream")]
    for stream in {key.removesuffix(".dead") for key in keys}:
        if any(token in stream for token in tokens):
            await transport.delete_stream(stream)
