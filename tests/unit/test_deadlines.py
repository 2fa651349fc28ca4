"""Deadlines: many timeouts on one loop timer, each run once, in order, unless cancelled."""

from __future__ import annotations

import asyncio
import gc
import weakref

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
        d = Deadlines()
        now = asyncio.get_running_loop().time()
        d.call_at(now + 0.03, ran.append, "c")
        d.call_at(now + 0.01, ran.append, "a")
        d.call_at(now + 0.02, ran.append, "b")
        await _settle(0.06)
        assert len(d) == 0
        return ran

    assert asyncio.run(main()) == ["a", "b", "c"]


def test_not_before_its_time() -> None:
    async def main() -> tuple[list[str], list[str]]:
        ran: list[str] = []
        d = Deadlines()
        d.call_at(asyncio.get_running_loop().time() + 0.2, ran.append, "late")
        await _settle(0.02)
        early = list(ran)
        await _settle(0.25)
        return early, ran

    assert asyncio.run(main()) == ([], ["late"])


def test_cancelled_never_runs_and_the_timer_moves_on() -> None:
    async def main() -> list[str]:
        ran: list[str] = []
        d = Deadlines()
        now = asyncio.get_running_loop().time()
        first = d.call_at(now + 0.01, ran.append, "first")
        d.call_at(now + 0.02, ran.append, "second")
        d.cancel(first)
        d.cancel(first)  # twice: a no-op
        await _settle(0.05)
        return ran

    assert asyncio.run(main()) == ["second"]


def test_a_failing_callback_does_not_stop_the_others() -> None:
    def boom() -> None:
        raise RuntimeError("boom")

    async def main() -> tuple[list[str], list[object]]:
        loop = asyncio.get_running_loop()
        reported: list[object] = []
        loop.set_exception_handler(lambda _loop, context: reported.append(context["exception"]))
        ran: list[str] = []
        d = Deadlines()
        now = loop.time()
        d.call_at(now, boom)
        d.call_at(now, ran.append, "after")
        await _settle(0.01)
        return ran, reported

    ran, reported = asyncio.run(main())
    assert ran == ["after"]
    assert len(reported) == 1 and isinstance(reported[0], RuntimeError)


def test_cancelled_entries_are_compacted(monkeypatch) -> None:
    monkeypatch.setattr(module, "_COMPACT_AT", 4)

    async def main() -> tuple[int, int]:
        d = Deadlines()
        now = asyncio.get_running_loop().time()
        entries = [d.call_at(now + 100, print) for _ in range(8)]
        for entry in entries[:6]:
            d.cancel(entry)
        kept = len(d._heap)
        for entry in entries[6:]:
            d.cancel(entry)
        return kept, len(d._heap)

    kept, left = asyncio.run(main())
    assert kept == 4  # compacted when 4 of 8 were cancelled; 2 more wait for the next pass
    assert left == 0


def test_a_new_loop_starts_afresh() -> None:
    d = Deadlines()
    ran: list[str] = []

    async def schedule_far() -> None:
        d.call_at(asyncio.get_running_loop().time() + 100, ran.append, "old loop")

    async def schedule_near() -> None:
        d.call_at(asyncio.get_running_loop().time(), ran.append, "new loop")
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
        d = Deadlines()
        now = asyncio.get_running_loop().time()
        entries = [
            d.call_at(now - offset / 1000, ran.append, i) for i, (offset, _) in enumerate(plan)
        ]
        for entry, (_, cancel) in zip(entries, plan, strict=True):
            if cancel:
                d.cancel(entry)
        await _settle()
        return ran

    ran = asyncio.run(main())
    live = [i for i, (_, cancel) in enumerate(plan) if not cancel]
    assert sorted(ran) == live
    assert ran == sorted(live, key=lambda i: (-plan[i][0], i))


def test_a_cancelled_deadline_holds_nothing() -> None:
    class Held:
        pass

    async def main() -> bool:
        d = Deadlines()
        held = Held()
        ref = weakref.ref(held)
        entry = d.call_at(asyncio.get_running_loop().time() + 100, print, held)
        d.cancel(entry)
        del held
        gc.collect()
        return ref() is None

    assert asyncio.run(main())
