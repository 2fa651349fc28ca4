"""Nonce allocation for one (chain, address): async-safe, persisted, never backwards.

The journal holds the allocation high-water mark (the next nonce to hand
out) under ``nonce:<chain id>:<address>``. Reserving takes it inside one
SQLite write transaction, so two operators for the same account, in one
process or in several sharing the journal file, never get the same nonce.

Life of a nonce: ``reserve`` -> the caller signs and journals an attempt ->
broadcast -> ``done`` once the transaction is final (mined, replaced,
dropped for good). If the send fails before anything was broadcast the
caller ``release``-s it: the high-water mark steps back when it was the last
one handed out, otherwise the nonce is kept and handed out again first, so
no gap is left behind.

At most ``window`` nonces are in flight (reserved and not done); further
``reserve`` calls wait. Geth's default pool keeps 16 executable transactions
per account before it starts evicting, hence the default.

With a PostgreSQL journal shared by several worker processes the operator uses
:class:`~chainops.operators.evm.nonce_leases.LeasedNonceAllocator` instead:
reservations are leases in the database and the window is the account's.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Awaitable, Callable, Sequence

from chainops.core.errors import LeaseLost, NonceError, ValidationError
from chainops.core.ids import EvmAddress
from chainops.core.journal import Journal
from chainops.operators.turnqueue import TurnQueue

DEFAULT_WINDOW = 16

ChainNonce = Callable[[], Awaitable[int]]


class NonceAllocator:
    """Hands out nonces for one account on one chain."""

    def __init__(
        self,
        chain_id: int,
        address: str,
        journal: Journal,
        chain_nonce: ChainNonce,
        *,
        window: int = DEFAULT_WINDOW,
    ) -> None:
        if window < 1:
            raise ValidationError(f"nonce window must be >= 1, got {window}")
        self.chain_id = chain_id
        self.address = EvmAddress(address)
        self.key = f"nonce:{chain_id}:{self.address}"
        self.window = window
        self._journal = journal
        self._chain_nonce = chain_nonce
        self._floor = 0  # highest nonce count the chain has reported: never lowered
        self._released: list[int] = []  # heap of nonces handed back before broadcast
        self._in_flight: set[int] = set()
        self._slots = asyncio.Condition()
        self._synced = False
        self._taking = 0  # reservations waiting for their fresh nonce from the journal
        self._fresh = TurnQueue(self._take_fresh, max_batch=window)

    @property
    def in_flight(self) -> frozenset[int]:
        return frozenset(self._in_flight)

    @property
    def floor(self) -> int:
        """The chain's nonce count as last seen (only ever rises)."""
        return self._floor

    def high_water(self) -> int:
        """The next fresh nonce: max(journalled high-water mark, chain count)."""
        stored = self._journal.get_value(self.key)
        return max(self._floor, int(stored) if stored is not None else 0)

    def forget_high_water(self) -> None:
        """Take the node's count as the high-water mark: the journalled one describes another
        chain (a restarted local one), whose nonces are no gaps to fill here."""
        self._journal.set_value(self.key, str(self._floor))

    async def sync(self) -> int:
        """Read the chain's pending nonce count and raise the floor to it; returns the floor.

        A lagging node may report less than we already know: the floor never moves down.
        """
        count = await self._chain_nonce()
        if count < 0:
            raise NonceError(f"node reported a negative nonce count {count}")
        self._floor = max(self._floor, count)
        self._synced = True
        # Nonces the chain has consumed can no longer be handed out again.
        self._released = [n for n in self._released if n >= self._floor]
        heapq.heapify(self._released)
        return self._floor

    async def reserve(self) -> int:
        """The next nonce to use; waits while ``window`` nonces are in flight."""
        if not self._synced:
            await self.sync()
        async with self._slots:
            await self._slots.wait_for(lambda: len(self._in_flight) + self._taking < self.window)
            if self._released:
                reused = heapq.heappop(self._released)
                self._in_flight.add(reused)
                return reused
            self._taking += 1
        try:
            nonce: int = await self._fresh.put(None)
        finally:
            self._taking -= 1
        self._in_flight.add(nonce)
        return nonce

    async def _take_fresh(self, waiters: Sequence[None]) -> list[int]:
        """One journal transaction hands a contiguous block to every waiter of this turn."""
        with self._journal.atomic():
            first = self.high_water()
            self._journal.set_value(self.key, str(first + len(waiters)))
        return list(range(first, first + len(waiters)))

    async def release(self, nonce: int) -> None:
        """Give back a nonce whose transaction never reached the network."""
        async with self._slots:
            if nonce not in self._in_flight:
                raise NonceError(f"nonce {nonce} is not reserved")
            self._in_flight.discard(nonce)
            with self._journal.atomic():
                stored = self._journal.get_value(self.key)
                if stored is not None and int(stored) == nonce + 1:
                    self._journal.set_value(self.key, str(nonce))  # it was the last one out
                else:
                    heapq.heappush(self._released, nonce)
            self._slots.notify()

    async def done(self, nonce: int) -> None:
        """The transaction at ``nonce`` is final: free its slot in the window."""
        async with self._slots:
            if nonce in self._in_flight:
                self._in_flight.discard(nonce)
                self._slots.notify()

    async def confirm(self, nonce: int) -> None:
        """Check, before broadcasting at ``nonce``, that it is still ours.

        One process owns an embedded journal, so nothing can take a nonce from it;
        the shared allocator (:mod:`.nonce_leases`) checks its lease in the database.
        """

    def holds(self, nonce: int) -> bool:
        """Whether this allocator may use ``nonce`` (a shared one: whether its lease is ours)."""
        return True

    def require(self, nonce: int) -> None:
        """Raise :class:`LeaseLost` unless :meth:`holds` ``nonce``."""
        if not self.holds(nonce):
            raise LeaseLost(f"nonce {nonce} of {self.address} is leased by another worker")

    async def give_back(self, nonce: int) -> None:
        """A nonce whose signed transaction was abandoned before broadcast: reuse it first."""
        async with self._slots:
            if nonce in self._in_flight:
                self._in_flight.discard(nonce)
                heapq.heappush(self._released, nonce)
                self._slots.notify()

    async def adopt(self, nonce: int) -> None:
        """Count a nonce from the journal (a transaction restored after a restart) as in flight."""
        async with self._slots:
            self._in_flight.add(nonce)
            unrelease(self._released, nonce)  # held now: not handed out again
            self._journal.set_max(self.key, nonce + 1)


def unrelease(released: list[int], nonce: int) -> None:
    """Take ``nonce`` out of the heap of nonces waiting to be handed out again."""
    if nonce in released:
        released.remove(nonce)
        heapq.heapify(released)
