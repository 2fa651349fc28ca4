"""Reads shared while fresh and refreshed before they go stale (a blockhash, a fee market).

A burst of sends needs the same few reads. One fetch serves every caller of the
moment, and its answer is shared for ``fresh()`` seconds. Once it is half that old,
the next caller starts a refresh in the background and still gets the shared value:
a steady stream of callers never waits for a fetch, where a cache that only expires
would hold every caller of that moment for one round trip. Only a stale value (or
none yet) is waited for.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from functools import partial
from typing import Generic, TypeVar

log = logging.getLogger("chainops.operators")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Refreshing(Generic[K, V]):
    """``fetch(key)`` answers, shared per key while fresh, refreshed half way to stale.

    ``fresh`` is read on every look (a policy may change it); once ``keep`` keys are
    held, the stale ones are dropped, so a long-running caller asking about ever new
    keys does not keep every answer.
    """

    def __init__(
        self,
        fetch: Callable[[K], Awaitable[V]],
        fresh: Callable[[], float],
        *,
        clock: Callable[[], float] = time.monotonic,
        keep: int = 256,
    ) -> None:
        self._fetch = fetch
        self._fresh = fresh
        self._clock = clock
        self._keep = keep
        self._values: dict[K, tuple[float, V]] = {}  # key -> (when it was asked for, answer)
        self._pending: dict[K, asyncio.Future[V]] = {}
        self.fetches = 0

    def cached(self, key: K) -> V | None:
        """The shared answer while fresh, else None; half way to stale, a refresh starts
        (in the background: call it from the event loop)."""
        entry = self._values.get(key)
        if entry is None:
            return None
        fresh = self._fresh()
        age = self._clock() - entry[0]
        if age >= fresh:
            return None
        if age >= fresh / 2 and key not in self._pending:
            self.fetching(key)
        return entry[1]

    async def get(self, key: K) -> V:
        """The shared answer, fetched first if there is none fresh (one fetch for all)."""
        value = self.cached(key)
        if value is not None:
            return value
        # shielded: a caller that gives up does not cancel the fetch the others wait on
        return await asyncio.shield(self.fetching(key))

    def fetching(self, key: K) -> asyncio.Future[V]:
        """The fetch of ``key`` in flight, started if there is none."""
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = asyncio.ensure_future(self._fetch_one(key))
            pending.add_done_callback(partial(self._settled, key))
        return pending

    async def stop(self) -> None:
        """Cancel the fetches still in flight (closing: a background refresh has no waiter)."""
        pending = [fetch for fetch in self._pending.values() if not fetch.done()]
        for fetch in pending:
            fetch.cancel()
        if pending:
            await asyncio.wait(pending)

    async def _fetch_one(self, key: K) -> V:
        asked = self._clock()  # its age counts from the question: the answer is at least as new
        self.fetches += 1
        value = await self._fetch(key)
        if len(self._values) >= self._keep:
            fresh = self._fresh()
            self._values = {k: v for k, v in self._values.items() if asked - v[0] < fresh}
        self._values[key] = (asked, value)
        return value

    def _settled(self, key: K, fetch: asyncio.Future[V]) -> None:
        if self._pending.get(key) is fetch:
            del self._pending[key]
        # A refresh nobody awaited may fail unseen: the next fetch, awaited, raises it again.
        if not fetch.cancelled() and fetch.exception() is not None:
            log.debug("refresh of %r failed: %s", key, fetch.exception())
