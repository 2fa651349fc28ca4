"""Sends are admitted in waves: at most ``per_turn`` per loop turn, in arrival order, and the
next wave only once every member of the one before has left."""

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
        waves.leave()

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
    waves.leave()
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # a later turn: the wave has room again
    await asyncio.wait_for(waves.admit(), timeout=1)
    waves.leave()
    assert waves.inside == 0


async def test_a_cancelled_caller_takes_no_room() -> None:
    waves = Waves(per_turn=1)
    first, gone, kept = (asyncio.ensure_future(waves.admit()) for _ in range(3))
    await asyncio.sleep(0)  # all three asked in one turn: only the first is in
    assert first.done() and not gone.done() and not kept.done()
    gone.cancel()
    waves.leave()  # the first is through: the next wave may come in
    await asyncio.sleep(0)  # the next turn's one place goes to the caller still waiting
    await asyncio.sleep(0)
    assert kept.done() and gone.cancelled()


async def test_the_next_wave_waits_for_the_last_member_of_the_one_inside() -> None:
    waves = Waves(per_turn=3)
    first = [asyncio.ensure_future(waves.admit()) for _ in range(3)]
    later = [asyncio.ensure_future(waves.admit()) for _ in range(2)]
    await asyncio.sleep(0)
    assert all(f.done() for f in first) and not any(f.done() for f in later)
    waves.leave()
    waves.leave()
    for _ in range(5):  # turns pass: one member is still inside (journalling, say)
        await asyncio.sleep(0)
    assert not any(f.done() for f in later)
    waves.leave()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert all(f.done() for f in later)
    assert waves.inside == 2


async def test_a_caller_arriving_while_a_wave_is_inside_waits_for_it() -> None:
    waves = Waves(per_turn=10)
    await waves.admit()
    await asyncio.sleep(0)  # a later turn: the wave closed with one member
    late = asyncio.ensure_future(waves.admit())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert not late.done()
    waves.leave()
    await asyncio.wait_for(late, timeout=1)
    assert waves.inside == 1


async def test_admitted_then_cancelled_before_running_gives_its_place_back() -> None:
    waves = Waves(per_turn=1)
    await waves.admit()
    await asyncio.sleep(0)
    admitted = asyncio.ensure_future(waves.admit())
    after = asyncio.ensure_future(waves.admit())
    await asyncio.sleep(0)
    waves.leave()
    await asyncio.sleep(0)  # the next turn admits ``admitted``: its wake-up is queued ...
    admitted.cancel()  # ... and it is cancelled before it runs
    await asyncio.wait_for(after, timeout=1)  # its place was given back
    assert admitted.cancelled()
    assert waves.inside == 1
