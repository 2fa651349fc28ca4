"""A local Solana cluster in this process: LiteSVM plus slots, blockhash ages and statuses.

LiteSVM executes transactions but has no blocks: it accepts only its one latest
blockhash and a result is final at once. ``LocalChain`` adds what a client of a
real cluster sees, so the operator's expiry and confirmation logic meets the
real rules:

* slots advance with the clock (``slot_time`` seconds each, 0.4 s like mainnet)
  and on demand (:meth:`advance`); block height equals the slot (no skipped slots);
* every slot has its own blockhash; a blockhash is valid for ``MAX_PROCESSING_AGE``
  (150) blocks after its own, so ``last_valid_block_height = height + 150``,
  and a transaction sent later never lands (as on a real cluster, with no error
  when preflight is skipped);
* a landed transaction is *processed* in its slot, *confirmed* one slot later and
  *finalized* ``FINALITY_DEPTH`` (32) slots later; failed ones land too, pay
  their fee and carry their error;
* a signature lands at most once: sending the same bytes again is a no-op;
* fault switches: :meth:`drop_next` silently loses the next transactions,
  :meth:`advance` produces blocks at once.

Reads see the processed state whatever the commitment asked for. Thread-safe:
the loopback RPC server and a test may use one chain from two threads.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from solders.account import Account
from solders.hash import Hash
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata

from chainops.operators.solana.programs import COMPUTE_BUDGET_PROGRAM_ID

__all__ = [
    "FINALITY_DEPTH",
    "MAX_PROCESSING_AGE",
    "Commitment",
    "Landed",
    "LocalChain",
    "SendOutcome",
    "SimulationResult",
    "StatusView",
]

MAX_PROCESSING_AGE = 150  # the runtime's blockhash lifetime, in blocks
FINALITY_DEPTH = 32  # votes on top before a slot is rooted (MAX_LOCKOUT_HISTORY + 1)
_FEE_HISTORY_SLOTS = 150  # getRecentPrioritizationFees covers the last 150 slots
_PRUNE_HASHES_AT = 4096
# Failures the runtime rejects before execution: such a transaction is not in a block.
_NOT_INCLUDED = frozenset(
    {
        "AccountNotFound",
        "AlreadyProcessed",
        "BlockhashNotFound",
        "InsufficientFundsForFee",
        "InvalidAccountForFee",
        "SignatureFailure",
        "AccountInUse",
        "AccountLoadedTwice",
        "SanitizeFailure",
        "TooManyAccountLocks",
        "WouldExceedMaxBlockCostLimit",
        "UnsupportedVersion",
    }
)


class Commitment(StrEnum):
    PROCESSED = "processed"
    CONFIRMED = "confirmed"
    FINALIZED = "finalized"


class SendOutcome(StrEnum):
    LANDED = "landed"  # executed (successfully or not) in the current slot
    DUPLICATE = "duplicate"  # this signature already landed: nothing happens
    DROPPED = "dropped"  # lost by the drop switch, as a leader might lose it
    EXPIRED = "expired"  # its blockhash is unknown or too old: it can never land
    REJECTED = "rejected"  # refused before execution (bad signature, no fee payer)


@dataclass(frozen=True, slots=True)
class Landed:
    """A transaction in a block: its slot, error (JSON form or None), fee and logs."""

    signature: str
    slot: int
    err: Any
    fee: int
    logs: tuple[str, ...]
    units_consumed: int
    raw: bytes


@dataclass(frozen=True, slots=True)
class StatusView:
    """What ``getSignatureStatuses`` says about a landed signature."""

    slot: int
    confirmations: int | None  # None once finalized (rooted), as the RPC reports it
    err: Any
    commitment: Commitment


@dataclass(frozen=True, slots=True)
class SimulationResult:
    err: Any
    logs: tuple[str, ...]
    units_consumed: int
    fee: int


def _err_json(result: FailedTransactionMetadata) -> Any:
    return json.loads(result.to_json())["err"]


def _compute_unit_price(tx: VersionedTransaction) -> int:
    message = tx.message
    keys = message.account_keys
    for ix in message.instructions:
        data = ix.data
        if data[:1] == b"\x03" and keys[ix.program_id_index] == COMPUTE_BUDGET_PROGRAM_ID:
            return int.from_bytes(data[1:9], "little")
    return 0


def _writable_keys(tx: VersionedTransaction) -> frozenset[str]:
    message = tx.message
    header = message.header
    keys = message.account_keys
    signed = header.num_required_signatures
    signed_writable = signed - header.num_readonly_signed_accounts
    unsigned_writable = len(keys) - header.num_readonly_unsigned_accounts
    return frozenset(
        str(key)
        for i, key in enumerate(keys)
        if i < signed_writable or signed <= i < unsigned_writable
    )


class LocalChain:
    """LiteSVM with slots, blockhash lifetimes, signature statuses and fault switches."""

    def __init__(
        self,
        *,
        slot_time: float | None = 0.4,
        svm: LiteSVM | None = None,
        clock: Callable[[], float] = time.monotonic,
        airdrop_lamports: int = 10**19,
    ) -> None:
        if slot_time is not None and slot_time <= 0:
            raise ValueError("slot_time must be positive (or None: slots move only by advance())")
        # Our blockhash rules replace LiteSVM's (only its one latest hash is valid), and
        # our status table replaces its history (which would also grow without bound).
        self.svm = (svm or LiteSVM()).with_blockhash_check(False).with_transaction_history(0)
        self.svm.with_lamports(airdrop_lamports)
        self.slot_time = slot_time
        self._clock = clock
        self._lock = threading.RLock()
        self._t0 = clock()
        self._offset = 0  # slots produced by advance()
        self._slot = 1
        self._seed = hashlib.sha256(repr((id(self), time.time_ns())).encode()).digest()
        self.genesis_hash = str(Hash(hashlib.sha256(self._seed + b"genesis").digest()))
        self._slot_hash: dict[int, str] = {}
        self._hash_slot: dict[str, int] = {}
        self._landed: dict[str, Landed] = {}
        self._fees: dict[int, list[tuple[int, frozenset[str] | None]]] = {}
        self._drop = 0
        self.received: Counter[str] = Counter()  # sends per signature, duplicates included
        self.outcomes: Counter[SendOutcome] = Counter()

    # -- slots and blockhashes -----------------------------------------------------------

    def _tick(self) -> int:
        """The current slot, after producing the slots the clock says have passed."""
        slot = 1 + self._offset
        if self.slot_time is not None:
            slot += int((self._clock() - self._t0) / self.slot_time)
        if slot > self._slot:
            self._slot = slot
        return self._slot

    @property
    def slot(self) -> int:
        with self._lock:
            return self._tick()

    def block_height(self, commitment: Commitment | str = Commitment.PROCESSED) -> int:
        """Height of the newest block at ``commitment`` (confirmed lags 1, finalized 32)."""
        with self._lock:
            slot = self._tick()
        level = Commitment(commitment)
        if level is Commitment.CONFIRMED:
            return max(1, slot - 1)
        if level is Commitment.FINALIZED:
            return max(1, slot - FINALITY_DEPTH)
        return slot

    def _hash_of(self, slot: int) -> str:
        found = self._slot_hash.get(slot)
        if found is None:
            found = str(Hash(hashlib.sha256(self._seed + slot.to_bytes(8, "little")).digest()))
            self._slot_hash[slot] = found
            self._hash_slot[found] = slot
            if len(self._slot_hash) > _PRUNE_HASHES_AT:
                self._prune_hashes(slot)
        return found

    def _prune_hashes(self, slot: int) -> None:
        for old in [s for s in self._slot_hash if s < slot - 2 * MAX_PROCESSING_AGE]:
            self._hash_slot.pop(self._slot_hash.pop(old), None)

    def latest_blockhash(self) -> tuple[str, int]:
        """(blockhash of the current block, last valid block height for it)."""
        with self._lock:
            slot = self._tick()
            return self._hash_of(slot), slot + MAX_PROCESSING_AGE

    def blockhash_valid(self, blockhash: str) -> bool:
        with self._lock:
            slot = self._tick()
            issued = self._hash_slot.get(blockhash)
            return issued is not None and slot <= issued + MAX_PROCESSING_AGE

    def advance(self, blocks: int = 1) -> int:
        """Produce ``blocks`` blocks now; returns the new slot."""
        if blocks < 0:
            raise ValueError("blocks must be >= 0")
        with self._lock:
            self._offset += blocks
            self._slot += blocks
            return self._tick()

    # -- fault switches ------------------------------------------------------------------

    def drop_next(self, count: int = 1) -> None:
        """Silently lose the next ``count`` transactions sent (not duplicates of landed ones)."""
        with self._lock:
            self._drop += count

    def clear_drops(self) -> None:
        with self._lock:
            self._drop = 0

    def add_prioritization_fees(self, prices: Iterable[int]) -> None:
        """Pretend recent slots carried these compute-unit prices (a fee market for tests)."""
        with self._lock:
            slot = self._tick()
            for i, price in enumerate(reversed(list(prices))):
                self._fees.setdefault(slot - i, []).append((int(price), None))

    # -- transactions --------------------------------------------------------------------

    def send(self, raw: bytes) -> tuple[str, SendOutcome]:
        """Hand a signed transaction to the cluster; returns (signature, what became of it)."""
        tx = VersionedTransaction.from_bytes(raw)
        signature = str(tx.signatures[0])
        with self._lock:
            outcome = self._send(tx, signature, raw)
            self.received[signature] += 1
            self.outcomes[outcome] += 1
        return signature, outcome

    def _send(self, tx: VersionedTransaction, signature: str, raw: bytes) -> SendOutcome:
        slot = self._tick()
        if signature in self._landed:
            return SendOutcome.DUPLICATE
        if self._drop > 0:
            self._drop -= 1
            return SendOutcome.DROPPED
        issued = self._hash_slot.get(str(tx.message.recent_blockhash))
        if issued is None or slot > issued + MAX_PROCESSING_AGE:
            return SendOutcome.EXPIRED
        result = self.svm.send_transaction(tx)
        if isinstance(result, FailedTransactionMetadata):
            err = _err_json(result)
            if isinstance(err, str) and err in _NOT_INCLUDED:
                return SendOutcome.REJECTED
            meta = result.meta()
        else:
            err, meta = None, result
        self._landed[signature] = Landed(
            signature=signature,
            slot=slot,
            err=err,
            fee=meta.fee(),
            logs=tuple(meta.logs()),
            units_consumed=meta.compute_units_consumed(),
            raw=raw,
        )
        price = _compute_unit_price(tx)
        if price:
            self._fees.setdefault(slot, []).append((price, _writable_keys(tx)))
        else:
            self._fees.setdefault(slot, [])
        return SendOutcome.LANDED

    def simulate(self, raw: bytes, *, sig_verify: bool = False) -> SimulationResult:
        """Execute without committing (signatures unchecked unless ``sig_verify``)."""
        tx = VersionedTransaction.from_bytes(raw)
        with self._lock:
            if not self.blockhash_valid(str(tx.message.recent_blockhash)):
                return SimulationResult("BlockhashNotFound", (), 0, 0)
            verify = self.svm.get_sigverify()
            if verify != sig_verify:
                self.svm.with_sigverify(sig_verify)
            try:
                result = self.svm.simulate_transaction(tx)
            finally:
                if verify != sig_verify:
                    self.svm.with_sigverify(verify)
        if isinstance(result, FailedTransactionMetadata):
            meta = result.meta()
            return SimulationResult(
                _err_json(result), tuple(meta.logs()), meta.compute_units_consumed(), meta.fee()
            )
        meta = result.meta()
        return SimulationResult(None, tuple(meta.logs()), meta.compute_units_consumed(), meta.fee())

    def status(self, signature: str) -> StatusView | None:
        with self._lock:
            landed = self._landed.get(signature)
            if landed is None:
                return None
            depth = self._tick() - landed.slot
        if depth >= FINALITY_DEPTH:
            return StatusView(landed.slot, None, landed.err, Commitment.FINALIZED)
        level = Commitment.CONFIRMED if depth >= 1 else Commitment.PROCESSED
        return StatusView(landed.slot, depth, landed.err, level)

    def statuses(self, signatures: Sequence[str]) -> list[StatusView | None]:
        with self._lock:
            return [self.status(s) for s in signatures]

    def transaction(self, signature: str) -> Landed | None:
        with self._lock:
            return self._landed.get(signature)

    def prioritization_fees(self, accounts: Sequence[str] = ()) -> list[tuple[int, int]]:
        """(slot, lowest price of a transaction there that write-locks any of ``accounts``)."""
        wanted = set(accounts)
        with self._lock:
            slot = self._tick()
            for old in [s for s in self._fees if s <= slot - _FEE_HISTORY_SLOTS]:
                del self._fees[old]
            out = []
            for s in sorted(self._fees):
                prices = [
                    p
                    for p, keys in self._fees[s]
                    if not wanted or keys is None or not wanted.isdisjoint(keys)
                ]
                out.append((s, min(prices) if prices else 0))
            return out

    # -- accounts ------------------------------------------------------------------------

    def airdrop(self, pubkey: str, lamports: int) -> str:
        """Credit lamports by a real transaction from LiteSVM's faucet; returns its signature."""
        with self._lock:
            slot = self._tick()
            result = self.svm.airdrop(Pubkey.from_string(pubkey), lamports)
            if isinstance(result, FailedTransactionMetadata):
                raise ValueError(f"airdrop failed: {_err_json(result)}")
            signature = str(result.signature())
            self._landed[signature] = Landed(
                signature, slot, None, result.fee(), tuple(result.logs()), 0, b""
            )
            self._fees.setdefault(slot, [])
            return signature

    def balance(self, pubkey: str) -> int:
        with self._lock:
            return self.svm.get_balance(Pubkey.from_string(pubkey)) or 0

    def account(self, pubkey: str) -> Account | None:
        with self._lock:
            found = self.svm.get_account(Pubkey.from_string(pubkey))
        if found is None or (found.lamports == 0 and not found.data):
            return None  # LiteSVM keeps emptied accounts around; a cluster forgets them
        return found

    def minimum_balance_for_rent_exemption(self, size: int) -> int:
        with self._lock:
            return self.svm.minimum_balance_for_rent_exemption(size)

    def landed_count(self) -> int:
        with self._lock:
            return len(self._landed)
