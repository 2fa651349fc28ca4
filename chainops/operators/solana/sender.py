"""The Solana send path: blockhash, price, simulate, sign once, journal, send.

1. take a recent blockhash (shared for ``blockhash_ttl`` seconds and refreshed ahead of
   that, ``blockhashes``) and its last valid block height; price compute from the fee
   market (``fees``);
2. simulate the transaction at the maximum compute limit: a failure raises
   :class:`SimulationFailed` (or :class:`InsufficientBalance`) with the program logs;
   the units consumed, plus headroom, become the limit;
3. sign once, then journal the attempt (wire bytes + signature): the point of no return;
4. send those bytes with preflight and node retries off; the monitor re-sends the
   *same bytes* on a schedule until a status appears or the blockhash's last valid
   block height has passed (then EXPIRED, or, only if ``resign_expired`` is set, a
   new attempt with a fresh blockhash, which is safe because the old one provably
   can no longer land).

A unique memo (the client id) makes every logical transfer a distinct transaction:
two identical transfers under one blockhash would otherwise share one signature and
land once between them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from solders.instruction import Instruction

from chainops.core.attempt import AttemptKind, FeeParams, TxAttempt
from chainops.core.bus import EventBus
from chainops.core.errors import InvalidAmount, RpcError, ValidationError
from chainops.core.ids import ClientIdGenerator, SolanaPubkey
from chainops.core.transaction import Transaction, TxState, TxUpdate
from chainops.operators.group_commit import GroupCommitter
from chainops.operators.solana import programs
from chainops.operators.solana.blockhashes import RecentBlockhash
from chainops.operators.solana.checks import check_instructions, check_u64
from chainops.operators.solana.claims import SendClaims
from chainops.operators.solana.errors import (
    InsufficientBalance,
    SimulationFailed,
    TransactionExpired,
    describe_error,
    is_insufficient_funds,
)
from chainops.operators.solana.fees import FeeOracle
from chainops.operators.solana.fees import compute_unit_limit as limit_for_units
from chainops.operators.solana.keys import SolanaSigner, trusted_signature
from chainops.operators.solana.messages import (
    build_message,
    rebuild_with_blockhash,
    sign_message,
    unsigned_bytes,
)
from chainops.operators.solana.monitor import SignatureMonitor
from chainops.operators.solana.transport import SolanaTransport
from chainops.operators.waves import Waves

# Without a simulation the runtime's default applies: 200k units per instruction.
_UNSIMULATED_UNITS_PER_IX = 200_000
MAX_UNITS = programs.MAX_COMPUTE_UNIT_LIMIT
# Distinct (price, limit) pairs kept: a burst of alike transfers uses a few.
_FEES_KEPT = 256


@dataclass(frozen=True)
class SendPolicy:
    """The sender's settings (from the operator's configuration)."""

    memo: bool = True
    blockhash_ttl: float = 0.5
    compute_unit_limit: int | None = None
    resign_expired: bool = False
    max_resigns: int = 3


class SendRequest(msgspec.Struct, frozen=True, gc=False):
    """What one send asks for (``SolanaOperator.send_instructions``'s arguments)."""

    instructions: Sequence[Instruction]
    to: str | SolanaPubkey | None = None
    value: int = 0
    signers: Sequence[SolanaSigner] = ()
    compute_unit_price: int | None = None
    compute_unit_limit: int | None = None
    simulate: bool = True


def check_request(request: SendRequest) -> None:
    """Raise ValidationError for instructions or numbers the transaction cannot carry."""
    check_instructions(request.instructions)
    check_u64(request.value, "value", InvalidAmount)
    if request.compute_unit_price is not None:
        check_u64(request.compute_unit_price, "compute_unit_price")
    limit = request.compute_unit_limit
    if limit is not None and not (0 < check_u64(limit, "compute_unit_limit") <= MAX_UNITS):
        raise ValidationError(f"compute_unit_limit must be within 1..{MAX_UNITS}, got {limit}")


class SolanaSender:
    """Builds, signs, journals and sends the transactions of one Solana account."""

    def __init__(
        self,
        *,
        platform: str,
        signer: SolanaSigner,
        transport: SolanaTransport,
        fees: FeeOracle,
        policy: SendPolicy,
        ids: ClientIdGenerator,
        commits: GroupCommitter,
        events: EventBus,
        bind: Callable[[Transaction], None],
    ) -> None:
        self.platform = platform
        self.signer = signer
        self.transport = transport
        self.fees = fees
        self.policy = policy
        self.ids = ids
        self.commits = commits
        self.events = events
        self._bind = bind
        self.monitor: SignatureMonitor | None = None  # wired once the monitor exists
        self.claims: SendClaims | None = None  # set when workers share the account
        self.blockhashes = RecentBlockhash(transport.latest_blockhash, policy.blockhash_ttl)
        # In-process, a wave is all CPU: larger waves (fewer commits) still send each
        # within a fraction of a second of taking its blockhash.
        self.waves = Waves(per_turn=500)
        self._fees: dict[tuple[int, int], FeeParams] = {}

    def _live(self) -> SignatureMonitor:
        assert self.monitor is not None
        return self.monitor

    async def send(self, request: SendRequest) -> Transaction:
        """Price, simulate, sign once, journal, then hand the bytes over."""
        check_request(request)
        # In waves: a burst's blockhash must not age by the whole burst before its send.
        await self.waves.admit()
        try:
            tx, attempt = await self._sign_and_journal(request)
        finally:
            self.waves.leave()  # journalled (or failed): the next wave may sign
        claims = self.claims
        if claims is not None:
            await claims.confirm(tx)  # taken over meanwhile: REJECTED, unsent, raises
        self._bind(tx)
        self._live().track(tx)
        await self.broadcast(tx, attempt)
        return tx

    async def _sign_and_journal(self, request: SendRequest) -> tuple[Transaction, TxAttempt]:
        """Price, simulate and sign once, then journal: durable before it returns."""
        client_id = self.ids.next()
        body = list(request.instructions)
        if self.policy.memo:
            body.append(programs.memo(str(client_id)))
        payer = self.signer.solders_pubkey
        writable = sorted({str(m.pubkey) for ix in body for m in ix.accounts if m.is_writable})
        cached_hash = self.blockhashes.cached()
        cached_price = self.fees.cached_price(writable, request.compute_unit_price)
        # A miss joins the one fetch in flight (both start before either is awaited).
        pricing = None if cached_price is not None else self.fees.fetching(writable)
        blockhash = cached_hash if cached_hash is not None else await self.blockhashes.get()
        price = cached_price if pricing is None else await asyncio.shield(pricing)
        assert price is not None  # known, or just fetched
        limit = request.compute_unit_limit or self.policy.compute_unit_limit
        if request.simulate:
            trial = build_message(
                payer,
                [
                    programs.set_compute_unit_limit(programs.MAX_COMPUTE_UNIT_LIMIT),
                    programs.set_compute_unit_price(price),
                    *body,
                ],
                blockhash.blockhash,
            )
            outcome = await self.transport.simulate(unsigned_bytes(trial))
            if outcome.err is not None:
                raise simulation_error(outcome.err, outcome.logs, trial)
            if limit is None and outcome.units_consumed is not None:
                limit = limit_for_units(outcome.units_consumed, self.fees.policy)
        if limit is None:
            limit = min(_UNSIMULATED_UNITS_PER_IX * len(body), programs.MAX_COMPUTE_UNIT_LIMIT)
        message = build_message(
            payer,
            [programs.set_compute_unit_limit(limit), programs.set_compute_unit_price(price), *body],
            blockhash.blockhash,
        )
        signed = sign_message(message, [self.signer, *request.signers])
        if not self.policy.memo and self._live().has_signature(signed.signature):
            raise ValidationError(
                "an identical transaction is already in flight (same signature); "
                "enable the memo or change the transfer"
            )
        fee = self._fee_params(price, limit)
        tx = Transaction(
            client_id=client_id,
            platform=self.platform,
            sender=self.signer.pubkey,
            to=request.to,
            value=request.value,
            fee_params=fee,
            recent_blockhash=blockhash.blockhash,
            last_valid_block_height=blockhash.last_valid_block_height,
        )
        self.events.track(tx)
        attempt = TxAttempt(
            index=0,
            hash=trusted_signature(signed.signature),
            raw=signed.raw,
            fee=fee,
            blockhash=blockhash.blockhash,
            last_valid_block_height=blockhash.last_valid_block_height,
        )
        tx.add_attempt(attempt)
        claims = self.claims
        if claims is not None:  # workers share the account: the send is ours before it exists
            await claims.reserve(str(client_id))
        # The point of no return: once journalled, these bytes are ours to re-send.
        try:
            await self.commits.save(tx)
        except BaseException:
            if claims is not None:
                claims.release_soon(str(client_id))
            raise
        return tx, attempt

    async def broadcast(self, tx: Transaction, attempt: TxAttempt) -> None:
        """Hand the journalled bytes over; any failure is retried by the re-send schedule."""
        monitor = self._live()
        monitor.sent(tx)
        try:
            await self.transport.send_raw(attempt.raw)
        except RpcError as exc:
            monitor.resend_clock(tx)  # the re-send clock runs from the hand-over's end
            # Never fatal: the bytes may have arrived, and until the blockhash expires
            # the monitor keeps re-sending them; expiry then decides.
            tx.attempt_failed(attempt.index, exc)
            self.commits.save_soon(tx)
            return
        monitor.resend_clock(tx)  # a batched send may take a while: the clock starts on its end
        if tx.state in (TxState.SIGNED, TxState.BROADCAST) and not attempt.broadcast:
            tx.mark_broadcast(attempt.index)
        monitor.wake()

    async def expired(self, tx: Transaction, height: int) -> None:
        """The latest attempt can never land: EXPIRED, or re-signed if the policy allows."""
        attempt = tx.latest_attempt
        assert attempt is not None
        resigns = sum(1 for a in tx.attempts if a.kind is AttemptKind.RESIGN)
        single_signer = attempt.raw[0] == 1
        policy = self.policy
        if policy.resign_expired and resigns < policy.max_resigns and single_signer:
            await self._resign(tx, attempt)
            return
        tx.apply(
            TxUpdate(
                state=TxState.EXPIRED,
                error=TransactionExpired(
                    f"{tx.client_id} ({attempt.hash}) never landed: block height {height} "
                    f"passed its last valid block height {attempt.last_valid_block_height}"
                ),
                sequence=self._live().sequence(),
            )
        )

    async def _resign(self, tx: Transaction, previous: TxAttempt) -> None:
        """A new attempt with a fresh blockhash: only called once the old one cannot land."""
        if self.claims is not None and not await self.claims.still_ours(tx):
            self._live().forget(tx)  # another worker took it over: a new signature is theirs
            return
        fresh = await self.transport.latest_blockhash()
        message = rebuild_with_blockhash(previous.raw, fresh.blockhash)
        signed = sign_message(message, [self.signer])
        attempt = TxAttempt(
            index=len(tx.attempts),
            hash=trusted_signature(signed.signature),
            raw=signed.raw,
            fee=previous.fee,
            kind=AttemptKind.RESIGN,
            blockhash=fresh.blockhash,
            last_valid_block_height=fresh.last_valid_block_height,
        )
        tx.add_attempt(attempt)
        await self.commits.save(tx)
        await self.broadcast(tx, attempt)

    def _fee_params(self, price: int, limit: int) -> FeeParams:
        """The (immutable, validated) FeeParams of a price and limit, built once each."""
        key = (price, limit)
        fee = self._fees.get(key)
        if fee is None:
            if len(self._fees) >= _FEES_KEPT:
                self._fees.clear()
            fee = self._fees[key] = FeeParams(compute_unit_price=price, compute_unit_limit=limit)
        return fee


def simulation_error(err: Any, logs: Sequence[str], message: Any) -> SimulationFailed:
    """The typed error of a failed simulation, the program logs attached."""
    keys = message.account_keys
    programs_of = [str(keys[ix.program_id_index]) for ix in message.instructions]
    text = describe_error(err, programs_of)
    tail = ("\n" + "\n".join(logs)) if logs else ""
    if is_insufficient_funds(err, programs_of):
        return InsufficientBalance(f"simulation failed: {text}{tail}", err=err, logs=logs)
    return SimulationFailed(f"simulation failed: {text}{tail}", err=err, logs=logs)
