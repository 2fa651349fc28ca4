"""Sends are admitted in waves: at most ``per_turn`` per loop turn, in arrival order."""

from __future__ import annotations

import asyncio

from chainops.operators.waves import Waves


async def _admitted_turns(waves: Waves, count: int) -> tuple[list[int], list[int]]:
    """(turn each caller was admitted in, callers in admission order)."""
    turn = 0
    turns: list[int] = []
    order: list[int] = []

    async def one(index: int) -> None:
        await waves.admit()
        turns.append(turn)
        order.append(index)

    tasks = [asyncio.ensure_future(one(i)) for i in range(count)]
    while not all(t.done() for t in tasks):
        await asyncio.sleep(0)
        turn += 1
    return turns, order


async def test_a_burst_is_admitted_per_turn_in_arrival_order() -> None:
    turns, order = await _admitted_turns(Waves(per_turn=10), 35)
    per_turn = [turns.count(t) for t in sorted(set(turns))]
    assert per_turn == [10, 10, 10, 5]
    assert order == list(range(35))


async def test_a_lone_caller_is_admitted_at_once() -> None:
    waves = Waves(per_turn=2)
    await asyncio.wait_for(waves.admit(), timeout=1)
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # a later turn: the wave has room again
    await asyncio.wait_for(waves.admit(), timeout=1)


async def test_a_cancelled_caller_takes_no_room() -> None:
    waves = Waves(per_turn=1)
    first, gone, kept = (asyncio.ensure_future(waves.admit()) for _ in range(3))
    await asyncio.sleep(0)  # all three asked in one turn: only the first is in
    assert first.done() and not gone.done() and not kept.done()
    gone.cancel()
    await asyncio.sleep(0)  # the next turn's one place goes to the caller still waiting
    await asyncio.sleep(0)
    assert kept.done() and gone.cancelled()
