"""First broadcasts of one account leave in nonce order.

Concurrent sends finish signing and journalling in any order. A node that cannot
queue a future nonce (Hardhat under automine: "Nonce too high ... transactions can't
be queued when automining") refuses a transaction that arrives ahead of a lower one
of ours, and geth parks it in its future queue. So a transaction whose nonce was
reserved by this operator is held until every lower nonce it reserved has been
handed to the node (or given back unsent); the held ones then go together, lowest
first, in one batch.

A node that runs the items of one batch concurrently (Hardhat) refuses some of
them as "nonce too high" although the lower nonces came in the same batch. Once
that is seen, those items are sent again, and every later first broadcast, one
per request: each after the answer to the one before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from chainops.core.ids import TxHash
from chainops.operators.evm.node_errors import NodeError, NodeErrorKind
from chainops.operators.turnqueue import settle

log = logging.getLogger("chainops.evm.ordering")

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
        # Set once the node refused a nonce as too high while the one below it came in
        # the same batch: it does not run a batch's items in order.
        self.one_at_a_time = False

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
        if self.one_at_a_time:
            run = run[:1]
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
        again = _out_of_order(results)
        if again and not self.one_at_a_time:
            self.one_at_a_time = True
            log.info(
                "the node refused %d of a batch of %d sends as ahead of nonces in the same "
                "batch: it runs a batch's items out of order; first broadcasts now go one "
                "per request",
                len(again),
                len(items),
            )
        for index, (nonce, raw, future) in enumerate(items):
            if index in again:
                self._ready[nonce] = (raw, future)  # once more, alone: still expected
            else:
                self._expected.discard(nonce)
        # The next batch first: its flush is queued ahead of the answered callers'
        # continuations (hundreds after a large batch, tens of milliseconds of bookkeeping),
        # so the node hears of it before they run, not after.
        self._kick()
        for index, ((_, _, future), result) in enumerate(zip(items, results, strict=True)):
            if index not in again:
                settle(future, result)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _out_of_order(results: Sequence[object]) -> set[int]:
    """Indices of a batch's items (lowest nonce first) refused as "nonce too high"
    although a lower nonce was accepted earlier in the same batch: sent alone, they
    may pass."""
    out: set[int] = set()
    accepted_below = False
    for index, result in enumerate(results):
        if isinstance(result, NodeError) and result.kind is NodeErrorKind.NONCE_GAP:
            if accepted_below:
                out.add(index)
        elif not isinstance(result, BaseException):
            accepted_below = True
    return out
