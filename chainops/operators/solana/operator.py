"""SolanaOperator: SOL and SPL transfers, simulated, priced, journalled, sent exactly once.

The send path, in order, and why nothing lands twice and nothing waits forever:

1. validate (pubkeys, amounts against the mint's decimals; typed errors, nothing sent);
2. take a recent blockhash (shared for ``blockhash_ttl`` seconds) and its last valid
   block height; price compute from the fee market (``fees``);
3. simulate the transaction at the maximum compute limit: a failure raises
   :class:`SimulationFailed` (or :class:`InsufficientBalance`) with the program logs;
   the units consumed, plus headroom, become the limit;
4. sign once, then journal the attempt (wire bytes + signature): the point of no return;
5. send those bytes with preflight and node retries off; the monitor re-sends the
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
import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pydantic import Field
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from chainops.core.assets import from_raw, native_asset, to_raw
from chainops.core.errors import (
    ConfigurationError,
    InvalidIdentifier,
    Rejected,
    RpcError,
    UnknownOutcome,
    ValidationError,
)
from chainops.core.events import EventBus
from chainops.core.ids import ClientIdGenerator, SolanaPubkey, SolanaSignature
from chainops.core.journal import Journal, SqliteJournal
from chainops.core.platforms import ChainKind, ChainPlatform
from chainops.core.transactions import (
    AttemptKind,
    FeeParams,
    Transaction,
    TxAttempt,
    TxState,
    TxUpdate,
)
from chainops.operators.base import Operator, OperatorConfiguration, OperatorFactory
from chainops.operators.group_commit import GroupCommitter
from chainops.operators.solana import programs, spl
from chainops.operators.solana.errors import (
    InsufficientBalance,
    SimulationFailed,
    TokenAccountMissing,
    TransactionExpired,
    TransactionFailed,
    describe_error,
    is_insufficient_funds,
)
from chainops.operators.solana.fees import FeeOracle, PriorityFeePolicy, compute_unit_limit
from chainops.operators.solana.keys import SolanaSigner, load_signer
from chainops.operators.solana.messages import (
    build_message,
    rebuild_with_blockhash,
    sign_message,
    unsigned_bytes,
)
from chainops.operators.solana.monitor import SignatureMonitor
from chainops.operators.solana.pubsub import SignatureSubscriber, default_ws_url
from chainops.operators.solana.transport import (
    COMMITMENT_RANK,
    Blockhash,
    CommitmentLevel,
    SolanaTransport,
)

__all__ = ["SolanaConfiguration", "SolanaOperator"]

# Genesis hashes of the public clusters: an operator for one refuses to talk to another.
GENESIS_HASHES = {
    "mainnet-beta": "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d",
    "devnet": "EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG",
    "testnet": "4uhcVJyU9pJkvQyS88uRDiswHXSCkY3zQawwpjk2NsNY",
}
# Without a simulation the runtime's default applies: 200k units per instruction.
_UNSIMULATED_UNITS_PER_IX = 200_000
_SUCCESS = (TxState.CONFIRMED, TxState.FINALIZED)


class SolanaConfiguration(OperatorConfiguration):
    """Settings of a Solana operator (intervals default by cluster: local or public)."""

    commitment: CommitmentLevel = "confirmed"
    # Local clusters answer in milliseconds; public RPCs are polled ~ once per slot (400 ms).
    poll_interval: float | None = Field(default=None, gt=0)
    # Re-send the same bytes this often until a status appears (2 s is the cluster's
    # usual advice: leaders forward for a few slots, and a lost packet costs one period).
    resend_interval: float | None = Field(default=None, gt=0)
    # A blockhash lives ~60-90 s; sharing one for a moment saves a request per send.
    blockhash_ttl: float = Field(default=0.5, ge=0)
    track_finality: bool = True
    # Confirm by signature subscription where the cluster offers PubSub (polling stays the
    # fallback); the endpoint defaults to the RPC URL's port + 1, as every client assumes.
    subscribe: bool = True
    ws_url: str | None = None
    close_timeout: float = Field(default=30.0, ge=0)
    resign_expired: bool = False
    max_resigns: int = Field(default=3, ge=0)
    memo: bool = True
    priority_percentile: int = Field(default=75, ge=0, le=100)
    priority_fee_cap: int = Field(default=1_000_000, ge=0)
    priority_fee_floor: int = Field(default=0, ge=0)
    cu_headroom_bps: int = Field(default=11_000, ge=10_000)
    cu_min_headroom: int = Field(default=1_000, ge=0)
    compute_unit_price: int | None = Field(default=None, ge=0)
    compute_unit_limit: int | None = Field(default=None, gt=0, le=programs.MAX_COMPUTE_UNIT_LIMIT)

    def fee_policy(self) -> PriorityFeePolicy:
        return PriorityFeePolicy(
            percentile=self.priority_percentile,
            cap=self.priority_fee_cap,
            floor=self.priority_fee_floor,
            headroom_bps=self.cu_headroom_bps,
            min_headroom=self.cu_min_headroom,
            compute_unit_price=self.compute_unit_price,
            compute_unit_limit=self.compute_unit_limit,
        )


def _pubkey(value: object, what: str) -> Pubkey:
    if type(value) is str or type(value) is SolanaPubkey:
        try:
            return Pubkey.from_string(value)  # native parse; a failure is explained below
        except ValueError:
            pass
    try:
        return Pubkey.from_string(SolanaPubkey(value))
    except ValidationError as exc:
        raise InvalidIdentifier(f"{what}: {exc}") from None


def _trusted_pubkey(key: Pubkey) -> SolanaPubkey:
    """A solders key as our id type without re-decoding it (solders already validated it)."""
    return str.__new__(SolanaPubkey, str(key))


def _trusted_signature(text: str) -> SolanaSignature:
    """A signature solders just produced from our own signing: valid by construction."""
    return str.__new__(SolanaSignature, text)


def _commitment_for(confirmations: int | None, default: CommitmentLevel) -> CommitmentLevel:
    """``tx.wait(confirmations=n)`` on Solana: 0 processed, 1-31 confirmed, 32+ finalized."""
    if confirmations is None:
        return default
    if confirmations <= 0:
        return "processed"
    return "finalized" if confirmations >= 32 else "confirmed"


@OperatorFactory.register("chain:SOLANA")
class SolanaOperator(Operator):
    """The BlockchainOperator for Solana clusters."""

    config: SolanaConfiguration

    def __init__(
        self,
        config: SolanaConfiguration,
        signer: SolanaSigner,
        transport: SolanaTransport,
        journal: Journal | None = None,
        events: EventBus | None = None,
    ) -> None:
        super().__init__(config, events)
        platform = self.platform
        if not isinstance(platform, ChainPlatform) or platform.kind is not ChainKind.SOLANA:
            raise ConfigurationError(f"{self.platform.name} is not a Solana cluster")
        self.chain: ChainPlatform = platform
        self.signer = signer
        self.transport = transport
        self.native = native_asset(self.chain)
        path = config.journal_path
        self.journal: Journal = journal or SqliteJournal(path if path else ":memory:")
        prefix = "sol"
        self.ids = ClientIdGenerator(prefix, last_issued=self.journal.last_client_id(prefix))
        self.commits = GroupCommitter(self.journal)
        self.fees = FeeOracle(transport.prioritization_fees, config.fee_policy())
        local = self.chain.is_local
        self.monitor = SignatureMonitor(
            transport,
            self.native,
            track_finality=config.track_finality,
            poll_interval=config.poll_interval or (0.01 if local else 0.4),
            resend_interval=config.resend_interval or (0.1 if local else 2.0),
            on_change=self._on_change,
            on_expired=self._on_expired,
            send=self._broadcast,
        )
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._blockhash: tuple[float, Blockhash] | None = None
        self._blockhash_fetch: asyncio.Future[Blockhash] | None = None
        self._mints: dict[str, spl.MintInfo] = {}
        self._extra_signers: dict[str, bool] = {}
        self.restored: list[Transaction] = []
        self.subscriber: SignatureSubscriber | None = None

    @classmethod
    def from_options(
        cls,
        platform: str | int,
        *,
        rpc_url: str | None = None,
        transport: SolanaTransport | None = None,
        secret_key: str | None = None,
        keypair_path: str | None = None,
        signer: SolanaSigner | None = None,
        journal: Journal | None = None,
        events: EventBus | None = None,
        **settings: Any,
    ) -> SolanaOperator:
        """Build from options: a transport or an RPC URL; the key from a value, a file or env."""
        key = load_signer(secret_key=secret_key, keypair_path=keypair_path, signer=signer)
        endpoints = tuple(settings.pop("endpoints", ())) or ((rpc_url,) if rpc_url else ())
        config = SolanaConfiguration(platform=platform, endpoints=endpoints, **settings)
        if transport is None:
            if not endpoints:
                raise ConfigurationError("a Solana operator needs an RPC URL or a transport")
            from chainops.operators.solana.rpc_transport import RpcTransport

            transport = RpcTransport(endpoints[0], timeout=config.request_timeout)
        return cls(config, key, transport, journal, events)

    @property
    def owner(self) -> str:
        return str(self.signer.pubkey)

    # -- lifecycle --------------------------------------------------------------------------

    async def _start(self) -> None:
        try:
            await self._check_cluster()
            self.monitor.height = await self.transport.block_height("confirmed")
            self.monitor.start()
            await self._open_subscriptions()
            self.restored = await self.restore()
        except BaseException:
            await self._shutdown()
            raise

    async def _check_cluster(self) -> None:
        genesis = await self.transport.genesis_hash()
        if genesis is None:
            return
        cluster = self.chain.chain_id
        expected = GENESIS_HASHES.get(str(cluster))
        known = {v: k for k, v in GENESIS_HASHES.items()}.get(genesis)
        if expected is not None and genesis != expected:
            raise ConfigurationError(
                f"the RPC node is not {cluster} (genesis {genesis}); refusing to send"
            )
        if expected is None and known is not None:
            raise ConfigurationError(
                f"the RPC node is {known}, but this operator is for {self.chain.name}; refusing"
            )

    async def _close(self) -> None:
        deadline = time.monotonic() + self.config.close_timeout
        while self.monitor.live and time.monotonic() < deadline:
            if all(tx.state in _SUCCESS for tx in self.monitor.live):
                break  # only finality left to see: not worth holding the caller
            await asyncio.sleep(self.monitor.poll_interval)
        await self._shutdown()

    async def _open_subscriptions(self) -> None:
        """Have landings wake the monitor through PubSub, if the cluster offers it."""
        rpc_url = getattr(self.transport, "url", None)
        url = self.config.ws_url or (default_ws_url(rpc_url) if isinstance(rpc_url, str) else None)
        if not self.config.subscribe or url is None:
            return
        subscriber = SignatureSubscriber(
            url, lambda _: self.monitor.wake(), commitment=self.config.commitment
        )
        if await subscriber.start():
            self.subscriber = subscriber
            self.monitor.on_signature = subscriber.watch
        else:
            await subscriber.close()  # no websocket here: polling alone

    async def _shutdown(self) -> None:
        if self.subscriber is not None:
            await self.subscriber.close()
            self.subscriber = None
        await self.monitor.stop()
        await self.commits.drain()
        await self.transport.close()

    async def restore(self) -> list[Transaction]:
        """Reconcile every unfinished transaction of this account left in the journal.

        Each is looked up by the signatures of all its attempts; one that has not
        landed is re-sent with the same bytes while its blockhash is valid, and is
        EXPIRED (or re-signed, if the policy allows) once it provably cannot land.
        """
        restored: list[Transaction] = []
        tracked = {str(tx.client_id) for tx in self.monitor.live}
        for op in self.journal.non_terminal(
            kind="transaction", platform=self.chain.name, owner=self.owner
        ):
            if not isinstance(op, Transaction) or str(op.client_id) in tracked:
                continue
            self.events.track(op, announce=False)
            self._bind(op)
            restored.append(op)
            self.monitor.track(op)
        if restored:
            await self.monitor.turn()  # statuses first; unseen ones are re-sent in the turn
        return restored

    # -- reads ------------------------------------------------------------------------------

    async def balance(self, pubkey: str | None = None) -> Decimal:
        """SOL held by ``pubkey`` (default: this operator's account)."""
        who = SolanaPubkey(pubkey or self.owner)
        return self.native.from_raw(await self.transport.balance(str(who)))

    async def mint_info(self, mint: str) -> spl.MintInfo:
        """Decimals, supply, program (Token or Token-2022) and authorities of a mint."""
        key = str(SolanaPubkey(mint))
        cached = self._mints.get(key)
        if cached is not None:
            return cached
        account = await self.transport.account(key)
        if account is None:
            raise ValidationError(f"mint {key} does not exist")
        owner = Pubkey.from_string(account.owner)
        info = spl.parse_mint(Pubkey.from_string(key), owner, account.data)
        if info is None:
            raise ValidationError(f"{key} is not a token mint (owner {account.owner})")
        self._mints[key] = info  # decimals and program never change
        return info

    async def token_balance(self, mint: str, owner: str | None = None) -> Decimal:
        """Tokens of ``mint`` in ``owner``'s associated token account (0 if it has none)."""
        info = await self.mint_info(mint)
        who = _pubkey(owner or self.owner, "owner")
        ata = spl.associated_token_address(who, info.address, info.program)
        raw = await self.transport.token_balance(str(ata))
        return Decimal(0) if raw is None else from_raw(raw, info.decimals)

    def token_account(self, mint: spl.MintInfo, owner: str | None = None) -> str:
        """The associated token account address of ``owner`` for a mint."""
        who = _pubkey(owner or self.owner, "owner")
        return str(spl.associated_token_address(who, mint.address, mint.program))

    # -- sending ----------------------------------------------------------------------------

    async def transfer(
        self,
        to: str,
        amount: Decimal | int | str,
        *,
        compute_unit_price: int | None = None,
        simulate: bool = True,
    ) -> Transaction:
        """Send ``amount`` SOL to ``to``; returns the transaction once it is sent."""
        recipient = _pubkey(to, "recipient")
        lamports = to_raw(amount, self.native.decimals)
        if lamports == 0:
            raise ValidationError("amount must be positive")
        ix = programs.transfer(self.signer.solders_pubkey, recipient, lamports)
        return await self.send_instructions(
            [ix],
            to=_trusted_pubkey(recipient),
            value=lamports,
            compute_unit_price=compute_unit_price,
            simulate=simulate,
        )

    async def token_transfer(
        self,
        mint: str,
        to: str,
        amount: Decimal | int | str,
        *,
        create_account: bool = True,
        compute_unit_price: int | None = None,
        simulate: bool = True,
    ) -> Transaction:
        """Send ``amount`` tokens of ``mint`` to the wallet ``to`` (its associated account).

        The recipient's associated token account is created in the same transaction
        if missing (idempotently: racing creators cannot make it fail), unless
        ``create_account`` is false, in which case a missing one raises
        :class:`TokenAccountMissing` before anything is sent.
        """
        mint_key = _pubkey(mint, "mint")
        recipient = _pubkey(to, "recipient")
        info = await self.mint_info(str(mint_key))
        units = to_raw(amount, info.decimals)
        if units == 0:
            raise ValidationError("amount must be positive")
        payer = self.signer.solders_pubkey
        source = spl.associated_token_address(payer, mint_key, info.program)
        destination = spl.associated_token_address(recipient, mint_key, info.program)
        ixs: list[Instruction] = []
        if create_account:
            ixs.append(
                spl.create_associated_token_account_idempotent(
                    payer, recipient, mint_key, info.program
                )
            )
        elif await self.transport.token_balance(str(destination)) is None:
            raise TokenAccountMissing(
                f"{recipient} has no token account for {mint_key} ({destination}) "
                "and create_account is false"
            )
        ixs.append(
            spl.transfer_checked(
                source, mint_key, destination, payer, units, info.decimals, info.program
            )
        )
        return await self.send_instructions(
            ixs,
            to=_trusted_pubkey(recipient),
            compute_unit_price=compute_unit_price,
            simulate=simulate,
        )

    async def create_mint(
        self,
        decimals: int,
        *,
        token_2022: bool = False,
        mint: SolanaSigner | None = None,
    ) -> tuple[str, Transaction]:
        """A new mint with this account as mint authority; returns (mint address, tx)."""
        if not 0 <= decimals <= 255:
            raise ValidationError("decimals must be within 0..255")
        program = programs.TOKEN_2022_PROGRAM_ID if token_2022 else programs.TOKEN_PROGRAM_ID
        mint_key = mint or SolanaSigner.generate()
        rent = await self.transport.minimum_balance_for_rent_exemption(spl.MINT_SIZE)
        payer = self.signer.solders_pubkey
        ixs = [
            programs.create_account(payer, mint_key.solders_pubkey, rent, spl.MINT_SIZE, program),
            spl.initialize_mint2(mint_key.solders_pubkey, decimals, payer, None, program),
        ]
        tx = await self.send_instructions(ixs, to=mint_key.pubkey, signers=[mint_key])
        return str(mint_key.pubkey), tx

    async def mint_to(self, mint: str, to: str, amount: Decimal | int | str) -> Transaction:
        """Mint tokens to ``to``'s associated account (created if missing); we are the authority."""
        info = await self.mint_info(mint)
        recipient = _pubkey(to, "recipient")
        units = to_raw(amount, info.decimals)
        payer = self.signer.solders_pubkey
        destination = spl.associated_token_address(recipient, info.address, info.program)
        ixs = [
            spl.create_associated_token_account_idempotent(
                payer, recipient, info.address, info.program
            ),
            spl.mint_to_checked(
                info.address, destination, payer, units, info.decimals, info.program
            ),
        ]
        return await self.send_instructions(ixs, to=_trusted_pubkey(recipient))

    async def send_instructions(
        self,
        instructions: Sequence[Instruction],
        *,
        to: str | SolanaPubkey | None = None,
        value: int = 0,
        signers: Sequence[SolanaSigner] = (),
        compute_unit_price: int | None = None,
        compute_unit_limit: int | None = None,
        simulate: bool = True,
    ) -> Transaction:
        """Send any instructions (paid and signed by this account, plus ``signers``)."""
        self._check_open()
        if not instructions:
            raise ValidationError("a transaction needs at least one instruction")
        if compute_unit_limit is not None and not (
            0 < compute_unit_limit <= programs.MAX_COMPUTE_UNIT_LIMIT
        ):
            raise ValidationError("compute_unit_limit out of range")
        client_id = self.ids.next()
        body = list(instructions)
        if self.config.memo:
            body.append(programs.memo(str(client_id)))
        payer = self.signer.solders_pubkey
        writable = sorted({str(m.pubkey) for ix in body for m in ix.accounts if m.is_writable})
        cached_hash = self._cached_blockhash()
        cached_price = self.fees.cached_price(writable, compute_unit_price)
        # A miss joins the one fetch in flight (both start before either is awaited).
        pricing = None if cached_price is not None else self.fees.fetching(writable)
        blockhash = cached_hash if cached_hash is not None else await self._recent_blockhash()
        price = cached_price if pricing is None else await asyncio.shield(pricing)
        assert price is not None  # known, or just fetched
        limit = compute_unit_limit or self.config.compute_unit_limit
        if simulate:
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
                raise self._simulation_error(outcome.err, outcome.logs, trial)
            if limit is None:
                limit = compute_unit_limit_of(outcome.units_consumed, self.fees.policy)
        if limit is None:
            limit = min(_UNSIMULATED_UNITS_PER_IX * len(body), programs.MAX_COMPUTE_UNIT_LIMIT)
        message = build_message(
            payer,
            [programs.set_compute_unit_limit(limit), programs.set_compute_unit_price(price), *body],
            blockhash.blockhash,
        )
        signed = sign_message(message, [self.signer, *signers])
        if not self.config.memo and self._is_tracked_signature(signed.signature):
            raise ValidationError(
                "an identical transaction is already in flight (same signature); "
                "enable the memo or change the transfer"
            )
        fee = FeeParams(compute_unit_price=price, compute_unit_limit=limit)
        tx = Transaction(
            client_id=client_id,
            platform=self.chain.name,
            sender=self.signer.pubkey,
            to=to,
            value=value,
            fee_params=fee,
            recent_blockhash=blockhash.blockhash,
            last_valid_block_height=blockhash.last_valid_block_height,
        )
        self.events.track(tx)
        attempt = TxAttempt(
            index=0,
            hash=_trusted_signature(signed.signature),
            raw=signed.raw,
            fee=fee,
            blockhash=blockhash.blockhash,
            last_valid_block_height=blockhash.last_valid_block_height,
        )
        tx.add_attempt(attempt)
        if signers:
            self._extra_signers[str(client_id)] = True
        # The point of no return: once journalled, these bytes are ours to re-send.
        await self.commits.save(tx)
        self._bind(tx)
        self.monitor.track(tx)
        await self._broadcast(tx, attempt)
        return tx

    async def transfer_and_wait(
        self, to: str, amount: Decimal | int | str, **options: Any
    ) -> Transaction:
        """:meth:`transfer`, then :meth:`wait` at the default commitment."""
        return await self.wait(await self.transfer(to, amount, **options))

    async def wait(
        self,
        tx: Transaction,
        *,
        commitment: CommitmentLevel | None = None,
        timeout: float | None = None,
    ) -> Transaction:
        """Wait until ``tx`` reaches ``commitment`` (default: the configured one).

        A transaction that landed with an error raises :class:`TransactionFailed`
        (logs attached), one whose blockhash expired raises
        :class:`TransactionExpired`. The blockhash bounds every wait (about a minute
        on public clusters); ``timeout`` (default 120 s) only guards against a
        stalled RPC, raising :class:`UnknownOutcome`.
        """
        level = commitment or self.config.commitment
        need = COMMITMENT_RANK[level]
        limit = 120.0 if timeout is None else timeout

        def settled() -> bool:
            if tx.is_terminal:
                return True
            if tx.receipt is not None and not tx.receipt.succeeded:
                return need == 0  # at "processed" the error is news enough; else REVERTED
            rank = {TxState.INCLUDED: 0, TxState.CONFIRMED: 1, TxState.FINALIZED: 2}.get(tx.state)
            return rank is not None and rank >= need

        if not tx.is_terminal:
            self.monitor.track(tx)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(limit):
                while not settled():
                    woken: asyncio.Future[None] = loop.create_future()
                    self._waiters.setdefault(str(tx.client_id), []).append(woken)
                    await woken
        except TimeoutError:
            raise UnknownOutcome(
                f"{tx.client_id} ({tx.hash}) is {tx.state.name} after {limit}s: "
                "still pending, not failed"
            ) from None
        if tx.receipt is not None and not tx.receipt.succeeded:
            raise self._failure(tx)
        if tx.state in (TxState.INCLUDED, *_SUCCESS):
            return tx
        if tx.state is TxState.EXPIRED:
            raise TransactionExpired(tx.error.message if tx.error else f"{tx.client_id} expired")
        raise (tx.error.to_exception() if tx.error else Rejected(f"{tx.client_id} {tx.state.name}"))

    # -- internals --------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self.closed:
            raise ConfigurationError(f"{self!r} is closed: it accepts no new sends")
        if not self.started:
            raise ConfigurationError(f"{self!r} is not started; use `async with`")

    def _is_tracked_signature(self, signature: str) -> bool:
        return self.monitor.has_signature(signature)

    def _bind(self, tx: Transaction) -> None:
        """Let ``await tx.wait()`` reach this operator (whichever binding the core offers)."""
        bind = getattr(tx, "bind", None)
        if bind is not None:
            bind(_TxController(self))
        else:
            tx.bind_waiter(self._bound_wait)  # type: ignore[attr-defined]

    async def _bound_wait(
        self, tx: Transaction, *, confirmations: int | None = None, timeout: float | None = None
    ) -> Transaction:
        level = _commitment_for(confirmations, self.config.commitment)
        return await self.wait(tx, commitment=level, timeout=timeout)

    def _cached_blockhash(self) -> Blockhash | None:
        cached = self._blockhash
        if cached is not None and time.monotonic() - cached[0] < self.config.blockhash_ttl:
            return cached[1]
        return None

    async def _recent_blockhash(self) -> Blockhash:
        cached = self._cached_blockhash()
        if cached is not None:
            return cached
        fetch = self._blockhash_fetch
        if fetch is None or fetch.done():
            fetch = self._blockhash_fetch = asyncio.ensure_future(self._fetch_blockhash())
        return await asyncio.shield(fetch)

    async def _fetch_blockhash(self) -> Blockhash:
        asked = time.monotonic()
        fresh = await self.transport.latest_blockhash()
        self._blockhash = (asked, fresh)
        return fresh

    def _simulation_error(self, err: Any, logs: Sequence[str], message: Any) -> SimulationFailed:
        keys = message.account_keys
        programs_of = [str(keys[ix.program_id_index]) for ix in message.instructions]
        text = describe_error(err, programs_of)
        tail = ("\n" + "\n".join(logs)) if logs else ""
        if is_insufficient_funds(err, programs_of):
            return InsufficientBalance(f"simulation failed: {text}{tail}", err=err, logs=logs)
        return SimulationFailed(f"simulation failed: {text}{tail}", err=err, logs=logs)

    def _failure(self, tx: Transaction) -> TransactionFailed:
        message = tx.error.message if tx.error else f"{tx.client_id} failed"
        logs: list[str] = []
        if "\n" in message:
            logs = message.split("\n")[1:]
        err = None
        return TransactionFailed(message.split("\n")[0], err=err, logs=logs)

    async def _broadcast(self, tx: Transaction, attempt: TxAttempt) -> None:
        """Hand the journalled bytes over; any failure is retried by the re-send schedule."""
        self.monitor.sent(tx)
        try:
            await self.transport.send_raw(attempt.raw)
        except RpcError as exc:
            self.monitor.sent(tx)  # the re-send clock runs from the hand-over's end
            # Never fatal: the bytes may have arrived, and until the blockhash expires
            # the monitor keeps re-sending them; expiry then decides.
            tx.attempt_failed(attempt.index, exc)
            self.commits.save_soon(tx)
            return
        self.monitor.sent(tx)  # a batched send may take a while: the clock starts on its end
        if tx.state in (TxState.SIGNED, TxState.BROADCAST) and not attempt.broadcast:
            tx.mark_broadcast(attempt.index)
        self.monitor.wake()

    async def _on_expired(self, tx: Transaction, height: int) -> None:
        attempt = tx.latest_attempt
        assert attempt is not None
        resigns = sum(1 for a in tx.attempts if a.kind is AttemptKind.RESIGN)
        single_signer = attempt.raw[0] == 1
        if self.config.resign_expired and resigns < self.config.max_resigns and single_signer:
            await self._resign(tx, attempt)
            return
        tx.apply(
            TxUpdate(
                state=TxState.EXPIRED,
                error=TransactionExpired(
                    f"{tx.client_id} ({attempt.hash}) never landed: block height {height} "
                    f"passed its last valid block height {attempt.last_valid_block_height}"
                ),
                sequence=self.monitor.sequence(),
            )
        )

    async def _resign(self, tx: Transaction, previous: TxAttempt) -> None:
        """A new attempt with a fresh blockhash: only called once the old one cannot land."""
        fresh = await self.transport.latest_blockhash()
        message = rebuild_with_blockhash(previous.raw, fresh.blockhash)
        signed = sign_message(message, [self.signer])
        attempt = TxAttempt(
            index=len(tx.attempts),
            hash=_trusted_signature(signed.signature),
            raw=signed.raw,
            fee=previous.fee,
            kind=AttemptKind.RESIGN,
            blockhash=fresh.blockhash,
            last_valid_block_height=fresh.last_valid_block_height,
        )
        tx.add_attempt(attempt)
        await self.commits.save(tx)
        await self._broadcast(tx, attempt)

    async def _on_change(self, tx: Transaction) -> None:
        if tx.state is not TxState.INCLUDED:  # "processed" is gone in a slot: not worth a write
            self.commits.save_soon(tx)
        self._wake(tx)

    def _wake(self, tx: Transaction) -> None:
        for woken in self._waiters.pop(str(tx.client_id), ()):
            if not woken.done():
                woken.set_result(None)


class _TxController:
    """What ``tx.wait()`` / ``tx.speed_up()`` / ``tx.cancel()`` reach on Solana."""

    def __init__(self, operator: SolanaOperator) -> None:
        self._operator = operator

    async def wait(
        self, tx: Transaction, *, confirmations: int | None = None, timeout: float | None = None
    ) -> Transaction:
        return await self._operator._bound_wait(tx, confirmations=confirmations, timeout=timeout)

    async def speed_up(self, tx: Transaction) -> TxAttempt:
        raise ValidationError(
            "a sent Solana transaction cannot be sped up: its fee is signed into it. "
            "Wait for it to land or expire (resign_expired re-signs only after expiry)"
        )

    async def cancel(self, tx: Transaction) -> TxAttempt:
        raise ValidationError(
            "a sent Solana transaction cannot be cancelled: it lands or its blockhash expires"
        )


def compute_unit_limit_of(units: int | None, policy: PriorityFeePolicy) -> int | None:
    return None if units is None else compute_unit_limit(units, policy)
