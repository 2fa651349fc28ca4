"""The recent blockhash a sender's transactions share, refreshed before it goes stale.

Every send needs a recent blockhash; fetching one per send would double a burst's
requests, so one is shared for ``ttl`` seconds. Once it is half that old, the next
send starts a refresh in the background and still uses the shared one: a steady
stream of sends never waits for a fetch, where a cache that only expires would
hold every send of that moment (a whole wave of a burst) for one round trip.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from chainops.operators.solana.transport import Blockhash

log = logging.getLogger("chainops.solana.sender")


class RecentBlockhash:
    """One shared blockhash: fetched once per ``ttl`` seconds, refreshed ahead of expiry."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Blockhash]],
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self.ttl = ttl
        self._clock = clock
        self._entry: tuple[float, Blockhash] | None = None  # (when it was asked for, it)
        self._fetching: asyncio.Future[Blockhash] | None = None
        self.fetches = 0

    def cached(self) -> Blockhash | None:
        """The shared blockhash while fresh, else None; half way to stale, a refresh starts."""
        entry = self._entry
        if entry is None:
            return None
        age = self._clock() - entry[0]
        if age >= self.ttl:
            return None
        if age >= self.ttl / 2:
            fetching = self._fetching
            if fetching is None or fetching.done():
                self._start()
        return entry[1]

    async def get(self) -> Blockhash:
        """The shared blockhash, fetched first if there is none fresh (one fetch for all)."""
        cached = self.cached()
        if cached is not None:
            return cached
        fetching = self._fetching
        if fetching is None or fetching.done():
            fetching = self._start()
        # shielded: a caller that gives up does not cancel the fetch the others wait on
        return await asyncio.shield(fetching)

    async def stop(self) -> None:
        """Cancel a refresh still in flight (closing: nobody will use it)."""
        fetching = self._fetching
        if fetching is not None and not fetching.done():
            fetching.cancel()
            await asyncio.wait([fetching])

    def _start(self) -> asyncio.Future[Blockhash]:
        fetching = self._fetching = asyncio.ensure_future(self._fetch_one())
        fetching.add_done_callback(_settled)
        return fetching

    async def _fetch_one(self) -> Blockhash:
        asked = self._clock()  # its age counts from the question: the answer is at least as new
        self.fetches += 1
        fresh = await self._fetch()
        self._entry = (asked, fresh)
        return fresh


def _settled(fetch: asyncio.Future[Blockhash]) -> None:
    # A refresh nobody awaited may fail unseen: the next fetch, awaited, raises it again.
    if not fetch.cancelled() and fetch.exception() is not None:
        log.debug("blockhash refresh failed: %s", fetch.exception())
