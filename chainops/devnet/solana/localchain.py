"""A local Solana cluster in this process: LiteSVM plus slots, commitment and statuses.

LiteSVM executes transactions but has no blocks: it accepts only its one latest
blockhash and a result is final at once. ``LocalChain`` adds what a client of a
real cluster sees, so code meets the real rules:

* slots advance with the clock (``slot_time`` seconds each, 0.4 s like mainnet)
  and on demand (:meth:`advance`); with ``skip_every`` some slots hold no block,
  so block height trails the slot (see :mod:`~chainops.devnet.solana.clock`);
* a blockhash is valid for ``MAX_PROCESSING_AGE`` (150) blocks after its own:
  ``last_valid_block_height = height + 150``; a transaction sent later never lands;
* a landed transaction is *processed* in its block, *confirmed* one block later and
  *finalized* ``FINALITY_DEPTH`` (32) blocks later; failed ones land too, pay
  their fee and carry their error; a signature lands at most once;
* reads answer per commitment: the confirmed and finalized views of an account
  are its state before the blocks they do not include yet;
* fault switches: :meth:`drop_next` silently loses the next transactions,
  :meth:`advance` produces blocks at once, :meth:`rollback_processed` drops the
  processed-only block (a fork the cluster abandoned) and undoes its transactions.

Thread-safe: the loopback RPC server and a test may use one chain from two threads.
Listeners (:meth:`add_listener`) hear of every change, from the changing thread.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from solders.account import Account
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata

from chainops.devnet.solana import capture
from chainops.devnet.solana.clock import (
    FINALITY_DEPTH,
    MAX_PROCESSING_AGE,
    Commitment,
    SlotClock,
)
from chainops.devnet.solana.history import AccountHistory
from chainops.devnet.solana.records import (
    Landed,
    SendOutcome,
    SimulationResult,
    StatusView,
)

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

_FEE_HISTORY_SLOTS = 150  # getRecentPrioritizationFees covers the last 150 slots
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
        "AddressLookupTableNotFound",
        "InvalidAddressLookupTableIndex",
    }
)
_EMPTY = Account(0, b"", SYSTEM_PROGRAM, False)
_STAKE_PROGRAM = Pubkey.from_string("Stake11111111111111111111111111111111111111")
_GET_MINIMUM_DELEGATION = (13).to_bytes(4, "little")  # StakeInstruction::GetMinimumDelegation


def err_json(result: FailedTransactionMetadata) -> Any:
    """A failed execution's error in the RPC's JSON form."""
    return json.loads(result.to_json())["err"]


class LocalChain:
    """LiteSVM with slots, blockhash lifetimes, commitment views, statuses and fault switches."""

    def __init__(
        self,
        *,
        slot_time: float | None = 0.4,
        svm: LiteSVM | None = None,
        clock: Callable[[], float] = time.monotonic,
        airdrop_lamports: int = 10**19,
        skip_every: int | None = None,
    ) -> None:
        # Our blockhash rules replace LiteSVM's (only its one latest hash is valid), and
        # our status table replaces its history (which would also grow without bound).
        self.svm = (svm or LiteSVM()).with_blockhash_check(False).with_transaction_history(0)
        self._faucet = Keypair()
        self.svm.set_account(self._faucet.pubkey(), Account(airdrop_lamports, b"", SYSTEM_PROGRAM))
        seed = hashlib.sha256(repr((id(self), time.time_ns())).encode()).digest()
        self.clock = SlotClock(slot_time=slot_time, clock=clock, skip_every=skip_every, seed=seed)
        self.slot_time = slot_time
        self._lock = threading.RLock()
        self.genesis_hash = str(Hash(hashlib.sha256(seed + b"genesis").digest()))
        self._landed: dict[str, Landed] = {}
        self._blocks: dict[int, list[str]] = {}  # slot -> signatures, in order
        self._by_address: dict[str, list[str]] = {}  # key -> signatures, oldest first
        self._history = AccountHistory()  # the confirmed and finalized views of accounts
        self._known: set[str] = set()  # every key a transaction touched (program scans)
        self._fees: dict[int, list[tuple[int, frozenset[str] | None]]] = {}
        self._drop = 0
        self._listeners: list[Callable[[], None]] = []
        self._version = 0
        self.received: Counter[str] = Counter()  # sends per signature, duplicates included
        self.outcomes: Counter[SendOutcome] = Counter()

    # -- listeners -----------------------------------------------------------------------

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every change (a landing, produced blocks, a rollback)."""
        with self._lock:
            self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback in self._listeners:
                self._listeners.remove(callback)

    @property
    def version(self) -> int:
        """Bumped by every change: a send, produced blocks, an airdrop, a rollback."""
        return self._version

    def _changed(self) -> None:
        with self._lock:
            self._version += 1
        for callback in list(self._listeners):
            callback()

    # -- slots and blockhashes -----------------------------------------------------------

    @property
    def slot(self) -> int:
        """The newest slot with a block (the *processed* slot)."""
        with self._lock:
            return self.clock.tip()

    def next_slot_in(self) -> float | None:
        """Seconds until the next slot begins by the clock (None when it moves on demand)."""
        with self._lock:
            return self.clock.next_slot_in()

    def slot_at(self, commitment: Commitment | str = Commitment.PROCESSED) -> int:
        """The slot of the newest block at ``commitment``."""
        with self._lock:
            return self.clock.commitment_slot(Commitment(commitment))

    def block_height(self, commitment: Commitment | str = Commitment.PROCESSED) -> int:
        """Height of the newest block at ``commitment`` (confirmed lags 1, finalized 32)."""
        with self._lock:
            return self.clock.height(self.clock.commitment_slot(Commitment(commitment)))

    def latest_blockhash(
        self, commitment: Commitment | str = Commitment.PROCESSED
    ) -> tuple[str, int]:
        """(blockhash of the newest block at ``commitment``, last valid block height for it)."""
        with self._lock:
            slot = self.clock.commitment_slot(Commitment(commitment))
            return self.clock.hash_of(slot), self.clock.last_valid_height(slot)

    def blockhash_valid(self, blockhash: str) -> bool:
        with self._lock:
            self.clock.hash_of(self.clock.tip())
            return self.clock.blockhash_valid(blockhash)

    def advance(self, blocks: int = 1) -> int:
        """Produce ``blocks`` blocks now; returns the new slot."""
        with self._lock:
            slot = self.clock.advance(blocks)
        self._changed()
        return slot

    # -- fault switches ------------------------------------------------------------------

    def drop_next(self, count: int = 1) -> None:
        """Silently lose the next ``count`` transactions sent (not duplicates of landed ones)."""
        if count < 0:
            raise ValueError("count must be >= 0")
        with self._lock:
            self._drop += count

    def clear_drops(self) -> None:
        with self._lock:
            self._drop = 0

    def add_prioritization_fees(self, prices: Iterable[int]) -> None:
        """Pretend recent slots carried these compute-unit prices (a fee market for tests)."""
        with self._lock:
            slot = self.clock.tip()
            for i, price in enumerate(reversed(list(prices))):
                self._fees.setdefault(slot - i, []).append((int(price), None))

    def rollback_processed(self) -> list[str]:
        """Abandon the blocks only *processed* so far, as a fork switch does.

        Their transactions are undone (state, statuses, history) and a new block
        follows. Returns the signatures rolled back.
        """
        with self._lock:
            confirmed = self.clock.commitment_slot(Commitment.CONFIRMED)
            tip = self.clock.tip()
            for key, state in self._history.undo(confirmed).items():
                self.svm.set_account(Pubkey.from_string(key), state or _EMPTY)
            gone: list[str] = []
            for slot in [s for s in self._blocks if s > confirmed]:
                gone += self._blocks.pop(slot)
            for signature in gone:
                landed = self._landed.pop(signature)
                for key in landed.keys:
                    listed = self._by_address.get(key)
                    if listed and signature in listed:
                        listed.remove(signature)
            for slot in range(confirmed + 1, tip + 1):
                if self.clock.produced(slot):
                    self.clock.abandon(slot)
        self._changed()
        return gone

    # -- transactions --------------------------------------------------------------------

    def send(self, raw: bytes) -> tuple[str, SendOutcome]:
        """Hand a signed transaction to the cluster; returns (signature, what became of it)."""
        tx = VersionedTransaction.from_bytes(raw)
        signature = str(tx.signatures[0])
        with self._lock:
            outcome = self._send(tx, signature, raw)
            self.received[signature] += 1
            self.outcomes[outcome] += 1
        self._changed()  # even a lost send is news: it was received
        return signature, outcome

    def _send(self, tx: VersionedTransaction, signature: str, raw: bytes) -> SendOutcome:
        if signature in self._landed:
            return SendOutcome.DUPLICATE
        if self._drop > 0:
            self._drop -= 1
            return SendOutcome.DROPPED
        if not self.clock.blockhash_valid(str(tx.message.recent_blockhash)):
            return SendOutcome.EXPIRED
        return self._execute(tx, signature, raw)

    def _execute(self, tx: VersionedTransaction, signature: str, raw: bytes) -> SendOutcome:
        slot = self.clock.tip()
        message = tx.message
        loaded_w, loaded_r = capture.loaded_addresses(self.svm, tx)
        keys = [str(k) for k in message.account_keys] + loaded_w + loaded_r
        writable = capture.writable_keys(message, loaded_w)
        pre = capture.snapshot(self.svm, keys)
        result = self.svm.send_transaction(tx)
        if isinstance(result, FailedTransactionMetadata):
            err = err_json(result)
            if isinstance(err, str) and err in _NOT_INCLUDED:
                return SendOutcome.REJECTED
            meta = result.meta()
        else:
            err, meta = None, result
        # Only write-locked accounts can change: read the others' state once.
        post = [
            self.svm.get_account(Pubkey.from_string(key)) if key in writable else before
            for key, before in zip(keys, pre, strict=True)
        ]
        finalized = self.clock.commitment_slot(Commitment.FINALIZED)
        for key, before, after in zip(keys, pre, post, strict=True):
            if before is not after and before != after:
                self._history.record(key, slot, before, finalized)
        block = self._blocks.setdefault(slot, [])
        self._landed[signature] = Landed(
            signature=signature,
            slot=slot,
            err=err,
            fee=meta.fee(),
            logs=tuple(meta.logs()),
            units_consumed=meta.compute_units_consumed(),
            raw=raw,
            index=len(block),
            keys=tuple(keys),
            loaded_writable=tuple(loaded_w),
            loaded_readonly=tuple(loaded_r),
            pre_balances=tuple(a.lamports if a else 0 for a in pre),
            post_balances=tuple(a.lamports if a else 0 for a in post),
            pre_token_balances=capture.token_balances(self.svm, keys, pre),
            post_token_balances=capture.token_balances(self.svm, keys, post),
            inner_instructions=capture.inner_instructions(meta),
            return_data=None,
            writable=writable,
        )
        block.append(signature)
        for key in keys:
            self._by_address.setdefault(key, []).append(signature)
        self._known.update(keys)
        price = capture.compute_unit_price(tx)
        fees = self._fees.setdefault(slot, [])
        if price:
            fees.append((price, writable))
        return SendOutcome.LANDED

    def simulate(
        self, raw: bytes, *, sig_verify: bool = False, replace_blockhash: bool = False
    ) -> SimulationResult:
        """Execute without committing (signatures unchecked unless ``sig_verify``).

        ``replace_blockhash`` runs it with the latest blockhash instead of its own (any
        message version: the blockhash is not covered by an unchecked signature).
        """
        tx = VersionedTransaction.from_bytes(raw)
        with self._lock:
            replacement = None
            if replace_blockhash:
                blockhash, last_valid = self.latest_blockhash()
                replacement = (blockhash, last_valid)
            elif not self.blockhash_valid(str(tx.message.recent_blockhash)):
                return SimulationResult("BlockhashNotFound", (), 0, 0)
            verify = self.svm.get_sigverify()
            if verify != sig_verify:
                self.svm.with_sigverify(sig_verify)
            try:
                result = self.svm.simulate_transaction(tx)
            finally:
                if verify != sig_verify:
                    self.svm.with_sigverify(verify)
        post: dict[str, Account] | None = None
        if isinstance(result, FailedTransactionMetadata):
            meta = result.meta()
            err = err_json(result)
        else:
            meta, err = result.meta(), None
            post = {str(key): account for key, account in result.post_accounts()}
        return SimulationResult(
            err,
            tuple(meta.logs()),
            meta.compute_units_consumed(),
            meta.fee(),
            replacement,
            post,
            capture.inner_instructions(meta),
        )

    def status(self, signature: str) -> StatusView | None:
        return self.statuses([signature])[0]

    def statuses(self, signatures: Sequence[str]) -> list[StatusView | None]:
        with self._lock:
            landed = self._landed
            tip_height = self.clock.height(self.clock.tip())  # once for the whole batch
            return [self._status(landed.get(s), tip_height) for s in signatures]

    def _status(self, landed: Landed | None, tip_height: int) -> StatusView | None:
        if landed is None:
            return None
        depth = tip_height - self.clock.height(landed.slot)
        if depth >= FINALITY_DEPTH:
            return StatusView(landed.slot, None, landed.err, Commitment.FINALIZED)
        level = Commitment.CONFIRMED if depth >= 1 else Commitment.PROCESSED
        return StatusView(landed.slot, depth, landed.err, level)

    def transaction(self, signature: str) -> Landed | None:
        with self._lock:
            return self._landed.get(signature)

    def block(self, slot: int) -> list[Landed] | None:
        """The transactions of the block in ``slot``, None if the slot holds no block."""
        with self._lock:
            if slot > self.clock.tip() or not self.clock.produced(slot):
                return None
            return [self._landed[s] for s in self._blocks.get(slot, [])]

    def signatures_for(self, address: str) -> list[Landed]:
        """Transactions that mention ``address``, newest first."""
        with self._lock:
            return [self._landed[s] for s in reversed(self._by_address.get(address, []))]

    def transaction_count(self) -> int:
        with self._lock:
            return len(self._landed)

    def transactions_per_slot(self) -> dict[int, int]:
        """How many transactions each block holds (blocks without any are left out)."""
        with self._lock:
            return {slot: len(signatures) for slot, signatures in self._blocks.items()}

    def stake_minimum_delegation(self) -> int:
        """The stake program's own answer (under this chain's features), by simulation."""
        ask = Instruction(_STAKE_PROGRAM, _GET_MINIMUM_DELEGATION, [])
        with self._lock:
            blockhash = Hash.from_string(self.clock.hash_of(self.clock.tip()))
            message = Message.new_with_blockhash([ask], self._faucet.pubkey(), blockhash)
            result = self.svm.simulate_transaction(VersionedTransaction(message, [self._faucet]))
        returned = None if isinstance(result, FailedTransactionMetadata) else result.meta()
        data = None if returned is None else returned.return_data()
        if data is None:
            raise RuntimeError("the stake program did not answer GetMinimumDelegation")
        return int.from_bytes(bytes(data.data), "little")

    landed_count = transaction_count

    def prioritization_fees(self, accounts: Sequence[str] = ()) -> list[tuple[int, int]]:
        """(slot, lowest price of a transaction there that write-locks any of ``accounts``)."""
        wanted = set(accounts)
        with self._lock:
            slot = self.clock.tip()
            self._fees.setdefault(slot, [])
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
        """Credit lamports by a real transfer from the faucet; returns its signature."""
        to = Pubkey.from_string(pubkey)
        with self._lock:
            blockhash = self.clock.hash_of(self.clock.tip())
            ix = transfer(
                TransferParams(from_pubkey=self._faucet.pubkey(), to_pubkey=to, lamports=lamports)
            )
            message = Message.new_with_blockhash(
                [ix], self._faucet.pubkey(), Hash.from_string(blockhash)
            )
            tx = VersionedTransaction(message, [self._faucet])
            signature = str(tx.signatures[0])
            outcome = self._execute(tx, signature, bytes(tx))
            landed = self._landed.get(signature)
            if outcome is not SendOutcome.LANDED or landed is None or landed.err is not None:
                raise ValueError(f"airdrop failed: {landed.err if landed else outcome.value}")
        self._changed()
        return signature

    def account(
        self, pubkey: str, commitment: Commitment | str = Commitment.PROCESSED
    ) -> Account | None:
        """The account as the blocks at ``commitment`` left it (None if it does not exist)."""
        with self._lock:
            found = self._account_at(pubkey, Commitment(commitment))
        if found is None or (found.lamports == 0 and not found.data):
            return None  # LiteSVM keeps emptied accounts around; a cluster forgets them
        return found

    def _account_at(self, pubkey: str, level: Commitment) -> Account | None:
        if level is not Commitment.PROCESSED:
            found, state = self._history.before(pubkey, self.clock.commitment_slot(level))
            if found:
                return state
        return self.svm.get_account(Pubkey.from_string(pubkey))

    def balance(self, pubkey: str, commitment: Commitment | str = Commitment.PROCESSED) -> int:
        found = self.account(pubkey, commitment)
        return 0 if found is None else found.lamports

    def accounts_owned_by(
        self, program: str, commitment: Commitment | str = Commitment.PROCESSED
    ) -> list[tuple[str, Account]]:
        """(address, account) of every known account ``program`` owns, at ``commitment``."""
        owner = Pubkey.from_string(program)
        with self._lock:
            known = sorted(self._known)
        out = []
        for key in known:
            found = self.account(key, commitment)
            if found is not None and found.owner == owner:
                out.append((key, found))
        return out

    def minimum_balance_for_rent_exemption(self, size: int) -> int:
        with self._lock:
            return self.svm.minimum_balance_for_rent_exemption(size)
