"""First broadcasts of one account leave in nonce order.

Concurrent sends finish signing and journalling in any order. A node that cannot
queue a future nonce (Hardhat under automine: "Nonce too high ... transactions can't
be queued when automining") refuses a transaction that arrives ahead of a lower one
of ours, and geth parks it in its future queue. So a transaction whose nonce was
reserved by this operator is held until every lower nonce it reserved has been
handed to the node (or given back unsent); the held ones then go together, lowest
first, in one batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from chainops.core.ids import TxHash
from chainops.operators.turnqueue import settle

SendRaw = Callable[[bytes], Awaitable[TxHash]]


class NonceOrderedSends:
    """Holds each first broadcast until every lower reserved nonce has gone out."""

    def __init__(self, send_raw: SendRaw) -> None:
        self._send_raw = send_raw
        self._expected: set[int] = set()  # reserved, first broadcast not yet answered
        self._ready: dict[int, tuple[bytes, asyncio.Future[TxHash]]] = {}
        self._flushing = False
        self._kick_planned = False
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def held(self) -> int:
        """Broadcasts signed and waiting for a lower nonce."""
        return len(self._ready)

    def expect(self, nonce: int) -> None:
        """``nonce`` is reserved: higher nonces wait for its first broadcast."""
        self._expected.add(nonce)

    def forget(self, nonce: int) -> None:
        """``nonce`` will not be broadcast by its sender (released unsent, or sent)."""
        if nonce in self._ready:
            return  # its sender stopped waiting (cancelled): the bytes still go, in order
        self._expected.discard(nonce)
        self._kick_soon()

    async def send(self, nonce: int, raw: bytes) -> TxHash:
        """Broadcast ``raw`` (at ``nonce``) once no lower expected nonce is unsent."""
        if nonce not in self._expected:
            return await self._send_raw(raw)
        future: asyncio.Future[TxHash] = asyncio.get_running_loop().create_future()
        self._ready[nonce] = (raw, future)
        self._kick_soon()
        return await future

    def _runnable(self) -> list[int]:
        """The lowest expected nonces, in order, as long as each is ready to go."""
        out: list[int] = []
        for nonce in sorted(self._expected):
            if nonce not in self._ready:
                break
            out.append(nonce)
        return out

    def _kick_soon(self) -> None:
        # At the end of this turn: the sends that become ready in it leave together.
        if not self._kick_planned:
            self._kick_planned = True
            asyncio.get_running_loop().call_soon(self._kick)

    def _kick(self) -> None:
        """Hand the runnable broadcasts over now, lowest first, if no batch is under way."""
        self._kick_planned = False
        if self._flushing:
            return
        run = self._runnable()
        if not run:
            return
        self._flushing = True
        items = [(nonce, *self._ready.pop(nonce)) for nonce in run]
        # Handed over in nonce order within this turn (one batch, lowest first), not from a
        # task started later: the node hears of them a loop turn sooner.
        try:
            sends = [self._send_raw(raw) for _, raw, _ in items]
        except Exception as exc:  # refused before queueing: its callers learn why, later ones go
            self._flushing = False
            for nonce, _, future in items:
                self._expected.discard(nonce)
                settle(future, exc)
            self._kick_soon()
            return
        task = asyncio.ensure_future(self._settle(items, sends))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _settle(
        self,
        items: list[tuple[int, bytes, asyncio.Future[TxHash]]],
        sends: list[Awaitable[TxHash]],
    ) -> None:
        try:
            results = await asyncio.gather(*sends, return_exceptions=True)
        except BaseException as exc:
            # cancelled (closing): every held caller learns it; nothing is left waiting
            held = [(n, raw, f) for n, (raw, f) in self._ready.items()]
            self._ready.clear()
            for nonce, _, future in [*items, *held]:
                self._expected.discard(nonce)
                if future.done():
                    continue
                if isinstance(exc, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(exc)
            raise
        finally:
            self._flushing = False
        for nonce, _, _ in items:
            self._expected.discard(nonce)
        # The next batch first: its flush is queued ahead of the answered callers'
        # continuations (hundreds after a large batch, tens of milliseconds of bookkeeping),
        # so the node hears of it before they run, not after.
        self._kick()
        for (_, _, future), result in zip(items, results, strict=True):
            settle(future, result)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
