"""Shared pieces of the queue tests: message types, server URLs, unique names."""

from __future__ import annotations

import os
import socket
import uuid

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
