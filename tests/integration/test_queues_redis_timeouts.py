"""A Redis that stops answering: each operation fails within the transport's timeout.

``CLIENT PAUSE`` holds every client's commands (a connection's own too, so its
``CLIENT UNPAUSE`` returns once the pause is over): the server accepts
connections and requests but answers none of them for the pause.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from chainops.queues import QueueUnavailable, Transport, open_transport
from tests.integration.queue_helpers import CODEC, ENV, REDIS_URL, Ping, unique

aioredis = pytest.importorskip("redis.asyncio")

TIMEOUT = 0.3  # the transport's: connecting and every request after
PAUSE = 1.5  # seconds the server answers nothing; other workers' requests wait as long
SOON = 1.0  # well inside the pause: an operation that waited the pause out took too long


@pytest.fixture
async def transport() -> AsyncIterator[Transport]:
    try:
        t = await open_transport(REDIS_URL, timeout=TIMEOUT)
    except QueueUnavailable as exc:
        pytest.skip(f"no redis server ({exc}); set {ENV['redis']} to point the tests at one")
    yield t
    await t.close()


@asynccontextmanager
async def silent_server() -> AsyncIterator[None]:
    """The server answers nothing for ``PAUSE`` seconds; on exit it answers again."""
    admin = aioredis.Redis.from_url(REDIS_URL)
    try:
        await admin.execute_command("CLIENT", "PAUSE", int(PAUSE * 1000), "ALL")
        try:
            yield
        finally:
            # Returns when the pause is over, whatever failed inside.
            await asyncio.wait_for(admin.execute_command("CLIENT", "UNPAUSE"), PAUSE + 5)
    finally:
        await admin.aclose()


async def _refused_soon(operation: Awaitable[object], url: str) -> QueueUnavailable:
    started = time.monotonic()
    with pytest.raises(QueueUnavailable) as caught:
        await asyncio.wait_for(operation, PAUSE + 5)
    assert time.monotonic() - started < SOON
    assert url in str(caught.value)
    return caught.value


async def test_a_publish_to_a_silent_redis_fails_in_time_and_works_again(
    transport: Transport,
) -> None:
    stream = unique("q.silent")
    await transport.publish(stream, "m1", CODEC.encode(Ping(n=1)))
    async with silent_server():
        error = await _refused_soon(
            transport.publish(stream, "m2", CODEC.encode(Ping(n=2))), transport.url
        )
        assert "publish" in str(error)
    await transport.publish(stream, "m3", CODEC.encode(Ping(n=3)))
    consumer = await transport.consumer(stream, "g", "c1")
    try:
        got = [d.message_id for d in await consumer.fetch(10, timeout=1.0)]
    finally:
        await consumer.close()
    # m2 timed out: it may or may not have been written, but never out of order.
    assert got in (["m1", "m3"], ["m1", "m2", "m3"])
    assert await transport.delete_stream(stream) is True


async def test_a_fetch_from_a_silent_redis_fails_in_time_and_works_again(
    transport: Transport,
) -> None:
    stream = unique("q.silent")
    consumer = await transport.consumer(stream, "g", "c1")
    try:
        # A read's own wait is not cut short by the transport's timeout.
        assert await consumer.fetch(10, timeout=2 * TIMEOUT) == []
        async with silent_server():
            error = await _refused_soon(consumer.fetch(10, timeout=0.2), transport.url)
            assert "fetch" in str(error)
        await transport.publish(stream, "m1", CODEC.encode(Ping(n=1)))
        got = await consumer.fetch(10, timeout=1.0)
        assert [d.message_id for d in got] == ["m1"]
        await consumer.ack_many(got)
    finally:
        await consumer.close()
    assert await transport.delete_stream(stream) is True


async def test_every_operation_on_a_silent_redis_fails_in_time(transport: Transport) -> None:
    stream = unique("q.silent")
    await transport.publish(stream, "m1", CODEC.encode(Ping(n=1)))
    consumer = await transport.consumer(stream, "g", "c1")
    pending = await consumer.fetch(10, timeout=1.0)
    assert [d.message_id for d in pending] == ["m1"]
    operations: dict[str, Callable[[], Awaitable[object]]] = {
        "publish": lambda: transport.publish(stream, "m2", b"x"),
        "publish_many": lambda: transport.publish_many(stream, [("m3", b"x")]),
        "consumer": lambda: transport.consumer(stream, "g2", "c1"),
        "fetch": lambda: consumer.fetch(10, timeout=0.1),
        "ack": lambda: consumer.ack_many(pending),
        "dead_letter": lambda: transport.dead_letter(stream, "m1", b"x", "why"),
        "dead_letters": lambda: transport.dead_letters(stream),
        "delete_stream": lambda: transport.delete_stream(stream),
    }
    try:
        async with silent_server():
            # All at once: each on its own connection, all inside one pause.
            results = await asyncio.gather(
                *(_refused_soon(op(), transport.url) for op in operations.values()),
                return_exceptions=True,
            )
        failed = {
            name: repr(r)
            for name, r in zip(operations, results, strict=True)
            if not isinstance(r, QueueUnavailable)
        }
        assert failed == {}
        # The same transport and consumer work once the server answers again.
        await consumer.ack_many(pending)
        await transport.publish(stream, "m4", b"x")
    finally:
        await consumer.close()
        await transport.delete_stream(stream)
