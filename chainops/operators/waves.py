"""Sends admitted in waves: a burst is signed, journalled and broadcast in parts.

A thousand concurrent sends that all reach the signing step in one loop turn
are signed and journalled together before the first one leaves: an EVM node
then mines them all while this process idles, and on Solana the first ones'
blockhash ages by the whole burst before they are sent. Admitting ``per_turn``
of them per loop turn keeps the batches large (one journal commit and one
broadcast batch per wave) while the first waves land as the next are signed.
"""

from __future__ import annotations

import asyncio
from collections import deque

# Large enough that batching still pays (one commit, one request per wave); small
# enough that a 1,000-transfer burst reaches the node in several overlapping parts.
PER_TURN = 128


class Waves:
    """At most ``per_turn`` admissions per event-loop turn, the others in arrival order."""

    def __init__(self, per_turn: int = PER_TURN) -> None:
        self.per_turn = per_turn
        self._used = 0
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._scheduled = False

    async def admit(self) -> None:
        """Return in this turn if the wave has room, else in a later turn, in order."""
        if self._used < self.per_turn and not self._waiting:
            self._used += 1
            self._schedule()
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        self._schedule()
        await waiter

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._next_turn)

    def _next_turn(self) -> None:
        self._scheduled = False
        self._used = 0
        while self._waiting and self._used < self.per_turn:
            waiter = self._waiting.popleft()
            if not waiter.done():  # a caller cancelled meanwhile takes no room
                waiter.set_result(None)
                self._used += 1
        if self._waiting or self._used:
            self._schedule()
