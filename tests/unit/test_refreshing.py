"""Shared reads: one fetch per key for every caller, and stale keys let go of."""

from __future__ import annotations

import asyncio

from chainops.operators.refreshing import Refreshing


async def test_keys_are_fetched_apart_and_stale_ones_dropped_once_many_are_held() -> None:
    now = [0.0]
    asked: list[str] = []

    async def fetch(key: str) -> str:
        asked.append(key)
        return key.upper()

    shared: Refreshing[str, str] = Refreshing(fetch, lambda: 10.0, clock=lambda: now[0], keep=2)
    assert await asyncio.gather(shared.get("a"), shared.get("a"), shared.get("b")) == [
        "A",
        "A",
        "B",
    ]
    assert asked == ["a", "b"]  # one fetch per key, shared by its callers
    now[0] = 20.0  # both stale
    assert await shared.get("c") == "C"  # two held: the stale ones go before "c" is kept
    assert shared.cached("a") is None and shared.cached("b") is None
    assert shared._values.keys() == {"c"}
    assert shared.fetches == 3


async def test_a_falsy_answer_is_still_an_answer() -> None:
    calls = [0]

    async def fetch(key: None) -> int:
        calls[0] += 1
        return 0  # a price of zero is a price

    shared: Refreshing[None, int] = Refreshing(fetch, lambda: 10.0, clock=lambda: 0.0)
    assert await shared.get(None) == 0
    assert shared.cached(None) == 0
    assert await shared.get(None) == 0 and calls[0] == 1
