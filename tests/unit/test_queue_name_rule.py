"""The one rule for stream and group names, and the NATS stream names it maps to."""

from __future__ import annotations

import contextlib
import itertools
import re

import pytest

from chainops.core.errors import ValidationError
from chainops.queues import (
    Actor,
    InvalidQueueName,
    MemoryTransport,
    Message,
    MessageCodec,
    Publisher,
)
from chainops.queues.remote import OperatorClient
from chainops.queues.transport import MAX_NAME, check_group, check_stream


class Ping(Message, frozen=True):
    n: int


CODEC = MessageCodec([Ping])


async def _ignore(message: Ping) -> None:
    return None


# The names the README's examples, the recorder and the services use by default.
@pytest.mark.parametrize("stream", ["ops.cmd", "ops.evt", "cex.cmd", "cex.evt", "bench-ex-0a1b"])
def test_the_documented_stream_names_pass_the_rule(stream: str) -> None:
    assert check_stream(stream) == stream


@pytest.mark.parametrize("group", ["strategy", "operator", "recorder", "bench"])
def test_the_documented_group_names_pass_the_rule(group: str) -> None:
    assert check_group(group) == group


@pytest.mark.parametrize("stream", ["a b", "a.*", "ops..cmd", "ops.cmd.dead", "", "x" * 101])
async def test_a_publisher_refuses_a_bad_stream_before_publishing(stream: str) -> None:
    transport = MemoryTransport()
    with pytest.raises(InvalidQueueName):
        Publisher(transport, stream, CODEC)
    assert transport._streams == {}


@pytest.mark.parametrize(
    ("stream", "group", "claim_after", "error"),
    [
        ("ops.evt", "worker.1", 30.0, InvalidQueueName),
        ("ops.evt", "", 30.0, InvalidQueueName),
        ("ops evt", "g", 30.0, InvalidQueueName),
        ("ops.evt", "g", 0, ValidationError),
        ("ops.evt", "g", float("nan"), ValidationError),
    ],
)
def test_an_actor_refuses_bad_names_and_claim_times_when_made(
    stream: str, group: str, claim_after: float, error: type[Exception]
) -> None:
    with pytest.raises(error):
        Actor(
            MemoryTransport(),
            stream,
            CODEC,
            _ignore,
            group=group,
            name="c",
            claim_after=claim_after,
        )


@pytest.mark.parametrize("name", ["", "worker.1", "a b", "x" * 101, None])
def test_an_actor_refuses_a_member_name_no_backend_could_use_when_made(name: object) -> None:
    with pytest.raises(InvalidQueueName, match="consumer name"):
        Actor(MemoryTransport(), "ops.evt", CODEC, _ignore, group="g", name=name)  # type: ignore[arg-type]


def test_an_operator_client_named_with_a_dot_is_refused_when_made() -> None:
    """Its name is its group on the events stream: NATS could not use ``strategy.1``."""
    with pytest.raises(InvalidQueueName, match=r"name 'strategy\.1'"):
        OperatorClient(MemoryTransport(), commands="ops.cmd", events="ops.evt", name="strategy.1")


def _valid_streams(length: int) -> list[str]:
    names = ("".join(chars) for chars in itertools.product("a_.-", repeat=length))
    out = []
    for name in names:
        with contextlib.suppress(InvalidQueueName):
            out.append(check_stream(name))
    return out


def test_nats_stream_names_are_one_per_stream_and_valid_for_jetstream() -> None:
    pytest.importorskip("nats")
    from chainops.queues.nats_jetstream import _stream_name

    streams = [s for n in range(1, 8) for s in _valid_streams(n)]
    streams += [("ab_." * 25)[: MAX_NAME - 1] + "b", "a" * MAX_NAME]
    names = {s: _stream_name(s) for s in streams}
    assert len(set(names.values())) == len(streams)  # no two streams share one
    jetstream = re.compile(r"[A-Za-z0-9_-]{1,255}")
    assert all(jetstream.fullmatch(name) for name in names.values())
    # A stream without '_' keeps the name earlier versions gave it.
    assert _stream_name("ops.cmd") == "ops_cmd" and _stream_name("a-b.c") == "a-b_c"
