"""Each backend (asyncio, Redis Streams, NATS JetStream): delivery, acks, dead letters, faults."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from chainops.core.errors import ValidationError
from chainops.queues import (
    Actor,
    Publisher,
    QueueError,
    QueueUnavailable,
    Transport,
    open_transport,
)
from tests.integration.queue_helpers import (
    CODEC,
    URLS,
    Note,
    Ping,
    Stranger,
    connect_or_skip,
    dead_port,
    private_server,
    unique,
)

BACKENDS = ["memory", "redis", "nats"]
CHILD = Path(__file__).with_name("queue_child.py")


@pytest.fixture(params=BACKENDS)
async def transport(request: pytest.FixtureRequest) -> AsyncIterator[Transport]:
    t = await connect_or_skip(request.param)
    yield t
    await t.close()


async def _drain(actor: Actor[Ping | Note], until: int, timeout: float = 20.0) -> None:
    stop = asyncio.Event()

    async def watch() -> None:
        while actor.handled + actor.dead < until:
            await asyncio.sleep(0.01)
        stop.set()

    await asyncio.wait_for(asyncio.gather(actor.run(stop=stop, poll=0.1), watch()), timeout)


async def test_published_messages_arrive_once_in_order(transport: Transport) -> None:
    stream = unique("q.order")
    pub = Publisher(transport, stream, CODEC)
    sent = [Ping(n=n) for n in range(50)]
    for m in sent:
        await pub.publish(m)
    got: list[Ping | Note] = []

    async def handle(m: Ping | Note) -> None:
        got.append(m)

    actor = Actor(transport, stream, CODEC, handle, group="g", name="c1")
    await _drain(actor, 50)
    assert got == sent


async def test_a_published_batch_arrives_once_in_order(transport: Transport) -> None:
    stream = unique("q.batch")
    pub = Publisher(transport, stream, CODEC)
    sent = [Ping(n=n) for n in range(300)]
    for first in range(0, 300, 100):
        await pub.publish_many(sent[first : first + 100])
    got: list[Ping | Note] = []

    async def handle(m: Ping | Note) -> None:
        got.append(m)

    actor = Actor(transport, stream, CODEC, handle, group="g", name="c1", claim_after=0.3)
    await _drain(actor, 300)
    assert got == sent
    # Every one was acknowledged (in batches): a peer finds nothing left to reclaim.
    await asyncio.sleep(0.5)
    peer = await transport.consumer(stream, "g", "c2", claim_after=0.3)
    assert await peer.fetch(400, timeout=0.5) == []
    await peer.close()


async def test_redelivered_id_is_not_acted_on_twice(transport: Transport) -> None:
    stream = unique("q.dup")
    pub = Publisher(transport, stream, CODEC)
    m = Ping(n=1)
    # The same message published twice (a publisher retry after a lost reply).
    await transport.publish(stream, m.id, CODEC.encode(m))
    await transport.publish(stream, m.id + "-retry", CODEC.encode(m))
    await pub.publish(Ping(n=2))
    acted: list[int] = []

    async def handle(msg: Ping | Note) -> None:
        assert isinstance(msg, Ping)
        acted.append(msg.n)

    actor = Actor(transport, stream, CODEC, handle, group="g", name="c1")
    stop = asyncio.Event()
    task = asyncio.create_task(actor.run(stop=stop, poll=0.1))
    while len(acted) < 2:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)
    stop.set()
    await task
    assert acted == [1, 2]


async def test_malformed_and_unknown_go_to_dead_letters_and_consumer_goes_on(
    transport: Transport,
) -> None:
    stream = unique("q.dead")
    await transport.publish(stream, "junk-1", b"\xc1 not msgpack")
    stranger = Stranger(x=3)
    await transport.publish(stream, stranger.id, msgspec.msgpack.encode(stranger))
    good = Note(text="after")
    await Publisher(transport, stream, CODEC).publish(good)
    got: list[Ping | Note] = []

    async def handle(m: Ping | Note) -> None:
        got.append(m)

    actor = Actor(transport, stream, CODEC, handle, group="g", name="c1")
    await _drain(actor, 3)
    assert got == [good]
    dead = await transport.dead_letters(stream)
    assert [d.message_id for d in dead] == ["junk-1", stranger.id]
    assert "malformed" in dead[0].reason and "Stranger" in dead[1].reason
    assert dead[1].data == msgspec.msgpack.encode(stranger)


async def test_failed_handler_leaves_message_for_redelivery(transport: Transport) -> None:
    stream = unique("q.retry")
    await Publisher(transport, stream, CODEC).publish(Ping(n=9))
    calls: list[int] = []

    async def flaky(m: Ping | Note) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("transient")

    actor = Actor(transport, stream, CODEC, flaky, group="g", name="c1", claim_after=0.2)
    await _drain(actor, 1)
    assert len(calls) == 2 and actor.handled == 1


@pytest.mark.parametrize("backend", ["redis", "nats"])
async def test_server_unreachable_at_start_is_a_typed_error(backend: str) -> None:
    url = f"{backend}://127.0.0.1:{dead_port()}"
    with pytest.raises(QueueUnavailable, match="did not answer"):
        await open_transport(url, timeout=1.0)


@pytest.mark.parametrize("backend", ["redis", "nats"])
async def test_consumer_killed_with_messages_pending(backend: str) -> None:
    """A child process takes messages and is killed before acking: a peer gets every one."""
    transport = await connect_or_skip(backend)
    try:
        stream = unique("q.kill")
        sent = [Ping(n=n) for n in range(20)]
        pub = Publisher(transport, stream, CODEC)
        for m in sent:
            await pub.publish(m)
        # The group must exist before the child reads so both share its pending list.
        await (await transport.consumer(stream, "workers", "parent", claim_after=1.0)).close()
        child = await asyncio.create_subprocess_exec(
            *(sys.executable, str(CHILD), URLS[backend], stream, "workers", "10"),
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
        )
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), 30)
        assert line.startswith(b"took 10"), line
        child.send_signal(signal.SIGKILL)
        await child.wait()
        got: Counter[int] = Counter()

        async def handle(m: Ping | Note) -> None:
            assert isinstance(m, Ping)
            got[m.n] += 1

        actor = Actor(
            transport, stream, CODEC, handle, group="workers", name="peer", claim_after=1.0
        )
        await _drain(actor, 20)
        assert got == Counter(range(20))
    finally:
        await transport.close()


@pytest.mark.parametrize("backend", ["redis", "nats"])
async def test_two_connections_first_use_one_stream_at_once(backend: str) -> None:
    """Two processes creating one stream at the same moment both go on (a lost race is fine)."""
    a, b = await connect_or_skip(backend), await connect_or_skip(backend)
    try:
        streams = [unique("q.race") for _ in range(40)]
        for s in streams:
            await asyncio.gather(
                a.publish(s, "m-a", CODEC.encode(Ping(n=1))),
                b.consumer(s, "g", "reader"),
            )
    finally:
        await a.close()
        await b.close()


async def test_nats_subject_held_by_a_foreign_stream_is_a_typed_error() -> None:
    """A subject another stream already captures: a QueueError naming the stream, nothing sent."""
    transport = await connect_or_skip("nats")
    try:
        subject = unique("q.taken")
        js = transport._js  # type: ignore[attr-defined]
        await js.add_stream(name=unique("foreign"), subjects=[subject])
        with pytest.raises(QueueError, match=r"refused stream .*overlap"):
            await transport.publish(subject, "m1", CODEC.encode(Ping(n=1)))
    finally:
        await transport.close()


async def test_nats_stream_deleted_under_a_running_transport_is_created_again() -> None:
    transport = await connect_or_skip("nats")
    try:
        stream = unique("q.gone")
        await transport.publish(stream, "m1", CODEC.encode(Ping(n=1)))
        js = transport._js  # type: ignore[attr-defined]
        await js.delete_stream(stream.replace(".", "_"))
        await transport.publish(stream, "m2", CODEC.encode(Ping(n=2)))
        assert (await js.stream_info(stream.replace(".", "_"))).state.messages == 1
    finally:
        await transport.close()


async def test_a_redis_consumer_reads_on_after_the_server_lost_the_stream() -> None:
    """A Redis restarted without persistence has lost the stream and its group: a running
    consumer takes up the new stream instead of failing (JetStream keeps its streams)."""
    transport = await connect_or_skip("redis")
    stream = unique("q.lost")
    try:
        await transport.publish(stream, "m1", CODEC.encode(Ping(n=1)))
        consumer = await transport.consumer(stream, "g", "c1")
        assert [d.message_id for d in await consumer.fetch(10, timeout=2.0)] == ["m1"]
        await transport.delete_stream(stream)  # what the restart did
        await transport.publish(stream, "m2", CODEC.encode(Ping(n=2)))
        got = await consumer.fetch(10, timeout=2.0)
        assert [d.message_id for d in got] == ["m2"]
        await consumer.ack_many(got)
        await consumer.close()
    finally:
        await transport.delete_stream(stream)
        await transport.close()


async def test_a_deleted_stream_takes_its_messages_groups_and_dead_letters(
    transport: Transport,
) -> None:
    stream = unique("q.delete")
    await transport.publish(stream, "m1", CODEC.encode(Ping(n=1)))
    await transport.dead_letter(stream, "m0", b"junk", "bad")
    first = await transport.consumer(stream, "g", "c1")
    assert [d.message_id for d in await first.fetch(10, timeout=2.0)] == ["m1"]
    await first.close()

    assert await transport.delete_stream(stream) is True
    assert await transport.delete_stream(stream) is False  # gone already
    assert await transport.dead_letters(stream) == []
    # The same name again is a new, empty stream: the old group's place is gone with it.
    await transport.publish(stream, "m2", CODEC.encode(Ping(n=2)))
    again = await transport.consumer(stream, "g", "c1")
    try:
        assert [d.message_id for d in await again.fetch(10, timeout=2.0)] == ["m2"]
    finally:
        await again.close()
    assert await transport.delete_stream(stream) is True


async def test_deleting_a_stream_never_made_is_false(transport: Transport) -> None:
    assert await transport.delete_stream(unique("q.never")) is False


async def test_nats_delete_leaves_a_foreign_stream_of_the_same_name_alone() -> None:
    """A JetStream stream named like ours that carries other subjects is not deleted."""
    transport = await connect_or_skip("nats")
    try:
        token = unique("q")
        js = transport._js  # type: ignore[attr-defined]
        await js.add_stream(name=f"{token}_x", subjects=[f"{token}.other"])
        assert await transport.delete_stream(f"{token}.x") is False
        assert (await js.stream_info(f"{token}_x")).config.name == f"{token}_x"
        await js.delete_stream(f"{token}_x")
    finally:
        await transport.close()


async def test_a_nats_stream_an_earlier_version_named_is_used_and_deleted() -> None:
    """A subject with '_' once had its stream named with '.' made '_': it is taken up."""
    transport = await connect_or_skip("nats")
    try:
        subject = unique("q.old_name")
        legacy = subject.replace(".", "_")
        js = transport._js  # type: ignore[attr-defined]
        await js.add_stream(name=legacy, subjects=[subject, subject + ".dead"])
        await transport.publish(subject, "m1", CODEC.encode(Ping(n=1)))
        assert (await js.stream_info(legacy)).state.messages == 1
        consumer = await transport.consumer(subject, "g", "c1")
        assert [d.message_id for d in await consumer.fetch(10, timeout=2.0)] == ["m1"]
        await consumer.close()
        assert await transport.delete_stream(subject) is True
        assert await transport.delete_stream(subject) is False
    finally:
        await transport.close()


async def test_delete_on_a_server_that_went_away_is_a_typed_error(tmp_path: Path) -> None:
    """A Redis server stopped under a live transport: QueueUnavailable, no client exception."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("no redis-server binary to start a private server")
    port = dead_port()
    process = await asyncio.create_subprocess_exec(
        *(server, "--port", str(port), "--save", "", "--appendonly", "no"),
        *("--dir", str(tmp_path)),
        stdout=asyncio.subprocess.DEVNULL,
    )
    try:
        transport = None
        for _ in range(100):
            try:
                transport = await open_transport(f"redis://127.0.0.1:{port}", timeout=0.5)
                break
            except QueueUnavailable:
                await asyncio.sleep(0.05)
        assert transport is not None, "the private redis-server did not start"
        await transport.publish(unique("q.away"), "m1", b"x")
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)
        with pytest.raises(QueueUnavailable):
            await transport.delete_stream(unique("q.away"))
        with contextlib.suppress(Exception):
            await transport.close()
    finally:
        if process.returncode is None:
            process.kill()
            await asyncio.wait_for(process.wait(), 10)


async def test_dead_letters_of_a_stream_with_no_messages_are_none(transport: Transport) -> None:
    """NATS once asked an empty stream for its message 0, which JetStream refuses."""
    stream = unique("q.empty")
    assert await transport.dead_letters(stream) == []
    await transport.delete_stream(stream)


@pytest.mark.parametrize("name", ["", "   ", None])
async def test_deleting_a_stream_without_a_name_is_a_typed_error(
    transport: Transport, name: object
) -> None:
    with pytest.raises(ValidationError, match="a stream name is required"):
        await transport.delete_stream(name)  # type: ignore[arg-type]


async def test_redis_operations_on_a_server_that_went_away_are_typed_errors(
    tmp_path: Path,
) -> None:
    """Every operation, not only publish and fetch: an Actor tells a restart by the type."""
    async with private_server("redis", tmp_path) as (process, transport):
        await transport.publish("q.gone", "m1", b"x")
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)
        with pytest.raises(QueueUnavailable):
            await transport.consumer("q.gone", "g", "n")
        with pytest.raises(QueueUnavailable):
            await transport.dead_letter("q.gone", "m1", b"x", "why")
        with pytest.raises(QueueUnavailable):
            await transport.dead_letters("q.gone")
        await transport.close()


async def test_closing_a_nats_transport_whose_server_went_away_raises_nothing(
    tmp_path: Path,
) -> None:
    async with private_server("nats", tmp_path) as (process, transport):
        await transport.publish("q.gone", "m1", b"x")
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)
        await asyncio.sleep(0.1)  # the client notices and starts reconnecting
        await asyncio.wait_for(transport.close(), 5)
