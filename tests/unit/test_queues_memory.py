"""The embedded asyncio transport and the message codec."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from chainops.queues import (
    Actor,
    MalformedMessage,
    MemoryTransport,
    Message,
    MessageCodec,
    Publisher,
    UnsupportedQueueUrl,
    open_transport,
)


class Ping(Message, frozen=True):
    n: int


class Other(Message, frozen=True):
    n: int


def test_codec_round_trip_keeps_id_and_fields() -> None:
    codec = MessageCodec([Ping])
    msg = Ping(n=7)
    back = codec.decode(codec.encode(msg))
    assert back == msg and back.id == msg.id and len(msg.id) == 32


def test_codec_rejects_garbage_and_unknown_types() -> None:
    codec = MessageCodec([Ping])
    with pytest.raises(MalformedMessage, match="malformed"):
        codec.decode(b"\xc1\xc1not msgpack")
    with pytest.raises(MalformedMessage, match="Other"):
        codec.decode(msgspec.msgpack.encode(Other(n=1)))


def test_every_message_gets_a_distinct_id() -> None:
    assert len({Ping(n=1).id for _ in range(1000)}) == 1000


async def test_unknown_scheme_is_a_typed_error() -> None:
    with pytest.raises(UnsupportedQueueUrl, match="kafka"):
        await open_transport("kafka://localhost:9092")
    assert isinstance(await open_transport(None), MemoryTransport)


async def test_unacked_delivery_goes_to_another_member_after_claim_time() -> None:
    t = MemoryTransport()
    await t.publish("s", "a", b"1")
    first = await t.consumer("s", "g", "one", claim_after=0.001)
    second = await t.consumer("s", "g", "two", claim_after=0.001)
    (d1,) = await first.fetch(timeout=0.01)
    (d2,) = await second.fetch(timeout=0.05)  # due once the claim time passed while waiting
    assert (d1.message_id, d2.message_id, d2.deliveries) == ("a", "a", 2)
    await d2.ack()
    assert await first.fetch(timeout=0.01) == []


async def test_groups_each_see_every_message() -> None:
    t = MemoryTransport()
    codec = MessageCodec([Ping])
    pub = Publisher(t, "s", codec)
    for n in range(5):
        await pub.publish(Ping(n=n))
    got: dict[str, list[int]] = {"a": [], "b": []}
    stop = asyncio.Event()

    def handler(group: str):  # type: ignore[no-untyped-def]
        async def handle(m: Ping) -> None:
            got[group].append(m.n)
            if len(got["a"]) == 5 and len(got["b"]) == 5:
                stop.set()

        return handle

    actors = [Actor(t, "s", codec, handler(g), group=g, name="x") for g in ("a", "b")]
    await asyncio.wait_for(asyncio.gather(*(a.run(stop=stop, poll=0.01) for a in actors)), 5)
    assert got == {"a": [0, 1, 2, 3, 4], "b": [0, 1, 2, 3, 4]}
