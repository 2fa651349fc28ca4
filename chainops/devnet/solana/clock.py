"""Slots, blocks and blockhashes of the local cluster: which slots produced a block, when.

A slot advances with the clock (``slot_time`` seconds each) and on demand. Not
every slot holds a block: with ``skip_every=k`` every k-th slot is skipped (a
leader that missed its turn), and a slot rolled back by a fork is abandoned;
so block height (blocks produced) can trail the slot, as on a real cluster.
Every produced slot has its own blockhash; commitment levels are counted in
blocks: *confirmed* is one block behind the tip, *finalized* 32 blocks behind.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from enum import StrEnum

from solders.hash import Hash

__all__ = ["FINALITY_DEPTH", "MAX_PROCESSING_AGE", "NOMINAL_SLOT_TIME", "Commitment", "SlotClock"]

MAX_PROCESSING_AGE = 150  # the runtime's blockhash lifetime, in blocks
FINALITY_DEPTH = 32  # votes on top before a slot is rooted (MAX_LOCKOUT_HISTORY + 1)
_PRUNE_HASHES_AT = 4096
NOMINAL_SLOT_TIME = 0.4  # block times of a clock that moves only on demand


class Commitment(StrEnum):
    PROCESSED = "processed"
    CONFIRMED = "confirmed"
    FINALIZED = "finalized"


class SlotClock:
    """Which slot is current, which slots hold blocks, and each block's hash and time.

    Not thread-safe on its own: :class:`~chainops.devnet.solana.localchain.LocalChain`
    calls it under its lock.
    """

    def __init__(
        self,
        *,
        slot_time: float | None,
        clock: Callable[[], float],
        skip_every: int | None = None,
        seed: bytes = b"",
    ) -> None:
        if slot_time is not None and slot_time <= 0:
            raise ValueError("slot_time must be positive (or None: slots move only by advance())")
        if skip_every is not None and skip_every < 2:
            raise ValueError("skip_every must be >= 2 (every k-th slot is skipped)")
        self.slot_time = slot_time
        self.skip_every = skip_every
        self._clock = clock
        self._t0 = clock()
        self._wall0 = int(time.time())
        self._offset = 0  # slots produced by advance()
        self._slot = 1
        self._abandoned: set[int] = set()
        self._seed = seed
        self._slot_hash: dict[int, str] = {}
        self._hash_slot: dict[str, int] = {}
        self._levels_at: tuple[int, int] | None = None
        self._levels = (1, 1)  # (confirmed slot, finalized slot) as of _levels_at

    # -- which slots hold blocks -----------------------------------------------------------

    def produced(self, slot: int) -> bool:
        """Whether ``slot`` holds a block (not skipped, not abandoned by a rollback)."""
        if slot < 1 or slot in self._abandoned:
            return False
        return self.skip_every is None or slot % self.skip_every != 0

    def _raw(self) -> int:
        slot = 1 + self._offset
        if self.slot_time is not None:
            slot += int((self._clock() - self._t0) / self.slot_time)
        if slot > self._slot:
            self._slot = slot
        return self._slot

    def next_slot_in(self) -> float | None:
        """Seconds until the clock starts the next slot (None: slots move only on demand)."""
        if self.slot_time is None:
            return None
        return self.slot_time - (self._clock() - self._t0) % self.slot_time

    def tip(self) -> int:
        """The newest slot that holds a block (the *processed* slot)."""
        slot = self._raw()
        while not self.produced(slot) and slot > 1:
            slot -= 1
        return slot

    def height(self, slot: int) -> int:
        """Blocks produced up to and including ``slot``."""
        skipped = slot // self.skip_every if self.skip_every else 0
        if self._abandoned:  # rollbacks are rare: no walk over an empty set per call
            skipped += sum(
                1
                for s in self._abandoned
                if s <= slot and (self.skip_every is None or s % self.skip_every != 0)
            )
        return slot - skipped

    def back(self, slot: int, blocks: int) -> int:
        """The slot of the block ``blocks`` blocks before the one in ``slot`` (at least 1)."""
        while blocks > 0 and slot > 1:
            slot -= 1
            if self.produced(slot):
                blocks -= 1
        return max(slot, 1)

    def commitment_slot(self, level: Commitment) -> int:
        """The slot of the newest block at ``level``."""
        tip = self.tip()
        if level is Commitment.PROCESSED:
            return tip
        key = (tip, len(self._abandoned))
        if self._levels_at != key:  # the walk back is worth remembering until the tip moves
            self._levels_at = key
            self._levels = (self.back(tip, 1), self.back(tip, FINALITY_DEPTH))
        return self._levels[0] if level is Commitment.CONFIRMED else self._levels[1]

    def advance(self, blocks: int) -> int:
        """Produce ``blocks`` blocks now (skipped slots pass too); returns the new tip."""
        if blocks < 0:
            raise ValueError("blocks must be >= 0")
        while blocks > 0:
            self._offset += 1
            self._slot += 1
            if self.produced(self._raw()):
                blocks -= 1
        return self.tip()

    def abandon(self, slot: int) -> None:
        """Drop ``slot``'s block (a fork the cluster left) and move on to a new slot."""
        self._abandoned.add(slot)
        gone = self._slot_hash.pop(slot, None)
        if gone is not None:
            self._hash_slot.pop(gone, None)
        self.advance(1)

    # -- blockhashes and times -------------------------------------------------------------

    def hash_of(self, slot: int) -> str:
        """The blockhash of the block in ``slot``."""
        found = self._slot_hash.get(slot)
        if found is None:
            digest = hashlib.sha256(self._seed + slot.to_bytes(8, "little")).digest()
            found = str(Hash(digest))
            self._slot_hash[slot] = found
            self._hash_slot[found] = slot
            if len(self._slot_hash) > _PRUNE_HASHES_AT:
                self._prune(slot)
        return found

    def _prune(self, slot: int) -> None:
        for old in [s for s in self._slot_hash if s < slot - 2 * MAX_PROCESSING_AGE]:
            self._hash_slot.pop(self._slot_hash.pop(old), None)

    def issued_slot(self, blockhash: str) -> int | None:
        """The slot whose block carries ``blockhash`` (None if unknown or forgotten)."""
        return self._hash_slot.get(blockhash)

    def last_valid_height(self, slot: int) -> int:
        return self.height(slot) + MAX_PROCESSING_AGE

    def blockhash_valid(self, blockhash: str) -> bool:
        """Whether a transaction using ``blockhash`` may still land in the current block."""
        issued = self._hash_slot.get(blockhash)
        if issued is None or not self.produced(issued):
            return False
        return self.height(self.tip()) <= self.last_valid_height(issued)

    def block_time(self, slot: int) -> int:
        """Unix time of the block in ``slot`` (the cluster's clock, whole seconds)."""
        step = self.slot_time if self.slot_time is not None else NOMINAL_SLOT_TIME
        return self._wall0 + int((slot - 1) * step)
