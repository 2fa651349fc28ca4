"""The nonce allocator of an account shared by several worker processes (PostgreSQL journal).

Every nonce handed out is a lease in the database (:mod:`chainops.core.journal.leases`),
taken in one transaction with the high-water mark; the in-flight window counts the
leases of every worker. Before broadcasting at a nonce the pipeline calls
:meth:`LeasedNonceAllocator.confirm`: the lease is marked sent only if it is still
ours, so a worker whose lease was taken over never broadcasts at it. A lost lease
raises :class:`LeaseLost` (nothing was sent: send again); a database that does not
answer holds the broadcast until it does, up to ``confirm_timeout``.

A background keeper renews this worker's leases (heartbeat) and takes over the
leases of dead workers, handing them to ``on_takeover`` (the operator finishes that
work as ``restore()`` does, see :mod:`.takeover`).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from chainops.core.errors import ChainopsError, JournalUnavailable, LeaseLost, NonceError
from chainops.core.journal import Journal
from chainops.core.journal.leases import LeaseState, NonceLeases, TakenLease
from chainops.operators.evm.nonces import (
    DEFAULT_WINDOW,
    ChainNonce,
    NonceAllocator,
    unrelease,
)
from chainops.operators.keeper import Keeper, shared_store
from chainops.operators.turnqueue import TurnQueue

log = logging.getLogger("chainops.evm.leases")

# While the window is full of other workers' leases, look again this often: a lease
# ends when a transaction mines, milliseconds apart on a busy account.
ROOM_POLL = 0.01
# Waiting for room also looks for dead workers, at most this often (a query of sessions).
SWEEP_POLL = 0.25
OnTakeover = Callable[[list[TakenLease]], Awaitable[None]]


def shared_allocator(
    chain_id: int,
    address: str,
    journal: Journal,
    chain_nonce: ChainNonce,
    window: int,
    expiry: float,
) -> LeasedNonceAllocator | None:
    """The leased allocator when ``journal`` is shared by several workers, else None."""
    leases = shared_store(journal, expiry)
    if leases is None:
        return None
    return LeasedNonceAllocator(chain_id, address, journal, chain_nonce, leases, window=window)


class LeasedNonceAllocator(NonceAllocator):
    """A :class:`NonceAllocator` whose reservations are leases shared across processes."""

    def __init__(
        self,
        chain_id: int,
        address: str,
        journal: Journal,
        chain_nonce: ChainNonce,
        leases: NonceLeases,
        *,
        window: int = DEFAULT_WINDOW,
        confirm_timeout: float | None = None,
    ) -> None:
        super().__init__(chain_id, address, journal, chain_nonce, window=window)
        self.leases = leases
        # An outage shorter than this only delays sends; three expiries outlast a restart
        # of the database server on most hosts.
        self.confirm_timeout = confirm_timeout or 3 * leases.expiry
        self.on_takeover: OnTakeover | None = None
        self._confirmed: set[int] = set()
        self._confirms = TurnQueue(self._confirm_batch, max_batch=1000)
        self._drops = TurnQueue(self._drop_batch, max_batch=1000)
        self._keeper = Keeper(
            what="lease",
            holder=leases.holder,
            expiry=leases.expiry,
            renew=self._renew,
            sweep=self._maybe_sweep,
        )
        self._sweeping = asyncio.Lock()
        self._swept_at = 0.0
        self._ticker: asyncio.Future[None] | None = None
        self.taken_over = 0  # leases taken over from dead workers, for metrics and tests
        self._undropped: set[int] = set()  # final transactions whose lease is not ended yet

    @property
    def holder(self) -> str:
        return self.leases.holder

    def _ids(self) -> tuple[int, str]:
        return self.chain_id, str(self.address)

    # -- reserve / release / done ---------------------------------------------------------------

    async def reserve(self) -> int:
        if not self._synced:
            await self.sync()
        while True:
            async with self._slots:
                await self._slots.wait_for(
                    lambda: len(self._in_flight) + self._taking < self.window
                )
                if self._released:
                    reused = heapq.heappop(self._released)  # its lease is still ours
                    self._in_flight.add(reused)
                    return reused
                self._taking += 1
            try:
                nonce: int | None = await self._fresh.put(None)
            finally:
                self._taking -= 1
            if nonce is not None:
                self._in_flight.add(nonce)
                return nonce
            # The window is full of leases, some of them other workers': look again soon
            # (every waiter at once: one batched take), and take over a dead worker's.
            if time.monotonic() - self._swept_at > SWEEP_POLL:
                self._swept_at = time.monotonic()
                await self._maybe_sweep()
            if self._ticker is None or self._ticker.done():
                self._ticker = asyncio.ensure_future(self._tick())
            async with self._slots:
                await self._slots.wait()

    async def _tick(self) -> None:
        await asyncio.sleep(ROOM_POLL)
        async with self._slots:
            self._slots.notify_all()

    async def _take_fresh(self, waiters: Sequence[None]) -> list[int | None]:  # type: ignore[override]
        chain, address = self._ids()
        got: list[int | None] = list(
            self.leases.take(chain, address, self.key, self._floor, len(waiters), self.window)
        )
        return got + [None] * (len(waiters) - len(got))

    async def release(self, nonce: int) -> None:
        async with self._slots:
            if nonce not in self._in_flight:
                raise NonceError(f"nonce {nonce} is not reserved")
            self._in_flight.discard(nonce)
            self._confirmed.discard(nonce)
            chain, address = self._ids()
            try:
                stepped = self.leases.step_back(chain, address, self.key, nonce)
            except JournalUnavailable:
                stepped = False
            if not stepped:
                heapq.heappush(self._released, nonce)  # kept leased, handed out here first
            self._slots.notify()

    async def done(self, nonce: int) -> None:
        async with self._slots:
            if nonce not in self._in_flight:
                return
            self._in_flight.discard(nonce)
            self._confirmed.discard(nonce)
            self._slots.notify()
        try:
            await self._drops.put(nonce)
        except JournalUnavailable:
            self._undropped.add(nonce)  # ended by the next heartbeat that reaches the database

    async def _drop_batch(self, nonces: Sequence[int]) -> list[None]:
        chain, address = self._ids()
        self.leases.drop(chain, address, nonces)
        return [None] * len(nonces)

    async def adopt(self, nonce: int) -> None:
        """Hold a journalled (maybe broadcast) nonce as ours, its lease counting as sent,
        unless another worker leases it (then it stays theirs: :meth:`holds` says no)."""
        chain, address = self._ids()
        async with self._slots:
            if nonce in self._in_flight:
                return
            if nonce not in self.leases.hold(chain, address, [nonce], LeaseState.SENT):
                return
            self._in_flight.add(nonce)
            self._confirmed.add(nonce)
            unrelease(self._released, nonce)
            self._journal.set_max(self.key, nonce + 1)

    def holds(self, nonce: int) -> bool:
        return nonce in self._in_flight

    def took_over(self, taken: list[TakenLease]) -> None:
        """Count leases taken over from a dead worker as ours (sent ones need no confirm)."""
        for lease in taken:
            self._in_flight.add(lease.nonce)
            if lease.state is LeaseState.SENT:
                self._confirmed.add(lease.nonce)

    # -- before broadcast ----------------------------------------------------------------------

    async def confirm(self, nonce: int) -> None:
        """Mark our lease on ``nonce`` sent; raise :class:`LeaseLost` if it is not ours.

        While the database does not answer this waits (nothing leaves meanwhile), up to
        ``confirm_timeout``; then :class:`JournalUnavailable`.
        """
        if nonce in self._confirmed:
            return
        deadline = time.monotonic() + self.confirm_timeout
        delay = 0.05
        while True:
            try:
                ours: bool = await self._confirms.put(nonce)
                break
            except JournalUnavailable:
                if time.monotonic() + delay > deadline:
                    await self.give_back(nonce)  # still leased to us: the next send reuses it
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
        if not ours:
            async with self._slots:
                self._in_flight.discard(nonce)
                self._slots.notify()
            raise LeaseLost(
                f"nonce {nonce} of {self.address} was taken over by another worker "
                "(this one missed its lease expiry); nothing was broadcast: send again"
            )
        self._confirmed.add(nonce)

    async def _confirm_batch(self, nonces: Sequence[int]) -> list[bool]:
        chain, address = self._ids()
        ours = self.leases.confirm(chain, address, nonces)
        return [n in ours for n in nonces]

    # -- heartbeat and takeover ----------------------------------------------------------------

    def start(self) -> None:
        """Start renewing our leases and watching for dead workers' ones."""
        self._keeper.start()

    async def stop(self, *, retire: bool = True) -> None:
        """Stop the keeper; ``retire``: let others take what we still lease at once."""
        await self._keeper.stop()
        if self._ticker is not None:
            self._ticker.cancel()
        if retire:
            with contextlib.suppress(ChainopsError):
                self.leases.retire()

    def _renew(self) -> None:
        self.leases.heartbeat()
        if self._undropped:
            chain, address = self._ids()
            self.leases.drop(chain, address, self._undropped)
            self._undropped = set()

    async def _maybe_sweep(self) -> None:
        chain, address = self._ids()
        try:
            dead = self.leases.has_dead(chain, address)
        except JournalUnavailable:
            return
        if dead:
            await self.sweep()

    async def sweep(self) -> list[TakenLease]:
        """Take over the leases of dead workers on this account and finish their work."""
        if self._sweeping.locked():
            return []
        async with self._sweeping:
            chain, address = self._ids()
            taken = self.leases.take_over(chain, address, self.key)
            if not taken:
                return []
            log.info(
                "%s took over nonces %s of %s",
                self.holder,
                [t.nonce for t in taken],
                sorted({t.previous_holder for t in taken}),
            )
            self.taken_over += len(taken)
            await self.sync()
            self.took_over(taken)
            if self.on_takeover is not None:
                await self.on_takeover(taken)
            return taken
