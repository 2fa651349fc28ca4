"""The shared recent blockhash: one fetch for all, refreshed ahead, never stale."""

from __future__ import annotations

import asyncio

import pytest

from chainops.core.errors import RpcError
from chainops.operators.solana.blockhashes import RecentBlockhash
from chainops.operators.solana.transport import Blockhash


class Node:
    """Hands out blockhashes hash0, hash1, ...; with a ``gate`` set, each fetch waits for it."""

    def __init__(self) -> None:
        self.calls = 0
        self.gate: asyncio.Event | None = None
        self.fail = False

    async def latest_blockhash(self) -> Blockhash:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise RpcError("node down")
        return Blockhash(blockhash=f"hash{self.calls - 1}", last_valid_block_height=100)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _shared() -> tuple[Node, Clock, RecentBlockhash]:
    node, clock = Node(), Clock()
    return node, clock, RecentBlockhash(node.latest_blockhash, ttl=0.5, clock=clock)


async def _settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_concurrent_first_sends_share_one_fetch() -> None:
    node, _clock, shared = _shared()
    assert shared.cached() is None
    got = await asyncio.gather(*[shared.get() for _ in range(50)])
    assert {b.blockhash for b in got} == {"hash0"} and node.calls == 1


async def test_fresh_is_served_without_a_fetch() -> None:
    node, clock, shared = _shared()
    await shared.get()
    clock.now += 0.2  # under half the ttl: no refresh yet
    cached = shared.cached()
    assert cached is not None and cached.blockhash == "hash0"
    await _settle()
    assert node.calls == 1


async def test_half_way_to_stale_a_refresh_starts_and_the_old_one_still_serves() -> None:
    node, clock, shared = _shared()
    await shared.get()
    clock.now += 0.3
    node.gate = asyncio.Event()
    first = shared.cached()
    second = shared.cached()  # the refresh in flight: not a second one
    assert first is not None and second is not None
    assert first.blockhash == second.blockhash == "hash0"  # nobody waits for the refresh
    await _settle()
    assert node.calls == 2
    node.gate.set()
    await _settle()
    fresh = shared.cached()
    assert fresh is not None and fresh.blockhash == "hash1"
    assert node.calls == 2


async def test_a_stale_blockhash_is_never_served() -> None:
    _node, clock, shared = _shared()
    await shared.get()
    clock.now += 0.5  # stale: callers wait for the next one
    assert shared.cached() is None
    assert (await shared.get()).blockhash == "hash1"


async def test_the_age_counts_from_the_question_not_the_answer() -> None:
    node, clock, shared = _shared()
    node.gate = asyncio.Event()
    waiting = asyncio.ensure_future(shared.get())
    await _settle()
    clock.now += 0.4  # a slow answer: the blockhash is as old as the question
    node.gate.set()
    await waiting
    clock.now += 0.1
    assert shared.cached() is None


async def test_a_failed_refresh_is_raised_to_the_next_waiting_caller_only() -> None:
    node, clock, shared = _shared()
    await shared.get()
    node.fail = True
    clock.now += 0.3
    assert shared.cached() is not None  # the failed refresh in the background is no error here
    await _settle()
    clock.now += 0.3
    with pytest.raises(RpcError, match="node down"):
        await shared.get()
    node.fail = False
    assert (await shared.get()).blockhash.startswith("hash")


async def test_a_caller_that_gives_up_does_not_cancel_the_shared_fetch() -> None:
    node, _clock, shared = _shared()
    node.gate = asyncio.Event()
    quitter = asyncio.ensure_future(shared.get())
    stayer = asyncio.ensure_future(shared.get())
    await _settle()
    quitter.cancel()
    await _settle()
    node.gate.set()
    assert (await stayer).blockhash == "hash0" and node.calls == 1


async def test_stop_cancels_a_refresh_in_flight() -> None:
    node, clock, shared = _shared()
    await shared.get()
    clock.now += 0.3
    node.gate = asyncio.Event()
    assert shared.cached() is not None  # starts the refresh, which waits at the node
    await _settle()
    assert node.calls == 2
    await shared.stop()
    node.gate.set()
    await _settle()
    cached = shared.cached()  # the cancelled refresh stored nothing; this starts another
    assert cached is not None and cached.blockhash == "hash0"
    await _settle()
    fresh = shared.cached()
    assert fresh is not None and fresh.blockhash == "hash2" and node.calls == 3
    await shared.stop()  # nothing in flight: a no-op
