"""Transactions: one logical send, its signed attempts and what the chain said.

Each signing is a :class:`TxAttempt` (raw bytes + hash). A speed-up or a
cancel is a new attempt at the same nonce (EVM); a re-sign with a fresh
blockhash is a new attempt (Solana). Attempts are journalled before they are
broadcast, so after a crash the same bytes are re-sent or found by hash,
never rebuilt. The attempt that was mined is ``winning_attempt``.

``venue_id`` is the hash of the first attempt: a stable handle set once.
``hash`` is the hash that matters now (the winner's, else the latest).
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, Self, runtime_checkable

from chainops.core.assets import Fee
from chainops.core.attempt import (
    AttemptKind,
    FeeParams,
    TxAttempt,
    TxReceipt,
    check_opt_uint,
    check_uint,
    hex_bytes,
)
from chainops.core.durations import check_seconds
from chainops.core.errors import (
    ChainopsError,
    ConfigurationError,
    InvalidTransition,
    Rejected,
    Reverted,
    ValidationError,
)
from chainops.core.history import Change, ErrorInfo, LabelEnum, time_us
from chainops.core.ids import (
    ClientId,
    EvmAddress,
    SolanaPubkey,
    SolanaSignature,
    TxHash,
    parse_account,
)
from chainops.core.operation import Operation, OperationController
from chainops.core.statemachine import StateMachine

__all__ = ["TX_STATES", "Transaction", "TxController", "TxState", "TxUpdate"]

_NO_FEES = FeeParams()  # compared with every new attempt's: built once, not per attempt


class TxState(LabelEnum):
    """Where a transaction is in its life."""

    CREATED = "CREATED"
    SIGNED = "SIGNED"  # at least one attempt signed and journalled, none known sent
    BROADCAST = "BROADCAST"
    INCLUDED = "INCLUDED"  # in a block, fewer confirmations than required
    CONFIRMED = "CONFIRMED"
    FINALIZED = "FINALIZED"
    REJECTED = "REJECTED"  # never accepted by the network
    REVERTED = "REVERTED"  # mined with status 0
    DROPPED = "DROPPED"  # vanished from the mempool, nonce unused
    REPLACED = "REPLACED"  # another transaction took the nonce
    EXPIRED = "EXPIRED"  # Solana: blockhash too old


_T = TxState
_FAILED_OR_DONE = {_T.REVERTED, _T.REPLACED, _T.REJECTED, _T.EXPIRED}
TX_STATES: StateMachine[TxState] = StateMachine(
    "Transaction",
    _T.CREATED,
    {
        _T.CREATED: {_T.SIGNED, _T.REJECTED, _T.EXPIRED},
        # SIGNED -> INCLUDED and beyond: a crash after sending, found by hash on restart
        _T.SIGNED: {_T.BROADCAST, _T.INCLUDED, _T.CONFIRMED, _T.FINALIZED, *_FAILED_OR_DONE},
        # skipping ahead is normal: a block may already be deep when first polled
        _T.BROADCAST: {_T.INCLUDED, _T.CONFIRMED, _T.FINALIZED, _T.DROPPED, *_FAILED_OR_DONE},
        # -> BROADCAST: a reorg removed the block; the tx is back in the mempool
        _T.INCLUDED: {_T.CONFIRMED, _T.FINALIZED, _T.REVERTED, _T.REPLACED, _T.BROADCAST},
        # a reorg deeper than our confirmation count
        _T.CONFIRMED: {_T.FINALIZED, _T.INCLUDED, _T.BROADCAST},
        _T.FINALIZED: set(),
        _T.REJECTED: set(),
        _T.REVERTED: set(),
        _T.DROPPED: set(),
        _T.REPLACED: set(),
        _T.EXPIRED: set(),
    },
    {
        _T.CREATED: 0,
        _T.SIGNED: 1,
        _T.BROADCAST: 2,
        _T.INCLUDED: 3,
        _T.CONFIRMED: 4,
        **{s: 5 for s in (_T.FINALIZED, _T.DROPPED, *_FAILED_OR_DONE)},
    },
)

MINED_STATES = frozenset({_T.INCLUDED, _T.CONFIRMED, _T.FINALIZED, _T.REVERTED})
SUCCESS_STATES = frozenset({_T.CONFIRMED, _T.FINALIZED})
MINED_OK_STATES = frozenset({_T.INCLUDED, _T.CONFIRMED, _T.FINALIZED})
ATTEMPTABLE_STATES = frozenset({_T.CREATED, _T.SIGNED, _T.BROADCAST})


@dataclass(frozen=True, kw_only=True, slots=True)
class TxUpdate:
    """What the chain monitor observed. ``sequence`` is the head block it looked at.

    An update older than the last applied one is ignored as a whole; a move
    backwards (a reorg) is taken only with a newer ``sequence``.
    """

    state: TxState | None = None
    receipt: TxReceipt | None = None
    confirmations: int | None = None
    fee: Fee | None = None
    error: ErrorInfo | BaseException | None = None  # an exception is stored as ErrorInfo
    sequence: int | None = None
    timestamp: datetime | None = None
    reason: str | None = None
    client_id: ClientId | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "error", ErrorInfo.coerce(self.error))
        if self.state is not None:
            object.__setattr__(self, "state", TxState(self.state))


@runtime_checkable
class TxController(Protocol):
    """The operator tracking a transaction: what ``tx.wait()``, ``speed_up()``, ``cancel()`` ask."""

    def wait(
        self, tx: Transaction, *, confirmations: int | None = None, timeout: float | None = None
    ) -> Awaitable[Transaction]: ...

    def speed_up(self, tx: Transaction) -> Awaitable[TxAttempt]: ...

    def cancel(self, tx: Transaction) -> Awaitable[TxAttempt]: ...


def _account(value: object, what: str) -> EvmAddress | SolanaPubkey:
    try:
        return parse_account(value)
    except ValidationError as exc:
        raise ValidationError(f"{what}: {exc}") from None


_UNSIGNED_OK = frozenset({TxState.CREATED, TxState.REJECTED, TxState.EXPIRED})


def check_timeout(timeout: object) -> None:
    """A wait's ``timeout``: a finite number of seconds >= 0 (None, no bound, is not checked)."""
    check_seconds(timeout, "timeout", zero_ok=True)


def _check_target(state: TxState, receipt: TxReceipt | None, attempts: int) -> None:
    """Every state past CREATED needs a signed attempt; mined states need a receipt."""
    if state not in _UNSIGNED_OK and not attempts:
        raise ValidationError(f"a transaction cannot be {state.name} without a signed attempt")
    if state not in MINED_STATES:
        return
    if receipt is None:
        raise ValidationError(f"a transaction cannot be {state.name} without a receipt")
    if state in SUCCESS_STATES and not receipt.succeeded:
        raise ValidationError(f"a reverted transaction (status 0) cannot be {state.name}")
    if state is TxState.REVERTED and receipt.succeeded:
        raise ValidationError("a transaction with status 1 did not revert")


class Transaction(Operation[TxState]):
    """A transaction on a chain: the call, its fees, attempts and receipt."""

    kind = "transaction"
    machine = TX_STATES

    def __init__(
        self,
        *,
        client_id: ClientId | str,
        platform: str,
        sender: EvmAddress | SolanaPubkey | str,
        to: EvmAddress | SolanaPubkey | str | None = None,
        value: int = 0,
        data: bytes | str = b"",
        gas_limit: int | None = None,
        nonce: int | None = None,
        fee_params: FeeParams | None = None,
        recent_blockhash: str | None = None,
        last_valid_block_height: int | None = None,
        created_at: datetime | None = None,
    ) -> None:
        sender_id = _account(sender, "sender")
        super().__init__(
            client_id=client_id, platform=platform, owner=str(sender_id), created_at=created_at
        )
        self._sender = sender_id
        self.to: EvmAddress | SolanaPubkey | None = None if to is None else _account(to, "to")
        self.value: int = check_uint(value, "value")
        self.data: bytes = hex_bytes(data, "data")
        self.gas_limit: int | None = check_opt_uint(gas_limit, "gas_limit")
        self.nonce: int | None = check_opt_uint(nonce, "nonce")
        self.fee_params: FeeParams | None = fee_params
        self.recent_blockhash: str | None = recent_blockhash
        self.last_valid_block_height: int | None = check_opt_uint(
            last_valid_block_height, "last_valid_block_height"
        )
        self._attempts: list[TxAttempt] = []
        self.winning_attempt: int | None = None
        self.receipt: TxReceipt | None = None
        self.confirmations: int = 0
        self.fee: Fee | None = None
        self._operator: TxController | OperationController | None = None  # runtime only

    # -- views -------------------------------------------------------------

    @property
    def chain(self) -> str:
        """The chain's platform name."""
        return self.platform

    @property
    def sender(self) -> EvmAddress | SolanaPubkey:
        """The signing account."""
        return self._sender

    @property
    def attempts(self) -> tuple[TxAttempt, ...]:
        """Every signed attempt, by index."""
        return tuple(self._attempts)

    @property
    def latest_attempt(self) -> TxAttempt | None:
        """The most recently signed attempt."""
        return self._attempts[-1] if self._attempts else None

    @property
    def winner(self) -> TxAttempt | None:
        """The attempt that was mined, once known."""
        return None if self.winning_attempt is None else self._attempts[self.winning_attempt]

    @property
    def hash(self) -> TxHash | SolanaSignature | None:
        """The winner's hash, else the latest attempt's."""
        attempt = self.winner or self.latest_attempt
        return None if attempt is None else attempt.hash

    def find_attempt(self, ref: int | str) -> TxAttempt:
        """An attempt by index or by hash (raises ValidationError if unknown)."""
        if isinstance(ref, bool):
            pass
        elif isinstance(ref, int):
            if 0 <= ref < len(self._attempts):
                return self._attempts[ref]
        else:
            for attempt in self._attempts:
                if attempt.hash == ref or (ref.startswith("0x") and attempt.hash == ref.lower()):
                    return attempt
        raise ValidationError(f"{self.client_id} has no attempt {ref!r}")

    # -- waiting -----------------------------------------------------------

    def bind(self, controller: TxController | OperationController) -> None:
        """Attach the operator that tracks this transaction (runtime only, never serialised)."""
        self._operator = controller

    def _tracked(self) -> TxController:
        if not isinstance(self._operator, TxController):
            raise ConfigurationError(f"{self.client_id} is not tracked by an operator")
        return self._operator

    async def wait(self, *, confirmations: int | None = None, timeout: float | None = None) -> Self:
        """Wait until confirmed (``confirmations`` deep) or raise the typed failure.

        With a bound operator, the operator decides (and applies its documented
        defaults). Without one: CONFIRMED or FINALIZED returns (with
        ``confirmations``, any successful mined state that deep); REVERTED raises
        :class:`Reverted`, the other failures their recorded error (a refusal when
        none was recorded); a won cancel raises :class:`Rejected`; ``timeout``
        seconds (None: no bound) without an outcome raise :class:`UnknownOutcome`.
        """
        if confirmations is not None:
            check_uint(confirmations, "confirmations")
        if timeout is not None:
            check_timeout(timeout)
        if self._operator is not None:
            await self._operator.wait(self, confirmations=confirmations, timeout=timeout)
            return self
        return await self._wait_unbound(confirmations, timeout)

    async def _wait_unbound(self, confirmations: int | None, timeout: float | None) -> Self:
        # apart from wait(): a lambda there would make ``confirmations`` a cell on every call
        return await self._wait_settled(lambda tx: tx._settled_at(confirmations), timeout)

    def _settled_at(self, confirmations: int | None) -> bool:
        if confirmations is None:
            return self._settled()
        deep = self._state in MINED_OK_STATES and self.confirmations >= confirmations
        return deep or self.is_terminal

    def _settled(self) -> bool:
        return self._state in SUCCESS_STATES or self.is_terminal

    def _failure(self) -> ChainopsError | None:
        state = self._state
        if state in MINED_OK_STATES:
            winner = self.winner
            if winner is not None and winner.kind is AttemptKind.CANCEL:
                return Rejected(f"{self.client_id} was canceled: attempt {winner.hash} mined")
            return None
        if state is TxState.REVERTED:
            reason = None if self.receipt is None else self.receipt.revert_reason
            return Reverted(f"{self.client_id} ({self.hash}) reverted: {reason}", reason=reason)
        if not self.is_terminal:
            return None
        if self.error is not None:
            return self.error.to_exception()
        return Rejected(f"{self.client_id} ended {state.name}")

    async def speed_up(self) -> TxAttempt:
        """Re-send at the same nonce with higher fees (a new attempt)."""
        return await self._tracked().speed_up(self)

    async def cancel(self) -> TxAttempt:
        """Replace with a 0-value self-transfer at the same nonce."""
        return await self._tracked().cancel(self)

    # -- attempts ----------------------------------------------------------

    def add_attempt(self, attempt: TxAttempt, *, at: datetime | None = None) -> bool:
        """Record a newly signed attempt (journal it before broadcasting!).

        The first attempt moves CREATED -> SIGNED. Adding the same attempt
        again is a no-op; a speed-up/cancel must keep the nonce.
        """
        if attempt.index < len(self._attempts):
            if self._attempts[attempt.index].hash == attempt.hash:
                return False
            raise ValidationError(f"attempt {attempt.index} already exists with another hash")
        if attempt.index != len(self._attempts):
            expected = len(self._attempts)
            raise ValidationError(f"next attempt index is {expected}, not {attempt.index}")
        if any(a.hash == attempt.hash for a in self._attempts):
            raise ValidationError(f"attempt hash {attempt.hash} is already recorded")
        if self._state not in ATTEMPTABLE_STATES:
            raise InvalidTransition(self.machine.kind, self._state.name, "new attempt")
        if self.nonce is not None and attempt.nonce is not None and attempt.nonce != self.nonce:
            raise ValidationError(
                f"attempt nonce {attempt.nonce} differs from the transaction's {self.nonce}: "
                "a replacement must reuse the nonce"
            )
        self._attempts.append(attempt)
        if attempt.nonce is not None:
            self.nonce = attempt.nonce
        if attempt.blockhash is not None:
            self.recent_blockhash = attempt.blockhash
            self.last_valid_block_height = attempt.last_valid_block_height
        if attempt.fee != _NO_FEES:
            self.fee_params = attempt.fee
        self._record(Change.ATTEMPT, self._state, ref=str(attempt.index), at=at)
        if self.venue_id is None:
            self.set_venue_id(attempt.hash, at=at)
        if self._state is TxState.CREATED:
            self._enter(TxState.SIGNED, ref=str(attempt.index), at=at)
        return True

    def mark_broadcast(self, ref: int | str, *, at: datetime | None = None) -> bool:
        """Record that an attempt was handed to the network (SIGNED -> BROADCAST)."""
        attempt = self.find_attempt(ref)
        if attempt.broadcast:
            return False
        if self.is_terminal:
            raise InvalidTransition(self.machine.kind, self._state.name, "BROADCAST")
        # one time for the attempt and its history entries: they agree to the microsecond
        when = time_us(at)
        self._attempts[attempt.index] = attempt.evolve(broadcast_us=when)
        ref = str(attempt.index)
        self._record_us(Change.BROADCAST, self._state, when, ref=ref)
        if self._state is TxState.SIGNED:
            self._enter(TxState.BROADCAST, ref=ref, at_us=when)
        return True

    def attempt_failed(
        self, ref: int | str, error: ErrorInfo | BaseException, *, at: datetime | None = None
    ) -> bool:
        """Record why one attempt was refused (e.g. replacement underpriced)."""
        attempt = self.find_attempt(ref)
        info = ErrorInfo.coerce(error)
        if info is None or attempt.error == info:
            return False
        self._attempts[attempt.index] = attempt.evolve(error=info)
        self._record(Change.ATTEMPT_ERROR, self._state, ref=str(attempt.index), at=at)
        return True

    # -- transitions and updates ------------------------------------------

    def _validate_target(self, target: TxState) -> None:
        _check_target(target, self.receipt, len(self._attempts))

    def _on_enter(self, previous: TxState, target: TxState) -> None:
        if previous in MINED_STATES and target not in MINED_STATES:
            # reorged out: the old block's receipt no longer describes anything
            self.receipt = None
            self.winning_attempt = None
            self.confirmations = 0
            self.fee = None

    def apply(self, update: TxUpdate) -> bool:
        """Apply a monitor observation idempotently; returns True if anything changed."""
        if update.client_id is not None and update.client_id != self.client_id:
            raise ValidationError(f"update for {update.client_id} applied to {self.client_id}")
        if self._is_stale(update.sequence):
            return False
        target: TxState | None = None
        state = update.state  # a TxState already: TxUpdate converts it
        if state is not None and state is not self._state:
            target = self._resolve(state, update.sequence)
            if target is None:
                return False  # a stale state: the rest of the observation is as old
        after = target or self._state
        winner: int | None = None
        receipt = self.receipt
        if update.receipt is not None:
            if after not in MINED_STATES:
                raise ValidationError(f"a receipt cannot be recorded in state {after.name}")
            winner = self.find_attempt(str(update.receipt.transaction_hash)).index
            receipt = update.receipt
        if target is not None or update.receipt is not None:
            _check_target(after, receipt, len(self._attempts))
        if update.confirmations is not None:
            check_uint(update.confirmations, "confirmations")

        at_us = time_us(update.timestamp)  # one observation: its entries share one instant
        changed = False
        if update.receipt is not None and update.receipt != self.receipt:
            self.receipt = update.receipt
            self.winning_attempt = winner
            ref = str(update.receipt.transaction_hash)
            self._record_us(Change.RECEIPT, self._state, at_us, ref=ref)
            changed = True
        deeper = False
        if update.confirmations is not None and update.confirmations != self.confirmations:
            self.confirmations = update.confirmations
            deeper = changed = True
        if update.fee is not None and update.fee != self.fee:
            self.fee = update.fee
            self._record_us(Change.FEE, self._state, at_us)
            changed = True
        if target is not None:
            error = ErrorInfo.coerce(update.error)
            if error is None and target is TxState.REVERTED and receipt is not None:
                error = ErrorInfo("Reverted", receipt.revert_reason or "execution reverted")
            if error is not None:
                self.error = error
            self._enter(target, reason=update.reason, sequence=update.sequence, at_us=at_us)
            changed = True
        self._note_sequence(update.sequence)
        if deeper and self._watchers:
            self._wake_watchers()  # a new depth records no history entry, yet waiters count it
        return changed

    # -- serialisation -----------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: bytes as 0x-hex, enums by name, raw units as ints."""
        return self._base_dict() | {"attempts": [a.to_dict() for a in self._attempts]}

    def _state_dict(self) -> dict[str, Any]:
        # attempts are journalled as rows of their own; keys added in place, not merged
        # into a copy (every journal save builds this)
        state = super()._state_dict()
        state["sender"] = str(self._sender)
        state["to"] = None if self.to is None else str(self.to)
        state["value"] = self.value
        state["data"] = "0x" + self.data.hex()
        state["gas_limit"] = self.gas_limit
        state["nonce"] = self.nonce
        state["fee_params"] = None if self.fee_params is None else self.fee_params.to_dict()
        state["recent_blockhash"] = self.recent_blockhash
        state["last_valid_block_height"] = self.last_valid_block_height
        state["winning_attempt"] = self.winning_attempt
        state["receipt"] = None if self.receipt is None else self.receipt.to_dict()
        state["confirmations"] = self.confirmations
        state["fee"] = None if self.fee is None else self.fee.to_dict()
        return state

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any]) -> Self:
        base = cls._base_args(data)
        del base["owner"]  # the owner of a transaction is its sender
        fee_params = data["fee_params"]
        tx = cls(
            **base,
            sender=data["sender"],
            to=data["to"],
            value=data["value"],
            data=data["data"],
            gas_limit=data["gas_limit"],
            nonce=data["nonce"],
            fee_params=None if fee_params is None else FeeParams.from_dict(fee_params),
            recent_blockhash=data["recent_blockhash"],
            last_valid_block_height=data["last_valid_block_height"],
        )
        tx._restore_base(data)
        tx._attempts = [
            a if isinstance(a, TxAttempt) else TxAttempt.from_dict(a) for a in data["attempts"]
        ]
        tx.winning_attempt = data["winning_attempt"]
        tx.receipt = None if data["receipt"] is None else TxReceipt.from_dict(data["receipt"])
        tx.confirmations = data["confirmations"]
        tx.fee = None if data["fee"] is None else Fee.from_dict(data["fee"])
        return tx
