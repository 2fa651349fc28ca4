"""One rule on every backend: stream, group and consumer names, fetch and claim times, timeouts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from chainops.core.errors import ValidationError
from chainops.queues import InvalidQueueName, QueueUnavailable, Transport
from tests.integration.queue_helpers import CODEC, Ping, connect_or_skip, private_server, unique

BACKENDS = ["memory", "redis", "nats"]


@pytest.fixture(params=BACKENDS)
async def transport(request: pytest.FixtureRequest) -> AsyncIterator[Transport]:
    t = await connect_or_skip(request.param)
    yield t
    await t.close()


# Refused before anything is sent, so fixed names leave nothing behind on a server.
BAD_STREAMS: list[object] = [
    "",
    "   ",
    None,
    7,
    "q-bad x",
    "q-bad.*",
    "q-bad.>",
    ">",
    "q-bad..x",
    ".q-bad",
    "q-bad.",
    "q-bad.é",
    "q-bad/x",
    "q-bad\tx",
    "q-bad.dead",  # the dead letters of q-bad
    "q-bad." + "x" * 95,
]


@pytest.mark.parametrize("stream", BAD_STREAMS)
async def test_a_stream_name_some_backend_cannot_carry_is_refused_by_all(
    transport: Transport, stream: object
) -> None:
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: transport.publish(stream, "m1", b"x"),  # type: ignore[arg-type]
        lambda: transport.publish_many(stream, [("m1", b"x")]),  # type: ignore[arg-type]
        lambda: transport.consumer(stream, "g", "c1"),  # type: ignore[arg-type]
        lambda: transport.dead_letter(stream, "m1", b"x", "why"),  # type: ignore[arg-type]
        lambda: transport.dead_letters(stream),  # type: ignore[arg-type]
        lambda: transport.delete_stream(stream),  # type: ignore[arg-type]
    ]
    for call in calls:
        with pytest.raises(InvalidQueueName, match="stream name") as caught:
            await call()
        assert isinstance(caught.value, ValidationError)


@pytest.mark.parametrize("group", ["", " ", None, "worker.1", "a b", "g*", "g>", "é", "g" * 101])
async def test_a_group_name_some_backend_cannot_use_is_refused_by_all(
    transport: Transport, group: object
) -> None:
    stream = unique("q.group")
    with pytest.raises(InvalidQueueName, match="group name"):
        await transport.consumer(stream, group, "c1")  # type: ignore[arg-type]
    assert await transport.delete_stream(stream) is False  # nothing was made


BAD_MEMBERS: list[object] = [
    "",  # empty
    "  ",
    "c" * 101,  # too long
    "c.1",  # bad characters
    "c 1",
    "c*",
    "c>",
    "c/1",
    "é",
    None,  # wrong type
    7,
    b"c1",
]


@pytest.mark.parametrize("name", BAD_MEMBERS)
async def test_a_consumer_name_some_backend_cannot_use_is_refused_by_all(
    transport: Transport, name: object
) -> None:
    stream = unique("q.member")
    with pytest.raises(InvalidQueueName, match="consumer name") as caught:
        await transport.consumer(stream, "g", name)  # type: ignore[arg-type]
    assert isinstance(caught.value, ValidationError)
    assert await transport.delete_stream(stream) is False  # nothing was made


async def test_names_at_the_edges_of_the_rule_work_on_every_backend(transport: Transport) -> None:
    token = unique("Q_9")
    stream = f"{token}.-a_.b-c." + "z" * (100 - len(token) - 9)
    group = "G_-" + "g" * 97
    assert len(stream) == 100 and len(group) == 100
    await transport.publish(stream, "m1", CODEC.encode(Ping(n=1)))
    await transport.dead_letter(stream, "m0", b"junk", "bad")
    consumer = await transport.consumer(stream, group, "c1")
    try:
        got = await consumer.fetch(10, timeout=2.0)
        assert [d.message_id for d in got] == ["m1"]
        await consumer.ack_many(got)
    finally:
        await consumer.close()
    assert [d.message_id for d in await transport.dead_letters(stream)] == ["m0"]
    assert await transport.delete_stream(stream) is True


@pytest.mark.parametrize(("one", "other"), [("{t}.x", "{t}_x"), ("{t}._x", "{t}_.x")])
async def test_streams_that_differ_by_dot_and_underscore_stay_apart(
    transport: Transport, one: str, other: str
) -> None:
    token = unique("q")
    a, b = one.format(t=token), other.format(t=token)
    await transport.publish(a, "for-a", CODEC.encode(Ping(n=1)))
    await transport.publish(b, "for-b", CODEC.encode(Ping(n=2)))
    for stream, expected in ((a, "for-a"), (b, "for-b")):
        consumer = await transport.consumer(stream, "g", "c1")
        try:
            assert [d.message_id for d in await consumer.fetch(10, timeout=1.0)] == [expected]
        finally:
            await consumer.close()
    assert await transport.delete_stream(a) is True
    assert await transport.delete_stream(a) is False
    assert await transport.delete_stream(b) is True


BAD_SECONDS = [0, 0.0, -1, float("nan"), float("inf"), "1", None, True]


@pytest.mark.parametrize("max_messages", [0, -1, True, 1.5, "2", None])
async def test_fetching_a_number_of_messages_that_is_none_is_a_validation_error(
    transport: Transport, max_messages: object
) -> None:
    stream = unique("q.fetch")
    consumer = await transport.consumer(stream, "g", "c1")
    try:
        with pytest.raises(ValidationError, match="max_messages must be a whole number"):
            await consumer.fetch(max_messages, timeout=0.1)  # type: ignore[arg-type]
    finally:
        await consumer.close()
        await transport.delete_stream(stream)


@pytest.mark.parametrize("timeout", BAD_SECONDS)
async def test_fetching_with_a_timeout_that_is_not_positive_seconds_is_a_validation_error(
    transport: Transport, timeout: object
) -> None:
    stream = unique("q.fetch")
    consumer = await transport.consumer(stream, "g", "c1")
    try:
        with pytest.raises(ValidationError, match="timeout must be a positive number"):
            await consumer.fetch(1, timeout=timeout)  # type: ignore[arg-type]
    finally:
        await consumer.close()
        await transport.delete_stream(stream)


@pytest.mark.parametrize("claim_after", BAD_SECONDS)
async def test_a_claim_time_that_is_not_positive_seconds_is_a_validation_error(
    transport: Transport, claim_after: object
) -> None:
    stream = unique("q.claim")
    with pytest.raises(ValidationError, match="claim_after must be a positive number"):
        await transport.consumer(stream, "g", "c1", claim_after=claim_after)  # type: ignore[arg-type]
    assert await transport.delete_stream(stream) is False  # nothing was made


async def test_nats_requests_on_a_server_gone_fail_within_the_transport_timeout(
    tmp_path: Path,
) -> None:
    """Not after nats-py's own 5 s: the timeout the transport was opened with bounds them."""
    async with private_server("nats", tmp_path, timeout=0.3) as (process, t):
        stream = unique("q.away")
        await t.publish(stream, "m1", b"x")
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)
        operations: list[Callable[[], Awaitable[object]]] = [
            lambda: t.publish(stream, "m2", b"x"),
            lambda: t.publish_many(stream, [("m3", b"x")]),
            lambda: t.consumer(stream, "g", "c1"),
            lambda: t.dead_letter(stream, "m1", b"x", "why"),
            lambda: t.dead_letters(stream),
            lambda: t.delete_stream(stream),
        ]
        for operation in operations:
            started = time.monotonic()
            with pytest.raises(QueueUnavailable):
                await asyncio.wait_for(operation(), 6)
            assert time.monotonic() - started < 1.5  # a few 0.3 s requests at most
        await asyncio.wait_for(t.close(), 5)
