"""Sends admitted in waves: a burst is signed, journalled and broadcast in parts.

A thousand concurrent sends that all reach the signing step in one loop turn
are signed and journalled together before the first one leaves: an EVM node
then mines them all while this process idles, and on Solana the first ones'
blockhash ages by the whole burst before they are sent. Admitting ``per_turn``
of them per loop turn keeps the batches large (one journal commit and one
broadcast batch per wave) while the first waves land as the next are signed.

A wave's members call :meth:`Waves.leave` once journalled; the next wave is
admitted only after all of them left. Without that, the next wave's signing
is queued on the event loop ahead of the journalled wave's broadcast (both
wake in the same turn, the admission first), and the node idles through it.
"""

from __future__ import annotations

import asyncio
from collections import deque

# Large enough that batching still pays (one commit, one request per wave); small
# enough that a 1,000-transfer burst reaches the node in several overlapping parts.
PER_TURN = 128


class Waves:
    """At most ``per_turn`` admissions per wave, one wave inside at a time, in arrival order."""

    def __init__(self, per_turn: int = PER_TURN) -> None:
        self.per_turn = per_turn
        self._used = 0  # admitted in the current turn (the wave being formed)
        self._inside = 0  # admitted and not yet left
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._scheduled = False

    @property
    def inside(self) -> int:
        """Callers admitted that have not left yet."""
        return self._inside

    async def admit(self) -> None:
        """Return at once if the wave being formed has room, else with a later wave, in order.

        Every admitted caller must call :meth:`leave` once past the stage the waves
        guard (also when it fails there).
        """
        forming = self._used > 0 or self._inside == 0
        if forming and self._used < self.per_turn and not self._waiting:
            self._enter()
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        if self._inside == 0:
            self._schedule()
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.leave()  # admitted, then cancelled before it could run: give back its place
            raise

    def leave(self) -> None:
        """An admitted caller is past the guarded stage; the last one lets the next wave in."""
        self._inside -= 1
        if self._inside == 0 and self._waiting:
            self._schedule()

    def _enter(self) -> None:
        self._used += 1
        self._inside += 1
        self._schedule()  # the wave closes at the end of this turn

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._next_turn)

    def _next_turn(self) -> None:
        self._scheduled = False
        self._used = 0
        if self._inside:
            return  # the last to leave schedules the next wave
        while self._waiting and self._used < self.per_turn:
            waiter = self._waiting.popleft()
            if not waiter.done():  # a caller cancelled meanwhile takes no room
                waiter.set_result(None)
                self._used += 1
                self._inside += 1
        if self._used:
            self._schedule()
