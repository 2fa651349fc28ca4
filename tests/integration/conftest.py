"""The integration tests leave the shared servers as they found them.

Every queue test names its streams with ``queue_helpers.unique``; at the end of
the run the NATS JetStream streams carrying those names are deleted, or a
server used for many runs collects thousands of them (and JetStream checks each
new stream's subjects against every one it holds).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import pytest

from chainops.queues import QueueUnavailable, open_transport
from tests.integration.queue_helpers import NATS_URL, TOKENS


@pytest.fixture(scope="session", autouse=True)
def _drop_test_streams() -> Iterator[None]:
    yield
    if TOKENS:
        asyncio.run(_drop_streams(set(TOKENS)))


async def _drop_streams(tokens: set[str]) -> None:
    try:
        # The transport's own opening: a plain connect first, so a missing server
        # answers at once instead of being retried for ever.
        transport = await open_transport(NATS_URL, timeout=2.0)
    except QueueUnavailable:
        return  # no server, nothing was left on it
    # A clean-up never fails the run: a server that cannot list or delete keeps them.
    with contextlib.suppress(Exception):
        try:
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
        finally:
            await transport.close()
