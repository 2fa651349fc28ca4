"""Deadlines: many timeouts on one loop timer, each run once, in order, unless cancelled."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from chainops.operators import deadlines as module
from chainops.operators.deadlines import Deadlines


async def _settle(seconds: float = 0.0) -> None:
    await asyncio.sleep(seconds)
    for _ in range(3):
        await asyncio.sleep(0)


def test_runs_each_in_deadline_order_once() -> None:
    async def main() -> list[str]:
        ran: list[str] = []
        d = Deadlines(ran.append)
        now = asyncio.get_running_loop().time()
        d.call_at(now + 0.03, "c")
        d.call_at(now + 0.01, "a")
        d.call_at(now + 0.02, "b")
        await _settle(0.06)
        assert len(d) == 0
        return ran

    assert asyncio.run(main()) == ["a", "b", "c"]


def test_not_before_its_time() -> None:
    async def main() -> tuple[list[str], list[str]]:
        ran: list[str] = []
        d = Deadlines(ran.append)
        ticket = d.call_at(asyncio.get_running_loop().time() + 0.2, "late")
        await _settle(0.02)
        early = list(ran)
        assert d.pending(ticket)
        await _settle(0.25)
        assert not d.pending(ticket)  # it ran
        return early, ran

    assert asyncio.run(main()) == ([], ["late"])


def test_cancelled_never_runs_and_the_timer_moves_on() -> None:
    async def main() -> list[str]:
        ran: list[str] = []
        d = Deadlines(ran.append)
        now = asyncio.get_running_loop().time()
        first = d.call_at(now + 0.01, "first")
        d.call_at(now + 0.02, "second")
        d.cancel(first)
        d.cancel(first)  # twice: a no-op
        assert not d.pending(first)
        await _settle(0.05)
        return ran

    assert asyncio.run(main()) == ["second"]


def test_a_failing_callback_does_not_stop_the_others() -> None:
    ran: list[str] = []

    def call(item: str) -> None:
        if item == "boom":
            raise RuntimeError("boom")
        ran.append(item)

    async def main() -> list[object]:
        loop = asyncio.get_running_loop()
        reported: list[object] = []
        loop.set_exception_handler(lambda _loop, context: reported.append(context["exception"]))
        d = Deadlines(call)
        now = loop.time()
        d.call_at(now, "boom")
        d.call_at(now, "after")
        await _settle(0.01)
        return reported

    reported = asyncio.run(main())
    assert ran == ["after"]
    assert len(reported) == 1 and isinstance(reported[0], RuntimeError)


def test_cancelled_entries_are_compacted(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(module, "_COMPACT_AT", 4)

    async def main() -> tuple[int, int]:
        d = Deadlines(print)
        now = asyncio.get_running_loop().time()
        tickets = [d.call_at(now + 100, i) for i in range(8)]
        for ticket in tickets[:6]:
            d.cancel(ticket)
        kept = len(d._heap)
        for ticket in tickets[6:]:
            d.cancel(ticket)
        return kept, len(d._heap)

    kept, left = asyncio.run(main())
    assert kept == 4  # compacted when 4 of 8 were cancelled; 2 more wait for the next pass
    assert left == 0


def test_a_new_loop_starts_afresh() -> None:
    ran: list[str] = []
    d = Deadlines(ran.append)

    async def schedule_far() -> None:
        d.call_at(asyncio.get_running_loop().time() + 100, "old loop")

    async def schedule_near() -> None:
        d.call_at(asyncio.get_running_loop().time(), "new loop")
        await _settle(0.01)

    asyncio.run(schedule_far())
    asyncio.run(schedule_near())
    assert ran == ["new loop"]
    assert len(d) == 0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=5), st.booleans()), min_size=1, max_size=40
    )
)
def test_every_live_deadline_runs_once_in_order(plan: list[tuple[int, bool]]) -> None:
    """Deadlines already due (offsets in ms into the past) run at once, each once, in
    (deadline, insertion) order; cancelled ones never."""

    async def main() -> list[int]:
        ran: list[int] = []
        d = Deadlines(ran.append)
        now = asyncio.get_running_loop().time()
        tickets = [d.call_at(now - offset / 1000, i) for i, (offset, _) in enumerate(plan)]
        for ticket, (_, cancel) in zip(tickets, plan, strict=True):
            if cancel:
                d.cancel(ticket)
        await _settle()
        assert len(d) == 0
        return ran

    ran = asyncio.run(main())
    live = [i for i, (_, cancel) in enumerate(plan) if not cancel]
    assert sorted(ran) == live
    assert ran == sorted(live, key=lambda i: (-plan[i][0], i))


def test_a_cancelled_deadline_holds_nothing() -> None:
    class Held:
        pass

    async def main() -> bool:
        d = Deadlines(print)
        d.call_at(asyncio.get_running_loop().time() + 200, "keeps the heap non-empty")
        held = Held()
        ref = weakref.ref(held)
        ticket = d.call_at(asyncio.get_running_loop().time() + 100, held)
        d.cancel(ticket)
        del held
        gc.collect()
        return ref() is None

    assert asyncio.run(main())


def test_a_scheduled_deadline_adds_no_object_for_the_collector() -> None:
    """What a waiting transfer costs the collector: its deadline is a float and an int
    (untracked) and a dict slot, not an object per wait."""

    async def main() -> int:
        d = Deadlines(print)
        now = asyncio.get_running_loop().time()
        items: list[Any] = [object() for _ in range(1000)]
        gc.collect()
        before = len(gc.get_objects())
        for i, item in enumerate(items):
            d.call_at(now + 100 + i, item)
        gc.collect()  # untracks the heap's (float, int) tuples
        return len(gc.get_objects()) - before

    assert asyncio.run(main()) < 10
