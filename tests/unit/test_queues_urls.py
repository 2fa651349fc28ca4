"""Opening a queue: bad URLs and timeouts, servers that are no queue server, secrets in URLs."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from chainops.core.errors import ValidationError
from chainops.queues import (
    Actor,
    MemoryTransport,
    Message,
    MessageCodec,
    QueueError,
    QueueUnavailable,
    UnsupportedQueueUrl,
    open_transport,
)


class Ping(Message, frozen=True):
    n: int


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    "url",
    [
        123,
        "redis://127.0.0.1:notaport",
        "redis://127.0.0.1:99999",
        "nats://127.0.0.1:x",
        "nats://",
        "nats://127.0.0.1:4222,127.0.0.1:4223",
    ],
)
async def test_a_malformed_url_is_a_validation_error_before_any_connection(url: object) -> None:
    with pytest.raises(UnsupportedQueueUrl) as caught:
        await open_transport(url, timeout=0.5)  # type: ignore[arg-type]
    assert isinstance(caught.value, ValidationError)


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), "3", None, True])
@pytest.mark.parametrize("url", ["redis://127.0.0.1:1", "nats://127.0.0.1:1", None])
async def test_a_timeout_that_is_not_positive_seconds_is_a_validation_error(
    url: str | None, timeout: object
) -> None:
    with pytest.raises(ValidationError, match="timeout must be a positive number"):
        await open_transport(url, timeout=timeout)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://user:s3cret@h:6379/0", "redis://user:***@h:6379/0"),
        ("redis://:s3cret@h", "redis://:***@h"),
        ("nats://s3cret@h:4222", "nats://***@h:4222"),
        ("nats://h:4222", "nats://h:4222"),
        ("unix:///run/redis.sock", "unix:///run/redis.sock"),
    ],
)
def test_redacted_hides_passwords_and_tokens(url: str, shown: str) -> None:
    from chainops.queues.transport import redacted

    assert redacted(url) == shown


@pytest.mark.parametrize(
    "url", ["redis://user:s3cret@127.0.0.1:{port}/0", "nats://user:s3cret@127.0.0.1:{port}"]
)
async def test_an_unreachable_server_error_does_not_show_the_password(url: str) -> None:
    with pytest.raises(QueueUnavailable) as caught:
        await open_transport(url.format(port=_free_port()), timeout=0.5)
    assert "s3cret" not in str(caught.value) and "***" in str(caught.value)


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # accepts, never answers
    writer.close()


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    await writer.drain()
    await reader.read()
    writer.close()


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture(params=[_silent, _garbage], ids=["silent", "garbage"])
async def impostor(request: pytest.FixtureRequest) -> AsyncIterator[int]:
    """A TCP listener that is no queue server: it says nothing, or says something else."""
    handler: Handler = request.param
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()


@pytest.mark.parametrize("scheme", ["redis", "nats"])
async def test_a_listener_that_is_no_queue_server_is_a_typed_error_in_time(
    scheme: str, impostor: int
) -> None:
    """It used to be retried for ever (NATS) or to raise the client library's own error."""
    started = time.monotonic()
    with pytest.raises(QueueError, match=r"127\.0\.0\.1"):
        await asyncio.wait_for(open_transport(f"{scheme}://127.0.0.1:{impostor}", timeout=0.5), 5)
    assert time.monotonic() - started < 3


class _FlakyDeadLetters(MemoryTransport):
    """Dead letters cannot be written the first ``failures`` times (a server restarting)."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def dead_letter(self, stream: str, message_id: str, data: bytes, reason: str) -> None:
        if self.failures:
            self.failures -= 1
            raise QueueUnavailable("queue server restarting")
        await super().dead_letter(stream, message_id, data, reason)


async def test_an_actor_rides_out_a_dead_letter_that_cannot_be_written() -> None:
    transport = _FlakyDeadLetters(failures=1)
    await transport.publish("s", "junk", b"\xc1 not msgpack")
    seen: list[int] = []

    async def handle(m: Ping) -> None:
        seen.append(m.n)

    actor = Actor(
        transport, "s", MessageCodec([Ping]), handle, group="g", name="a", claim_after=0.05
    )
    stop = asyncio.Event()
    running = asyncio.create_task(actor.run(stop=stop, poll=0.02))
    await transport.publish("s", "p", MessageCodec([Ping]).encode(Ping(n=1)))
    async with asyncio.timeout(3):
        while not (actor.dead and seen):
            assert not running.done(), running.exception()
            await asyncio.sleep(0.01)
    stop.set()
    await running
    assert [d.message_id for d in await transport.dead_letters("s")] == ["junk"]
    assert seen == [1]
