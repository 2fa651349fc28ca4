"""EvmOperator: build, simulate, sign, journal, broadcast and track EVM transactions.

A facade that wires small parts, each in its own module and each taking only
the narrow interfaces of :mod:`~chainops.operators.evm.parts`: ``rpc`` (JSON-RPC
client with failover), ``batching`` (concurrent calls coalesced into one
request), ``fees`` (EIP-1559 from fee history), ``nonces`` (the allocator),
``signer`` (local keys), ``preflight`` (simulation, funds, revert reasons),
``pipeline`` (reserve -> sign -> journal -> broadcast), ``monitor`` (one
block-driven loop), ``watchdog`` (bumps, cancels, drops), ``replacements``
(speed-up, cancel) and ``recovery`` (restore, gap fill).

The send path, in order, and why nothing is ever sent twice or lost:

1. validate the request (typed errors, nothing sent);
2. simulate it with ``eth_estimateGas`` at ``pending``: a revert fails here,
   decoded, before a nonce is taken;
3. price it and check the balance covers value + gas at the fee cap;
4. reserve a nonce (waits while the in-flight window is full);
5. sign, then journal the attempt (raw bytes + hash) — the point of no return;
6. broadcast the same bytes; a transport failure leaves the transaction
   tracked (the monitor and ``restore()`` find it by hash or re-send the
   same bytes), never failed and never rebuilt.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Self

from chainops.core.assets import native_asset
from chainops.core.attempt import FeeParams, TxAttempt, check_opt_uint
from chainops.core.bus import EventBus
from chainops.core.errors import (
    ChainopsError,
    ConfigurationError,
    ValidationError,
)
from chainops.core.ids import EvmAddress
from chainops.core.journal import Journal
from chainops.core.platforms import ChainPlatform
from chainops.core.priority import Priority
from chainops.core.transaction import Transaction, TxState, check_timeout
from chainops.operators.base import OperatorFactory
from chainops.operators.chain import ChainOperator
from chainops.operators.evm.batching import AutoBatcher
from chainops.operators.evm.checks import (
    check_above_base_fee,
    check_deadline,
    check_fees,
    own_transaction,
)
from chainops.operators.evm.configuration import EvmConfiguration
from chainops.operators.evm.fees import FeeOracle, default_policy
from chainops.operators.evm.metrics import EvmMetrics
from chainops.operators.evm.monitor import BlockMonitor
from chainops.operators.evm.nonce_leases import LeasedNonceAllocator, shared_allocator
from chainops.operators.evm.nonces import NonceAllocator
from chainops.operators.evm.outcomes import is_settled, outcome
from chainops.operators.evm.parts import monotonic
from chainops.operators.evm.pipeline import PLAIN_TRANSFER_GAS, SendPipeline
from chainops.operators.evm.preflight import Preflight, drop_read
from chainops.operators.evm.recovery import Recovery
from chainops.operators.evm.replacements import Replacer
from chainops.operators.evm.requests import (
    ContractHandle,
    TxRequest,
    build_request,
    check_priority,
)
from chainops.operators.evm.resigning import NonceTaken
from chainops.operators.evm.rpc import JsonRpcClient
from chainops.operators.evm.signer import LocalSigner
from chainops.operators.evm.takeover import Takeover
from chainops.operators.evm.watchdog import Watchdog

_PENDING = (TxState.SIGNED, TxState.BROADCAST)


@OperatorFactory.register("chain:EVM")
class EvmOperator(ChainOperator):
    """The BlockchainOperator for EVM chains."""

    config: EvmConfiguration
    monitor: BlockMonitor

    def __init__(
        self,
        config: EvmConfiguration,
        signer: LocalSigner,
        journal: Journal | None = None,
        events: EventBus | None = None,
    ) -> None:
        super().__init__(config, "tx", journal, events)
        if not isinstance(self.platform, ChainPlatform) or not self.platform.is_evm:
            raise ConfigurationError(f"{self.platform.name} is not an EVM chain")
        if not config.endpoints:
            raise ConfigurationError("an EVM operator needs at least one RPC endpoint")
        chain = self.chain
        assert isinstance(chain.chain_id, int)
        self.chain_id: int = chain.chain_id
        self.signer = signer
        self.native = native_asset(chain)
        self.rpc = JsonRpcClient(
            config.endpoints, timeout=config.request_timeout, read_retries=config.rpc_retries
        )
        self.batcher = AutoBatcher(self.rpc)
        self.fees = FeeOracle(
            self.batcher.call,
            chain,
            default_policy(chain),
            legacy=config.legacy_fees,
            rpc_soon=self.batcher.call_soon,
        )
        self.nonces = shared_allocator(
            self.chain_id,
            signer.address,
            self.journal,
            self.nonce,
            config.max_in_flight,
            config.lease_expiry,
        ) or NonceAllocator(
            self.chain_id, signer.address, self.journal, self.nonce, window=config.max_in_flight
        )
        self.preflight = Preflight(self.batcher, self.owner, self.native)
        self.metrics = EvmMetrics(
            pending_count=lambda: sum(1 for t in self.monitor.live if t.state in _PENDING),
            rpc_error_counts=lambda: self.rpc.stats.errors_by_kind,
        )
        depth = config.confirmations
        self.monitor = BlockMonitor(
            self.batcher.call_many,
            self.native,
            confirmations=chain.default_confirmations if depth is None else depth,
            track_finality=config.track_finality,
            # 50 ms on a local chain sees automined receipts at once; public chains need seconds.
            poll_interval=config.poll_interval or (0.05 if chain.is_local else 1.0),
            revert_reason=self.preflight.revert_reason,
            on_change=self._changed,
        )
        self.pipeline = SendPipeline(
            chain_id=self.chain_id,
            platform=chain.name,
            signer=signer,
            ids=self.ids,
            nonces=self.nonces,
            commits=self.commits,
            rpc=self.batcher,
            live=self.monitor,
            pricing=self.fees,
            events=self.events,
            metrics=self.metrics,
            bind=self.bind,
            wake=self.waiters.settle,
            stall=self.waiters.stall,
        )
        self.replacer = Replacer(
            sender=signer.address,
            native=self.native,
            pipeline=self.pipeline,
            rpc=self.batcher,
            live=self.monitor,
            pricing=self.fees,
            estimate_gas=self.preflight.estimate,
            policy=config.replacement_policy(),
            events=self.events,
            metrics=self.metrics,
        )
        self.watchdog = Watchdog(
            owner=self.owner,
            policy=config.watchdog_policy(local=chain.is_local),
            rpc=self.batcher,
            live=self.monitor,
            pipeline=self.pipeline,
            replacer=self.replacer,
            metrics=self.metrics,
        )
        self.monitor.on_turn = self.watchdog.check
        self.recovery = Recovery(
            self.nonces,
            self.pipeline,
            rpc=self.batcher,
            chain_id=self.chain_id,
            local=chain.is_local,
        )
        self.takeover: Takeover | None = None  # set when workers share the account's nonces
        if isinstance(self.nonces, LeasedNonceAllocator):
            self.takeover = Takeover(
                nonces=self.nonces,
                journal=self.journal,
                platform=chain.name,
                owner=self.owner,
                pipeline=self.pipeline,
                live=self.monitor,
                recovery=self.recovery,
                adopt_tx=self._take_back,
                follow_confirmed=config.track_finality,
                check_history=self.recovery.refuse_other_chain,
            )
        self._block_gas_limit: int | None = None

    @classmethod
    def from_options(
        cls,
        platform: str | int,
        *,
        rpc_url: str | None = None,
        private_key: str | None = None,
        keystore: str | None = None,
        password: str | None = None,
        signer: LocalSigner | None = None,
        journal: Journal | None = None,
        events: EventBus | None = None,
        **settings: Any,
    ) -> Self:
        """Build from options; the key is a value, a keystore + password, or the environment."""
        if signer is None:
            signer = LocalSigner.from_options(private_key, keystore, password)
        endpoints = tuple(settings.pop("endpoints", ())) or ((rpc_url,) if rpc_url else ())
        config = EvmConfiguration(platform=platform, endpoints=endpoints, **settings)
        return cls(config, signer, journal, events)

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls,
        network_or_url: str,
        *,
        wallet: LocalSigner | None = None,
        network: str | None = None,
        config: str | Path | None = None,
        **options: Any,
    ) -> AsyncIterator[Self]:
        """A started operator for a configured network (or an RPC URL), closed on exit.

        ``async with EvmOperator.connect("base", wallet=LocalSigner.from_env()) as evm``.
        A name resolves through the configuration (file < ``CHAINOPS_*`` < this call) to
        its RPC URLs, confirmations and fee ceiling; a URL replaces the URLs of
        ``network`` (default: the configuration's network, as ``--rpc-url`` does).
        ``wallet`` defaults to ``$CHAINOPS_PRIVATE_KEY``; ``options`` are
        :class:`EvmConfiguration` fields (and ``journal``, ``events``).
        """
        from chainops.config.networks import resolve_network
        from chainops.config.settings import load_settings

        is_url = network_or_url.startswith(("http://", "https://", "ws://", "wss://"))
        settings = load_settings(config, rpc_url=network_or_url if is_url else None)
        net = resolve_network(settings, network if is_url else network_or_url)
        signer = wallet or LocalSigner.from_env()
        operator = cls.from_options(
            net.chain.name, signer=signer, **net.operator_options() | options
        )
        if net.fee.min_tip_gwei is not None:
            tip = int(net.fee.min_tip_gwei * 10**9)
            operator.fees.policy = dataclasses.replace(operator.fees.policy, min_tip_wei=tip)
        async with operator:
            yield operator

    @property
    def owner(self) -> str:
        return str(self.signer.address)

    # -- lifecycle hooks --------------------------------------------------------------------

    async def _connect(self) -> None:
        chain_id = int(await self.rpc.call("eth_chainId", []), 16)
        if chain_id != self.chain_id:
            raise ConfigurationError(
                f"node at {self.config.endpoints[0]} is chain {chain_id}, "
                f"but this operator is for {self.chain.name} ({self.chain_id}); refusing"
            )
        latest = await self.rpc.call("eth_getBlockByNumber", ["latest", False])
        self._block_gas_limit = int(latest["gasLimit"], 16)
        self.monitor.head = int(latest["number"], 16)
        await self.nonces.sync()
        if isinstance(self.nonces, LeasedNonceAllocator):
            self.nonces.start()

    def _holds_close(self) -> bool:
        # Mined transactions are safe in the journal with their receipt; only the
        # unmined ones are worth holding the caller for.
        return any(tx.state in _PENDING for tx in self.monitor.live)

    async def _shutdown(self) -> None:
        if isinstance(self.nonces, LeasedNonceAllocator):
            await self.nonces.stop()
        await self.monitor.stop()
        await self.watchdog.drain()
        await self.pipeline.drain()
        await self.batcher.drain()
        await self.commits.drain()
        self.rpc.seal(f"{self!r} is closed: its reads need a new operator")
        await self.rpc.close()

    async def restore(self) -> list[Transaction]:
        """Reconcile what the journal left open; with shared nonce leases, only what no
        live worker holds (see :mod:`.takeover`)."""
        if self.closed:
            raise ConfigurationError(f"{self!r} is closed: it restores nothing")
        if self.takeover is not None:
            return await self.takeover.restore()
        return await super().restore()

    async def _screen(self, journalled: list[Transaction]) -> frozenset[str]:
        """A journal whose confirmed history this node lacks is refused, or on a local
        chain set aside (:meth:`Recovery.screen`)."""
        return await self.recovery.screen(journalled)

    def _take_back(self, tx: Transaction) -> None:
        self.events.track(tx, announce=False)
        self.bind(tx)

    async def _adopt(self, tx: Transaction) -> None:
        await self.recovery.adopt(tx)

    async def _adopted(self, restored: list[Transaction]) -> None:
        await self.recovery.fill_gaps(restored)

    async def _resume(self, restored: list[Transaction]) -> None:
        await self.recovery.resume(restored)

    # -- reads ------------------------------------------------------------------------------

    async def balance(self, address: str | None = None) -> Decimal:
        """Native balance of ``address`` (default: this operator's account)."""
        who = EvmAddress(address or self.owner)
        return self.native.from_raw(
            int(await self.batcher.call("eth_getBalance", [who, "latest"]), 16)
        )

    async def nonce(self) -> int:
        """The next nonce the chain expects from this account (pending block)."""
        return int(await self.batcher.call("eth_getTransactionCount", [self.owner, "pending"]), 16)

    def contract(self, address: str, abi: list[dict[str, Any]]) -> ContractHandle:
        """A contract handle whose ABI also decodes this contract's custom revert errors."""
        handle = ContractHandle(address, abi)
        self.preflight.abis[str(handle.address)] = abi
        return handle

    async def call(self, request: TxRequest | Any, block: str | int = "latest") -> bytes:
        """``eth_call`` a request; a revert raises Reverted with the decoded reason."""
        return await self.preflight.call(build_request(request), block)

    async def estimate(self, request: TxRequest | Any) -> int:
        """Gas the request needs, simulated at ``pending`` (without our headroom)."""
        return await self.preflight.estimate(build_request(request))

    # -- sending ----------------------------------------------------------------------------

    async def send(
        self, request: TxRequest | Any = None, *, deadline: float | None = None, **fields: Any
    ) -> Transaction:
        """Send a transaction; returns its handle as soon as it is broadcast.

        ``request`` is a :class:`TxRequest`, a web3.py contract function, or omitted
        with the request's fields as keywords (``to=``, ``value=``, ``data=``, …).
        ``deadline`` (seconds from now): if still unmined then, it is cancelled.
        """
        self._check_open()
        deadline = check_deadline(deadline)
        req = build_request(request, **fields)
        if req.to is None and not req.data:
            raise ValidationError("a transaction needs a recipient or contract creation code")
        wei = self.native.to_raw(req.value)
        gas_limit = req.gas_limit
        assert self._block_gas_limit is not None
        if gas_limit is not None and gas_limit > self._block_gas_limit:
            raise ValidationError(
                f"gas limit {gas_limit} exceeds the block gas limit {self._block_gas_limit}"
            )
        # Asked now, read last: the balance shares one batch with the code lookup, and the
        # fee market is fetched meanwhile (a burst of sends waits one round trip, not three).
        balance = self.preflight.balance_soon()
        self.fees.prefetch(self.monitor.head)
        try:
            if await self.preflight.plain_transfer(req):
                # Value to an account without code runs no code: exactly 21000 gas, no revert.
                gas_limit = gas_limit or PLAIN_TRANSFER_GAS
            else:
                estimate = await self.preflight.estimate(req)  # the simulation: a revert stops here
                if gas_limit is None:
                    gas_limit = min(
                        estimate * self.config.gas_headroom_bps // 10_000, self._block_gas_limit
                    )
            fees = await self.fees.estimate(
                req.priority,
                max_fee_per_gas=req.max_fee_per_gas,
                max_priority_fee_per_gas=req.max_priority_fee_per_gas,
                gas_price=req.gas_price,
                head=self.monitor.head,
            )
            if req.gas_price is not None or req.max_fee_per_gas is not None:
                await self._check_base_fee(fees)
            await self.preflight.check_funds(wei, gas_limit, fees, balance)
        finally:
            drop_read(balance)
        if req.abi is not None and req.to is not None:
            self.preflight.remember_abi(str(req.to), req.abi)
        try:
            return await self._launch(req, wei, gas_limit, fees, deadline)
        except NonceTaken:
            # refused before anything of ours went out, and the allocator resynced: once more
            return await self._launch(req, wei, gas_limit, fees, deadline)

    async def _check_base_fee(self, fees: FeeParams) -> None:
        """On a local chain, an explicit fee cap below the base fee is refused here, as the
        node would. A public node pools such a cap until the base fee falls to it: there a
        deliberately low cap stays the caller's choice."""
        if self.fees.legacy or not self.chain.is_local:
            return
        try:
            # prefetched by send(): no round trip of its own
            snapshot = await self.fees.snapshot(self.monitor.head)
        except ChainopsError:
            return  # no base fee known (pre-London, no feeHistory): the node decides
        check_above_base_fee(fees, snapshot.next_base_fee, self.chain.name)

    async def _launch(
        self, req: TxRequest, wei: int, gas_limit: int, fees: FeeParams, deadline: float | None
    ) -> Transaction:
        # computed before the nonce is taken: nothing may fail between journal and launch
        until = None if deadline is None else monotonic() + deadline
        tx = await self.pipeline.prepare(req, wei, gas_limit, fees)
        if until is not None:
            self.watchdog.deadlines[str(tx.client_id)] = until
        await self.pipeline.launch(tx)
        return tx

    async def send_and_wait(
        self,
        request: TxRequest | Any = None,
        *,
        confirmations: int | None = None,
        timeout: float | None = None,
        **fields: Any,
    ) -> Transaction:
        """Send, then ``tx.wait()`` until CONFIRMED (or raise the typed error)."""
        check_opt_uint(confirmations, "confirmations")  # the wait's arguments, before sending
        if timeout is not None:
            check_timeout(timeout)
        tx = await self.send(request, **fields)
        return await tx.wait(confirmations=confirmations, timeout=timeout)

    async def speed_up(
        self, tx: Transaction, *, priority: Priority = Priority.FAST, fees: FeeParams | None = None
    ) -> TxAttempt:
        """A new attempt at the same nonce, +10 % or more on tip and fee cap.

        ``tx`` must be a pending transaction this operator sends and follows.
        """
        self._check_open()  # closed: nothing would follow the new attempt
        priority = check_priority(priority)
        fees = check_fees(fees)
        return await self.replacer.speed_up(self._own(tx), priority=priority, fees=fees)

    async def cancel(self, tx: Transaction, *, fees: FeeParams | None = None) -> TxAttempt:
        """A 0-value self-transfer at the same nonce with bumped fees.

        If the original is mined first it stays the winner (CONFIRMED); if the cancel
        wins, ``tx.wait()`` raises Rejected and ``tx.winner.kind`` is CANCEL.
        """
        self._check_open()
        fees = check_fees(fees)
        return await self.replacer.cancel(self._own(tx), fees=fees)

    def _own(self, tx: Transaction) -> Transaction:
        return own_transaction(
            tx, sender=self.owner, platform=self.chain.name, following=self.monitor.following
        )

    # -- waiting: what ``tx.wait(confirmations=...)`` means on an EVM chain -------------------

    def _depth(self, confirmations: int | None) -> int:
        return self.monitor.confirmations if confirmations is None else max(1, confirmations)

    def settle_need(self, tx: Transaction, confirmations: int | None) -> int:
        """Blocks on top of the mined transaction (default: the chain's); a terminal
        state settles too.

        Under automine, blocks appear only with transactions: mine (``Anvil.mine``)
        to reach a depth above 1.
        """
        need = self._depth(confirmations)
        # Depth decides, whatever the finality tag says: FINALIZED does not end a wait early.
        self.monitor.follow_depth(tx, need)
        return need

    def is_settled(self, tx: Transaction, need: int) -> bool:
        return is_settled(tx, need)

    def pending_text(self, tx: Transaction, need: int) -> str:
        return f"{tx.state.name} with {tx.confirmations} of {need} confirmations"

    def outcome(self, tx: Transaction) -> Transaction:
        """REVERTED raises Reverted (with the reason); a mined cancel raises Rejected;
        REJECTED/REPLACED/DROPPED/EXPIRED raise their recorded error."""
        return outcome(tx)

    async def _changed(self, tx: Transaction) -> None:
        await self.pipeline.changed(tx)

    def _forgotten(self, tx: Transaction) -> None:
        cid = str(tx.client_id)
        self.watchdog.forget(cid)
        self.replacer.forget(cid)
