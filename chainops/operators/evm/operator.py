"""EvmOperator: build, simulate, sign, journal, broadcast and track EVM transactions.

A facade over small parts, each in its own module: ``rpc`` (JSON-RPC client
with failover), ``batching`` (concurrent calls coalesced into one request),
``fees`` (EIP-1559 from fee history), ``nonces`` (the allocator), ``signer``
(local keys), ``monitor`` (one block-driven loop), ``revert`` (reasons).

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

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

from pydantic import Field

from chainops.core.assets import native_asset
from chainops.core.attempt import AttemptKind, FeeParams, TxAttempt
from chainops.core.bus import EventBus
from chainops.core.errors import (
    ChainopsError,
    ConfigurationError,
    InsufficientFunds,
    NonceError,
    Rejected,
    Reverted,
    RpcTransientError,
    UnknownOutcome,
    ValidationError,
)
from chainops.core.ids import ClientIdGenerator, EvmAddress
from chainops.core.journal import Journal, SqliteJournal
from chainops.core.platforms import ChainPlatform
from chainops.core.priority import Priority
from chainops.core.transaction import Transaction, TxState, TxUpdate
from chainops.operators.base import Operator, OperatorConfiguration, OperatorFactory
from chainops.operators.evm.batching import AutoBatcher
from chainops.operators.evm.fees import FeeOracle, default_policy
from chainops.operators.evm.metrics import EvmMetrics
from chainops.operators.evm.monitor import BlockMonitor
from chainops.operators.evm.node_errors import NodeError, NodeErrorKind, core_error
from chainops.operators.evm.nonces import DEFAULT_WINDOW, NonceAllocator
from chainops.operators.evm.recovery import PLAIN_TRANSFER_GAS, fill_nonce, restore
from chainops.operators.evm.replacements import replace
from chainops.operators.evm.requests import (
    ContractHandle,
    TxRequest,
    build_request,
    call_object,
    tx_fields,
)
from chainops.operators.evm.revert import decode_revert, revert_from_rpc_error
from chainops.operators.evm.rpc import JsonRpcClient
from chainops.operators.evm.signer import LocalSigner
from chainops.operators.evm.watchdog import Watchdog
from chainops.operators.group_commit import GroupCommitter

log = logging.getLogger("chainops.evm")

# Estimates are exact for the state they ran on; 20 % covers state that moves between
# estimate and inclusion (storage slots warmed or cleared by other transactions).
GAS_HEADROOM_BPS = 12_000
# An account without code is trusted to stay so for this long (only an EIP-7702
# delegation or a CREATE2 deployment to that address could change it meanwhile).
EOA_CACHE_SECONDS = 30.0
_SUCCESS = (TxState.CONFIRMED, TxState.FINALIZED)
_PENDING = (TxState.SIGNED, TxState.BROADCAST)
_MINED_OK = (TxState.INCLUDED, TxState.CONFIRMED, TxState.FINALIZED)


class EvmConfiguration(OperatorConfiguration):
    """Settings of an EVM operator."""

    max_in_flight: int = Field(default=DEFAULT_WINDOW, ge=1)
    # Retries per read (and per send of the same bytes), with backoff and failover.
    rpc_retries: int = Field(default=4, ge=0)
    # 50 ms on a local chain sees automined receipts at once; public chains need seconds.
    poll_interval: float | None = Field(default=None, gt=0)
    track_finality: bool = True
    close_timeout: float = Field(default=30.0, ge=0)
    gas_headroom_bps: int = Field(default=GAS_HEADROOM_BPS, ge=10_000)
    # Replacement ceilings: 4x the market fee cap covers a steep spike; beyond it a human
    # should decide. The absolute cap (wei) is off unless set.
    max_fee_multiple: int = Field(default=4, ge=1)
    max_fee_cap_wei: int | None = Field(default=None, gt=0)
    # Automatic speed-up of a pending transaction after this many blocks or seconds.
    bump_after_blocks: int | None = Field(default=3, ge=1)
    bump_after_seconds: float | None = Field(default=None, gt=0)
    max_bumps: int = Field(default=8, ge=0)
    # A pending transaction is looked for in the pool after this long; missing, its bytes
    # are re-sent. None picks 1 s on local chains and 30 s elsewhere.
    rebroadcast_after: float | None = Field(default=None, gt=0)


@OperatorFactory.register("chain:EVM")
class EvmOperator(Operator):
    """The BlockchainOperator for EVM chains."""

    config: EvmConfiguration

    def __init__(
        self,
        config: EvmConfiguration,
        signer: LocalSigner,
        journal: Journal | None = None,
        events: EventBus | None = None,
    ) -> None:
        super().__init__(config, events)
        if not isinstance(self.platform, ChainPlatform) or not self.platform.is_evm:
            raise ConfigurationError(f"{self.platform.name} is not an EVM chain")
        if not config.endpoints:
            raise ConfigurationError("an EVM operator needs at least one RPC endpoint")
        self.chain: ChainPlatform = self.platform
        assert isinstance(self.chain.chain_id, int)
        self.chain_id: int = self.chain.chain_id
        self.signer = signer
        self.native = native_asset(self.chain)
        path = config.journal_path
        self.journal: Journal = journal or SqliteJournal(path if path else ":memory:")
        prefix = "tx"
        self.ids = ClientIdGenerator(prefix, last_issued=self.journal.last_client_id(prefix))
        self.rpc = JsonRpcClient(
            config.endpoints, timeout=config.request_timeout, read_retries=config.rpc_retries
        )
        self.batcher = AutoBatcher(self.rpc)
        self.commits = GroupCommitter(self.journal)
        self.fees = FeeOracle(self.batcher.call, self.chain, default_policy(self.chain))
        self.nonces = NonceAllocator(
            self.chain_id,
            signer.address,
            self.journal,
            self._pending_count,
            window=config.max_in_flight,
        )
        confirmations = config.confirmations
        if confirmations is None:
            confirmations = self.chain.default_confirmations
        poll = config.poll_interval or (0.05 if self.chain.is_local else 1.0)
        self.monitor = BlockMonitor(
            self.batcher.call_many,
            self.native,
            confirmations=confirmations,
            track_finality=config.track_finality,
            poll_interval=poll,
            revert_reason=self._revert_reason,
            on_change=self._on_change,
        )
        self._abis: dict[str, list[dict[str, Any]]] = {}
        # Per-transaction wake-ups: one change wakes its own waiters, not every waiter.
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._block_gas_limit: int | None = None
        self.restored: list[Transaction] = []  # what the last start found in the journal
        self.metrics = EvmMetrics(
            pending_count=lambda: sum(1 for t in self.monitor.live if t.state in _PENDING),
            rpc_error_counts=lambda: self.rpc.stats.errors_by_kind,
        )
        self.watchdog = Watchdog(self)
        self.monitor.on_turn = self.watchdog.check
        self._locks: dict[str, asyncio.Lock] = {}
        self._eoa_seen: dict[str, float] = {}
        self._tasks: set[asyncio.Task[Any]] = set()  # address -> when it was last seen without code
        self._stalled: dict[str, ChainopsError] = {}
        self._sent_at: dict[str, float] = {}

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
    ) -> EvmOperator:
        """Build from options; the key is a value, a keystore + password, or the environment."""
        if signer is None:
            if private_key:
                signer = LocalSigner.from_key(private_key)
            elif keystore:
                if password is None:
                    raise ConfigurationError("a keystore needs its password")
                signer = LocalSigner.from_keystore(keystore, password)
            else:
                signer = LocalSigner.from_env()
        endpoints = tuple(settings.pop("endpoints", ())) or ((rpc_url,) if rpc_url else ())
        config = EvmConfiguration(platform=platform, endpoints=endpoints, **settings)
        return cls(config, signer, journal, events)

    @property
    def owner(self) -> str:
        return str(self.signer.address)

    # -- lifecycle --------------------------------------------------------------------------

    async def _start(self) -> None:
        try:
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
            self.monitor.start()
            self.restored = await self.restore()
        except BaseException:
            await self._shutdown()
            raise

    async def _close(self) -> None:
        """Refuse new sends (done by the caller), follow what is in flight, then release."""
        deadline = time.monotonic() + self.config.close_timeout
        while time.monotonic() < deadline:
            # Mined transactions are safe in the journal with their receipt; only the
            # unmined ones are worth holding the caller for.
            if not any(tx.state in _PENDING for tx in self.monitor.live):
                break
            await asyncio.sleep(self.monitor.poll_interval)
        await self._shutdown()

    async def _shutdown(self) -> None:
        await self.monitor.stop()
        await self.watchdog.drain()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.batcher.drain()
        await self.commits.drain()
        await self.rpc.close()

    async def restore(self) -> list[Transaction]:
        """Reconcile every non-terminal transaction of this account left in the journal.

        See :func:`chainops.operators.evm.recovery.restore`.
        """
        return await restore(self)

    # -- reads ------------------------------------------------------------------------------

    async def balance(self, address: str | None = None) -> Decimal:
        """Native balance of ``address`` (default: this operator's account)."""
        who = EvmAddress(address or self.owner)
        return self.native.from_raw(
            int(await self.batcher.call("eth_getBalance", [who, "latest"]), 16)
        )

    async def nonce(self) -> int:
        """The next nonce the chain expects from this account (pending block)."""
        return await self._pending_count()

    async def _pending_count(self) -> int:
        return int(await self.batcher.call("eth_getTransactionCount", [self.owner, "pending"]), 16)

    def contract(self, address: str, abi: list[dict[str, Any]]) -> ContractHandle:
        """A contract handle whose ABI also decodes this contract's custom revert errors."""
        handle = ContractHandle(address, abi)
        self._abis[str(handle.address)] = abi
        return handle

    async def call(self, request: TxRequest | Any, block: str | int = "latest") -> bytes:
        """``eth_call`` a request; a revert raises Reverted with the decoded reason."""
        req = build_request(request)
        tag = hex(block) if isinstance(block, int) else block
        try:
            out = await self.batcher.call(
                "eth_call", [call_object(self.owner, self.native, req), tag]
            )
        except ChainopsError as exc:
            raise self._as_revert(exc, req) from None
        return bytes.fromhex(out[2:])

    async def estimate(self, request: TxRequest | Any) -> int:
        """Gas the request needs, simulated at ``pending`` (without our headroom)."""
        req = build_request(request)
        try:
            gas = await self.batcher.call(
                "eth_estimateGas", [call_object(self.owner, self.native, req), "pending"]
            )
        except ChainopsError as exc:
            raise self._as_revert(exc, req) from None
        return int(gas, 16)

    # -- sending ----------------------------------------------------------------------------

    async def send(
        self, request: TxRequest | Any = None, *, deadline: float | None = None, **fields: Any
    ) -> Transaction:
        """Send a transaction; returns its handle as soon as it is broadcast.

        ``request`` is a :class:`TxRequest`, a web3.py contract function, or omitted
        with the request's fields as keywords (``to=``, ``value=``, ``data=``, …).
        ``deadline`` (seconds from now): if still unmined then, it is cancelled.
        """
        if self.closed:
            raise ConfigurationError(f"{self!r} is closed: it accepts no new sends")
        if not self.started:
            raise ConfigurationError(f"{self!r} is not started; use `async with`")
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
        if await self._plain_transfer(req):
            # Value to an account without code runs no code: exactly 21000 gas, no revert.
            gas_limit = gas_limit or PLAIN_TRANSFER_GAS
        else:
            estimate = await self.estimate(req)  # the simulation: a revert stops here
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
        await self._check_funds(wei, gas_limit, fees)
        nonce = await self.nonces.reserve()
        try:
            tx = await self.sign_and_journal(req, wei, gas_limit, nonce, fees)
        except BaseException:
            await self.nonces.release(nonce)
            raise
        attempt = tx.attempts[0]
        if req.abi is not None and req.to is not None:
            self._abis.setdefault(str(req.to), req.abi)
        tx.bind(self)
        self._sent_at[str(tx.client_id)] = time.monotonic()
        if deadline is not None:
            self.watchdog.deadlines[str(tx.client_id)] = time.monotonic() + deadline
        self.metrics.sent += 1
        self.monitor.track(tx)
        await self.broadcast_attempt(tx, attempt)
        return tx

    async def sign_and_journal(
        self, req: TxRequest, wei: int, gas: int, nonce: int, fees: FeeParams | None = None
    ) -> Transaction:
        """Build, sign and journal a transaction at ``nonce`` (durable before returning)."""
        if fees is None:
            fees = await self.fees.estimate(req.priority, head=self.monitor.head)
        tx = Transaction(
            client_id=self.ids.next(),
            platform=self.chain.name,
            sender=self.signer.address,
            to=req.to,
            value=wei,
            data=req.data,
            gas_limit=gas,
            nonce=nonce,
            fee_params=fees,
        )
        self.events.track(tx)
        signed = self.signer.sign(tx_fields(self.chain_id, req, wei, gas, nonce, fees))
        tx.add_attempt(TxAttempt(index=0, hash=signed.hash, raw=signed.raw, nonce=nonce, fee=fees))
        # The point of no return: after this write the bytes are ours to re-send.
        await self.commits.save(tx)
        tx.bind(self)
        return tx

    async def speed_up(
        self, tx: Transaction, *, priority: Priority = Priority.FAST, fees: FeeParams | None = None
    ) -> TxAttempt:
        """A new attempt at the same nonce, +10 % or more on tip and fee cap."""
        return await replace(self, tx, cancel=False, priority=priority, fees=fees)

    async def cancel(self, tx: Transaction, *, fees: FeeParams | None = None) -> TxAttempt:
        """A 0-value self-transfer at the same nonce with bumped fees.

        If the original is mined first it stays the winner (CONFIRMED); if the cancel
        wins, ``wait()`` raises Rejected and ``tx.winner.kind`` is CANCEL.
        """
        return await replace(self, tx, cancel=True, fees=fees)

    @contextlib.asynccontextmanager
    async def replacing(self, tx: Transaction) -> AsyncIterator[None]:
        """One replacement at a time per transaction (user and watchdog alike)."""
        lock = self._locks.setdefault(str(tx.client_id), asyncio.Lock())
        async with lock:
            yield

    def stall(self, tx: Transaction, error: ChainopsError) -> None:
        """Tell the transaction's waiters why it cannot progress (it stays tracked)."""
        self._stalled[str(tx.client_id)] = error
        self._wake(tx)

    async def send_and_wait(
        self,
        request: TxRequest | Any = None,
        *,
        confirmations: int | None = None,
        timeout: float | None = None,
        **fields: Any,
    ) -> Transaction:
        """Send, then wait until CONFIRMED (or raise the typed error)."""
        tx = await self.send(request, **fields)
        return await self.wait(tx, confirmations=confirmations, timeout=timeout)

    async def wait(
        self, tx: Transaction, *, confirmations: int | None = None, timeout: float | None = None
    ) -> Transaction:
        """Wait until ``tx`` has ``confirmations`` blocks on top (default: the chain's).

        REVERTED raises Reverted (with the reason), REJECTED/REPLACED/DROPPED/EXPIRED
        raise their recorded error; a timeout raises UnknownOutcome, since a pending
        transaction is not a failed one. Under automine, blocks appear only with
        transactions: mine (``Anvil.mine``) to reach a depth above 1.
        """
        need = self.monitor.confirmations if confirmations is None else max(1, confirmations)
        limit = 120.0 if timeout is None else timeout

        cid = str(tx.client_id)

        def settled() -> bool:
            if cid in self._stalled:
                return True
            mined_ok = tx.state in _MINED_OK and tx.confirmations >= need
            return tx.is_terminal or mined_ok

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
                f"{tx.client_id} ({tx.hash}) is {tx.state.name} with {tx.confirmations} of "
                f"{need} confirmations after {limit}s: still pending, not failed"
            ) from None
        stalled = self._stalled.pop(cid, None)
        if stalled is not None:
            raise stalled
        if tx.state in _MINED_OK:
            winner = tx.winner
            if winner is not None and winner.kind is AttemptKind.CANCEL:
                raise Rejected(
                    f"{tx.client_id} was canceled: its cancel attempt {winner.hash} mined"
                )
            return tx
        error = tx.error.to_exception() if tx.error is not None else None
        if tx.state is TxState.REVERTED:
            reason = tx.receipt.revert_reason if tx.receipt else None
            raise Reverted(f"{tx.client_id} ({tx.hash}) reverted: {reason}", reason=reason)
        raise error or Rejected(f"{tx.client_id} ended {tx.state.name}")

    # -- internals --------------------------------------------------------------------------

    async def _plain_transfer(self, req: TxRequest) -> bool:
        """True for a value transfer without data to an address that has no code."""
        if req.data or req.to is None:
            return False
        key = str(req.to)
        seen = self._eoa_seen.get(key)
        now = time.monotonic()
        if seen is not None and now - seen < EOA_CACHE_SECONDS:
            return True
        code = await self.batcher.call("eth_getCode", [key, "pending"])
        if code in ("0x", "0x0", None):
            self._eoa_seen[key] = now
            return True
        return False

    def _as_revert(self, exc: ChainopsError, req: TxRequest) -> ChainopsError:
        if isinstance(exc, NodeError) and exc.kind is NodeErrorKind.INSUFFICIENT_FUNDS:
            return InsufficientFunds(f"{self.owner} cannot pay for this call: {exc}")
        abi = req.abi or (self._abis.get(str(req.to)) if req.to is not None else None)
        info = revert_from_rpc_error(exc, abi)
        if info is None:
            return exc
        return Reverted(f"simulation reverted: {info.reason}", reason=info.reason)

    async def _check_funds(self, wei: int, gas: int, fees: FeeParams) -> None:
        price = fees.max_fee_per_gas if fees.is_eip1559 else fees.gas_price
        assert price is not None
        need = wei + gas * price
        have = int(await self.batcher.call("eth_getBalance", [self.owner, "pending"]), 16)
        if have < need:
            raise InsufficientFunds(
                f"{self.owner} has {self.native.from_raw(have)} {self.native.symbol}, needs up to "
                f"{self.native.from_raw(need)} (value + gas limit x fee cap)"
            )

    async def broadcast_attempt(
        self, tx: Transaction, attempt: TxAttempt, *, restoring: bool = False
    ) -> None:
        """Hand the journalled bytes to the node and act on its answer by error class."""
        try:
            await self.batcher.send_raw(attempt.raw)
        except RpcTransientError as exc:
            # The bytes may have arrived: keep tracking, never fail a maybe-sent transaction.
            tx.attempt_failed(attempt.index, exc)
            self.commits.save_soon(tx)
            if not restoring:
                raise UnknownOutcome(
                    f"{tx.client_id} ({attempt.hash}): broadcast outcome unknown ({exc}); "
                    "it stays tracked and is re-sent from the journal on restore()",
                    operation=tx,
                ) from exc
            return
        except NodeError as exc:
            await self._broadcast_refused(tx, attempt, exc, restoring)
            return
        if tx.state in (TxState.SIGNED, TxState.BROADCAST):
            # Not journalled on its own: the receipt's write carries it, and after a crash
            # restore() treats SIGNED and BROADCAST alike (look up by hash, else re-send).
            tx.mark_broadcast(attempt.index)
        self.monitor.wake()

    async def _broadcast_refused(
        self, tx: Transaction, attempt: TxAttempt, exc: NodeError, restoring: bool
    ) -> None:
        kind = exc.kind
        if kind is NodeErrorKind.NONCE_TOO_LOW:
            # Our own earlier attempt may be what consumed the nonce: receipts decide.
            await self.monitor.turn()
            if tx.state not in (TxState.SIGNED, TxState.BROADCAST):
                return
            await self.replaced_elsewhere(tx)
            if not restoring:
                raise NonceError(f"{tx.client_id}: nonce {tx.nonce} already used") from exc
            return
        await self.give_up(tx, exc, release=not restoring)
        if not restoring:
            raise exc

    async def give_up(self, tx: Transaction, exc: NodeError, *, release: bool = True) -> None:
        """REJECTED: the node will never take it. Its nonce is freed, or, when later
        transactions already wait behind it, occupied at once by a 0-value no-op."""
        self._finish(tx, TxState.REJECTED, exc)
        nonce = tx.nonce
        if nonce is None:
            return
        if any(other > nonce for other in self.nonces.in_flight):
            self._background(fill_nonce(self, nonce))
        elif release and nonce in self.nonces.in_flight:
            await self.nonces.release(nonce)

    def _background(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("background work failed", exc_info=task.exception())

    async def replaced_elsewhere(self, tx: Transaction) -> None:
        """Another transaction (not one of ours) took this nonce: REPLACED, and resync."""
        self._finish(
            tx,
            TxState.REPLACED,
            NonceError(
                f"nonce {tx.nonce} of {self.owner} was used by a transaction outside this operator"
            ),
        )
        await self.nonces.sync()
        if tx.nonce is not None:
            await self.nonces.done(tx.nonce)

    def _finish(self, tx: Transaction, state: TxState, error: BaseException) -> None:
        error = core_error(error)
        tx.apply(TxUpdate(state=state, error=error, sequence=self.monitor.sequence()))
        self.commits.save_soon(tx)
        self._count(tx)
        self._wake(tx)

    async def _revert_reason(self, tx: Transaction, receipt: dict[str, Any]) -> str | None:
        """Replay a reverted transaction at its block to read the reason."""
        to = EvmAddress(tx.to) if tx.to is not None else None
        req = TxRequest(
            to=to, data=tx.data, gas_limit=tx.gas_limit, value=self.native.from_raw(tx.value)
        )
        block = int(receipt["blockNumber"], 16)
        try:
            await self.batcher.call(
                "eth_call", [call_object(self.owner, self.native, req), hex(block - 1)]
            )
        except ChainopsError as exc:
            abi = self._abis.get(str(tx.to)) if tx.to is not None else None
            info = revert_from_rpc_error(exc, abi)
            return info.reason if info is not None else str(exc)
        return decode_revert(b"").reason

    async def _on_change(self, tx: Transaction) -> None:
        self.commits.save_soon(tx)
        self._count(tx)
        if (
            tx.nonce is not None
            and tx.state is not TxState.BROADCAST
            and tx.state is not TxState.SIGNED
        ):
            await self.nonces.done(tx.nonce)
        self._wake(tx)

    def _count(self, tx: Transaction) -> None:
        cid = str(tx.client_id)
        if tx.state in (TxState.CONFIRMED, TxState.REVERTED) and cid in self._sent_at:
            self.metrics.observe_latency(time.monotonic() - self._sent_at.pop(cid))
            if tx.state is TxState.CONFIRMED:
                self.metrics.confirmed += 1
            else:
                self.metrics.reverted += 1
        if (
            tx.state is TxState.BROADCAST
            and tx.history
            and tx.history[-1].reason in ("reorged", "reorged out")
        ):
            self.metrics.reorgs += 1
        if tx.state is TxState.REPLACED:
            self.metrics.replacements += 1

    def _wake(self, tx: Transaction) -> None:
        for woken in self._waiters.pop(str(tx.client_id), ()):
            if not woken.done():
                woken.set_result(None)
