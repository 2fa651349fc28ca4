"""SolanaOperator: SOL and SPL transfers, simulated, priced, journalled, sent exactly once.

A facade over parts: ``sender`` (blockhash, price, simulate, sign once, journal,
send; re-sign after expiry), ``monitor`` (signature statuses, re-sends of the
same bytes, expiry), ``fees`` (priority fees), ``spl`` and ``programs``
(instructions), ``transport`` (RPC or in-process SVM). It adds the user's verbs
and what ``tx.wait(confirmations=...)`` means on Solana.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Self

from solders.instruction import Instruction
from solders.pubkey import Pubkey

from chainops.core.assets import from_raw, native_asset, to_raw
from chainops.core.attempt import TxAttempt
from chainops.core.bus import EventBus
from chainops.core.errors import ConfigurationError, Rejected, ValidationError
from chainops.core.ids import SolanaPubkey
from chainops.core.journal import Journal
from chainops.core.platforms import ChainKind, ChainPlatform, get_platform
from chainops.core.transaction import Transaction, TxState
from chainops.operators.base import OperatorFactory
from chainops.operators.chain import ChainOperator
from chainops.operators.keeper import shared_store
from chainops.operators.solana import programs, spl
from chainops.operators.solana.checks import check_decimals, positive_units
from chainops.operators.solana.claims import SendClaims
from chainops.operators.solana.configuration import SolanaConfiguration
from chainops.operators.solana.errors import (
    InsufficientBalance,
    SimulationFailed,
    TokenAccountMissing,
    TransactionExpired,
    TransactionFailed,
)
from chainops.operators.solana.fees import FeeOracle
from chainops.operators.solana.keys import (
    SolanaSigner,
    load_signer,
    parse_pubkey,
    trusted_pubkey,
)
from chainops.operators.solana.monitor import SignatureMonitor
from chainops.operators.solana.pubsub_url import default_ws_url
from chainops.operators.solana.sender import SendRequest, SolanaSender
from chainops.operators.solana.transport import COMMITMENT_RANK, CommitmentLevel, SolanaTransport

if TYPE_CHECKING:
    from chainops.operators.solana.pubsub import SignatureSubscriber

__all__ = ["SolanaConfiguration", "SolanaOperator"]

# Genesis hashes of the public clusters: an operator for one refuses to talk to another.
GENESIS_HASHES = {
    "mainnet-beta": "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d",
    "devnet": "EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG",
    "testnet": "4uhcVJyU9pJkvQyS88uRDiswHXSCkY3zQawwpjk2NsNY",
}
_SUCCESS = (TxState.CONFIRMED, TxState.FINALIZED)


def _commitment_for(confirmations: int | None, default: CommitmentLevel) -> CommitmentLevel:
    """``tx.wait(confirmations=n)`` on Solana: 0 processed, 1-31 confirmed, 32+ finalized."""
    if confirmations is None:
        return default
    if confirmations <= 0:
        return "processed"
    return "finalized" if confirmations >= 32 else "confirmed"


@OperatorFactory.register("chain:SOLANA")
class SolanaOperator(ChainOperator):
    """The BlockchainOperator for Solana clusters."""

    config: SolanaConfiguration
    monitor: SignatureMonitor

    def __init__(
        self,
        config: SolanaConfiguration,
        signer: SolanaSigner,
        transport: SolanaTransport,
        journal: Journal | None = None,
        events: EventBus | None = None,
    ) -> None:
        super().__init__(config, "sol", journal, events)
        platform = self.platform
        if not isinstance(platform, ChainPlatform) or platform.kind is not ChainKind.SOLANA:
            raise ConfigurationError(f"{self.platform.name} is not a Solana cluster")
        self.signer = signer
        self.transport = transport
        self.subscriber: SignatureSubscriber | None = None
        self.native = native_asset(self.chain)
        self.fees = FeeOracle(transport.prioritization_fees, config.fee_policy())
        self.sender = SolanaSender(
            platform=self.chain.name,
            signer=signer,
            transport=transport,
            fees=self.fees,
            policy=config.send_policy(),
            ids=self.ids,
            commits=self.commits,
            events=self.events,
            bind=self.bind,
        )
        local = self.chain.is_local
        self.monitor = SignatureMonitor(
            transport,
            self.native,
            track_finality=config.track_finality,
            # Local clusters answer in milliseconds; public RPCs are polled ~ once per slot.
            poll_interval=config.poll_interval or (0.01 if local else 0.4),
            resend_interval=config.resend_interval or (0.1 if local else 2.0),
            on_change=self._on_change,
            on_expired=self.sender.expired,
            send=self.sender.broadcast,
        )
        self.sender.monitor = self.monitor
        self._mints: dict[str, spl.MintInfo] = {}
        self.claims: SendClaims | None = None  # set when workers share the account
        store = shared_store(self.journal, config.lease_expiry)
        if store is not None:
            self.claims = self.sender.claims = SendClaims(
                store,
                journal=self.journal,
                platform=self.chain.name,
                owner=self.owner,
                follow=self._follow,
                save=self.commits.save,
                sequence=self.monitor.sequence,
            )

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
    ) -> Self:
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

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls,
        cluster_or_url: str,
        *,
        wallet: SolanaSigner | None = None,
        platform: str | None = None,
        **options: Any,
    ) -> AsyncIterator[Self]:
        """A started operator for a cluster (by platform name) or an RPC URL, closed on exit.

        ``async with SolanaOperator.connect("http://127.0.0.1:8899") as sol``: a URL is
        the local cluster unless ``platform`` names another; a name (``solana-devnet``)
        needs ``rpc_url=`` or a ``transport=``. ``wallet`` defaults to the environment
        (``CHAINOPS_SOLANA_KEY`` / ``CHAINOPS_SOLANA_KEYPAIR``); ``options`` are
        :class:`SolanaConfiguration` fields (and ``transport``, ``journal``, ``events``).
        """
        if cluster_or_url.startswith(("http://", "https://")):
            name, options["rpc_url"] = platform or "solana-local", cluster_or_url
        else:
            name = get_platform(cluster_or_url).name
        operator = cls.from_options(name, signer=wallet, **options)
        async with operator:
            yield operator

    @property
    def owner(self) -> str:
        return str(self.signer.pubkey)

    # -- lifecycle hooks --------------------------------------------------------------------

    async def _connect(self) -> None:
        await self._check_cluster()
        self.monitor.height = await self.transport.block_height("confirmed")
        await self._open_subscriptions()
        if self.claims is not None:
            self.claims.start()

    async def _open_subscriptions(self) -> None:
        """Have landings wake the monitor through PubSub, if the cluster offers it."""
        rpc_url = getattr(self.transport, "url", None)
        url = self.config.ws_url or (default_ws_url(rpc_url) if isinstance(rpc_url, str) else None)
        if not self.config.subscribe or url is None:
            return
        # here, not at import: PubSub needs aiohttp, which the in-process transport does not
        from chainops.operators.solana.pubsub import SignatureSubscriber

        subscriber = SignatureSubscriber(
            url, lambda _: self.monitor.wake(), commitment=self.config.commitment
        )
        self.subscriber = subscriber  # _shutdown closes it, even if start() is interrupted
        if await subscriber.start():
            self.monitor.on_signature = subscriber.watch
        else:
            self.subscriber = None
            await subscriber.close()  # no websocket here: polling alone

    async def _check_cluster(self) -> None:
        genesis = await self.transport.genesis_hash()
        if genesis is None:
            return
        cluster = self.chain.chain_id
        expected = GENESIS_HASHES.get(str(cluster))
        known = {v: k for k, v in GENESIS_HASHES.items()}.get(genesis)
        if expected is not None and genesis != expected:
            raise ConfigurationError(
                f"the RPC node is not {cluster} (genesis {genesis}); refusing to use it"
            )
        if expected is None and known is not None:
            raise ConfigurationError(
                f"the RPC node is {known}, but this operator is for {self.chain.name}; refusing"
            )

    def _holds_close(self) -> bool:
        # Only finality left to see is not worth holding the caller for.
        return any(tx.state not in _SUCCESS for tx in self.monitor.live)

    async def _shutdown(self) -> None:
        if self.subscriber is not None:
            await self.subscriber.close()
            self.subscriber = None
        await self.monitor.stop()
        await self.commits.drain()
        if self.claims is not None:
            await self.claims.stop()
        await self.sender.blockhashes.stop()  # background refreshes: nobody waits for them now
        await self.fees.stop()
        await self.transport.close()

    # -- reads ------------------------------------------------------------------------------

    async def balance(self, pubkey: str | None = None) -> Decimal:
        """SOL held by ``pubkey`` (default: this operator's account)."""
        who = SolanaPubkey(self.owner if pubkey is None else pubkey)
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
        who = parse_pubkey(self.owner if owner is None else owner, "owner")
        ata = spl.associated_token_address(who, info.address, info.program)
        raw = await self.transport.token_balance(str(ata))
        return Decimal(0) if raw is None else from_raw(raw, info.decimals)

    def token_account(self, mint: spl.MintInfo, owner: str | None = None) -> str:
        """The associated token account address of ``owner`` for a mint (from :meth:`mint_info`)."""
        if not isinstance(mint, spl.MintInfo):
            raise ValidationError(
                f"mint must be the MintInfo of mint_info(), not {type(mint).__name__} ({mint!r})"
            )
        who = parse_pubkey(self.owner if owner is None else owner, "owner")
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
        recipient = parse_pubkey(to, "recipient")
        lamports = positive_units(to_raw(amount, self.native.decimals))
        ix = programs.transfer(self.signer.solders_pubkey, recipient, lamports)
        return await self.send_instructions(
            [ix],
            to=trusted_pubkey(recipient),
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
        mint_key = parse_pubkey(mint, "mint")
        recipient = parse_pubkey(to, "recipient")
        info = await self.mint_info(str(mint_key))
        units = positive_units(to_raw(amount, info.decimals))
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
        try:
            return await self.send_instructions(
                ixs,
                to=trusted_pubkey(recipient),
                compute_unit_price=compute_unit_price,
                simulate=simulate,
            )
        except SimulationFailed as exc:
            if isinstance(exc, InsufficientBalance):
                raise
            if await self.transport.token_balance(str(source)) is not None:
                raise
            # The token program only says "invalid account data" of a missing source.
            raise InsufficientBalance(
                f"{payer} holds none of {mint_key}: it has no token account for it ({source})",
                err=exc.err,
                logs=exc.logs,
            ) from None

    async def create_mint(
        self,
        decimals: int,
        *,
        token_2022: bool = False,
        mint: SolanaSigner | None = None,
    ) -> tuple[str, Transaction]:
        """A new mint with this account as mint authority; returns (mint address, tx)."""
        decimals = check_decimals(decimals)
        if mint is not None and not isinstance(mint, SolanaSigner):
            raise ValidationError(
                f"mint must be a SolanaSigner (the new mint's key), not {type(mint).__name__}"
            )
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
        recipient = parse_pubkey(to, "recipient")
        units = positive_units(to_raw(amount, info.decimals))
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
        return await self.send_instructions(ixs, to=trusted_pubkey(recipient))

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
        return await self.sender.send(
            SendRequest(
                instructions,
                to=to,
                value=value,
                signers=signers,
                compute_unit_price=compute_unit_price,
                compute_unit_limit=compute_unit_limit,
                simulate=simulate,
            )
        )

    async def transfer_and_wait(
        self, to: str, amount: Decimal | int | str, **options: Any
    ) -> Transaction:
        """:meth:`transfer`, then ``tx.wait()`` at the configured commitment."""
        tx = await self.transfer(to, amount, **options)
        return await tx.wait()

    async def speed_up(self, tx: Transaction) -> TxAttempt:
        raise ValidationError(
            "a sent Solana transaction cannot be sped up: its fee is signed into it. "
            "Wait for it to land or expire (resign_expired re-signs only after expiry)"
        )

    async def cancel(self, tx: Transaction) -> TxAttempt:
        raise ValidationError(
            "a sent Solana transaction cannot be cancelled: it lands or its blockhash expires"
        )

    # -- waiting: what ``tx.wait(confirmations=...)`` means on Solana -------------------------

    def settle_need(self, tx: Transaction, confirmations: int | None) -> int:
        """The rank of the commitment ``confirmations`` maps to (default: the configured one).

        A transaction that landed with an error settles at once at "processed", else
        once REVERTED. The blockhash bounds every wait (about a minute on public
        clusters); the timeout only guards against a stalled RPC.
        """
        return COMMITMENT_RANK[_commitment_for(confirmations, self.config.commitment)]

    def is_settled(self, tx: Transaction, need: int) -> bool:
        if tx.is_terminal:
            return True
        if tx.receipt is not None and not tx.receipt.succeeded:
            return need == 0  # at "processed" the error is news enough; else REVERTED
        rank = _RANK.get(tx.state)
        return rank is not None and rank >= need

    def pending_text(self, tx: Transaction, need: int) -> str:
        return tx.state.name

    def outcome(self, tx: Transaction) -> Transaction:
        """Landed with an error: TransactionFailed (logs attached); blockhash expired:
        TransactionExpired; else the recorded error."""
        if tx.receipt is not None and not tx.receipt.succeeded:
            raise _failure(tx)
        if tx.state in (TxState.INCLUDED, *_SUCCESS):
            return tx
        if tx.state is TxState.EXPIRED:
            raise TransactionExpired(tx.error.message if tx.error else f"{tx.client_id} expired")
        raise (tx.error.to_exception() if tx.error else Rejected(f"{tx.client_id} {tx.state.name}"))

    def _forgotten(self, tx: Transaction) -> None:
        if self.subscriber is not None:
            for attempt in tx.attempts:
                self.subscriber.forget(str(attempt.hash))
        if self.claims is not None:
            self.claims.release_soon(str(tx.client_id))

    # -- restore: with a shared journal, only what no live worker follows ---------------------

    async def restore(self) -> list[Transaction]:
        """Reconcile what the journal left open; with other workers on the account (a
        PostgreSQL journal), only the sends no live worker claims (see :mod:`.claims`)."""
        if self.claims is None:
            return await super().restore()
        tracked = {str(tx.client_id) for tx in self.monitor.live}
        restored = await self.claims.restore(tracked)
        if restored:
            await self.monitor.turn()  # looked up by signature, re-sent or expired at once
        return restored

    async def _follow(self, txs: list[Transaction]) -> None:
        """Follow journalled sends as ``restore()`` does (a takeover, or a restore)."""
        for tx in txs:
            self.events.track(tx, announce=False)
            self.bind(tx)
            self.monitor.track(tx)

    def _on_change(self, tx: Transaction) -> None:
        if tx.state is not TxState.INCLUDED:  # "processed" is gone in a slot: not worth a write
            self.commits.save_soon(tx)
        self.wake(tx)


_RANK = {TxState.INCLUDED: 0, TxState.CONFIRMED: 1, TxState.FINALIZED: 2}


def _failure(tx: Transaction) -> TransactionFailed:
    message = tx.error.message if tx.error else f"{tx.client_id} failed"
    logs = message.split("\n")[1:] if "\n" in message else []
    return TransactionFailed(message.split("\n")[0], err=None, logs=logs)
