"""The recent blockhash a sender's transactions share, refreshed before it goes stale.

Every send needs a recent blockhash; fetching one per send would double a burst's
requests, so one is shared for ``ttl`` seconds and refreshed once half that old
(:class:`~chainops.operators.refreshing.Refreshing`): a steady stream of sends never
waits for it, where a cache that only expired held every send of that moment (a
whole wave of a burst) for one round trip.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from chainops.operators.refreshing import Refreshing
from chainops.operators.solana.transport import Blockhash


class RecentBlockhash:
    """One shared blockhash: fetched once per ``ttl`` seconds, refreshed ahead of expiry."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Blockhash]],
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self._shared: Refreshing[None, Blockhash] = Refreshing(
            lambda _: fetch(), lambda: self.ttl, clock=clock
        )

    def cached(self) -> Blockhash | None:
        """The shared blockhash while fresh, else None; half way to stale, a refresh starts."""
        return self._shared.cached(None)

    async def get(self) -> Blockhash:
        """The shared blockhash, fetched first if there is none fresh (one fetch for all)."""
        return await self._shared.get(None)

    async def stop(self) -> None:
        """Cancel a refresh still in flight (closing: nobody will use it)."""
        await self._shared.stop()
