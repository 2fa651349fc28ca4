"""The send pipeline: reserve a nonce -> build -> sign -> journal -> broadcast.

The journal write of the signed attempt is the point of no return: after it
the bytes are ours to re-send, and nothing is ever rebuilt. The node's answer
to a broadcast is acted on by error class: a transport failure keeps the
transaction tracked (maybe sent), "nonce too low" lets receipts decide, and a
transaction the node can never take is REJECTED with its nonce freed or filled.

The pipeline also owns what follows a change the monitor observed (journal,
nonce bookkeeping, counters, waking the waiters) and the 0-value no-ops that
fill a nonce nobody else will.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from chainops.core.attempt import AttemptKind, FeeParams, TxAttempt
from chainops.core.bus import EventBus
from chainops.core.errors import ChainopsError, NonceError, RpcTransientError, UnknownOutcome
from chainops.core.ids import ClientIdGenerator
from chainops.core.transaction import Transaction, TxState, TxUpdate
from chainops.operators.evm.metrics import EvmMetrics
from chainops.operators.evm.node_errors import NodeError, NodeErrorKind, core_error
from chainops.operators.evm.nonces import NonceAllocator
from chainops.operators.evm.parts import Clock, LiveTransactions, NodeRpc, Pricing, monotonic
from chainops.operators.evm.requests import TxRequest, tx_fields
from chainops.operators.evm.signer import LocalSigner
from chainops.operators.group_commit import GroupCommitter

log = logging.getLogger("chainops.evm.pipeline")

PLAIN_TRANSFER_GAS = 21_000
_PENDING = (TxState.SIGNED, TxState.BROADCAST)


class SendPipeline:
    """Signs, journals and broadcasts the transactions of one account on one chain."""

    def __init__(
        self,
        *,
        chain_id: int,
        platform: str,
        signer: LocalSigner,
        ids: ClientIdGenerator,
        nonces: NonceAllocator,
        commits: GroupCommitter,
        rpc: NodeRpc,
        live: LiveTransactions,
        pricing: Pricing,
        events: EventBus,
        metrics: EvmMetrics,
        bind: Callable[[Transaction], None],
        wake: Callable[[Transaction], None],
        stall: Callable[[Transaction, ChainopsError], None],
        clock: Clock = monotonic,
    ) -> None:
        self.chain_id = chain_id
        self.platform = platform
        self.signer = signer
        self.ids = ids
        self.nonces = nonces
        self.commits = commits
        self.rpc = rpc
        self.live = live
        self.pricing = pricing
        self.events = events
        self.metrics = metrics
        self._bind = bind
        self._wake = wake
        self._stall = stall
        self.clock = clock
        self._sent_at: dict[str, float] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- reserve -> sign -> journal -> broadcast -----------------------------------------------

    async def prepare(self, req: TxRequest, wei: int, gas: int, fees: FeeParams) -> Transaction:
        """Reserve a nonce, then sign and journal at it; the nonce goes back on failure."""
        nonce = await self.nonces.reserve()
        try:
            return await self.sign_and_journal(req, wei, gas, nonce, fees)
        except BaseException:
            await self.nonces.release(nonce)
            raise

    async def launch(self, tx: Transaction) -> None:
        """Track a journalled transaction and broadcast its first attempt."""
        self._sent_at[str(tx.client_id)] = self.clock()
        self.metrics.sent += 1
        self.live.track(tx)
        await self.broadcast(tx, tx.attempts[0])

    async def sign_and_journal(
        self, req: TxRequest, wei: int, gas: int, nonce: int, fees: FeeParams | None = None
    ) -> Transaction:
        """Build, sign and journal a transaction at ``nonce`` (durable before returning)."""
        if fees is None:
            fees = await self.pricing.estimate(req.priority, head=self.live.head)
        tx = Transaction(
            client_id=self.ids.next(),
            platform=self.platform,
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
        self._bind(tx)
        return tx

    async def add_attempt(
        self,
        tx: Transaction,
        request: TxRequest,
        value: int,
        gas: int,
        fees: FeeParams,
        kind: AttemptKind,
    ) -> TxAttempt:
        """Sign a replacement at ``tx``'s nonce and journal it before the node hears of it."""
        assert tx.nonce is not None
        signed = self.signer.sign(tx_fields(self.chain_id, request, value, gas, tx.nonce, fees))
        attempt = TxAttempt(
            index=len(tx.attempts),
            hash=signed.hash,
            raw=signed.raw,
            nonce=tx.nonce,
            fee=fees,
            kind=kind,
        )
        tx.add_attempt(attempt)
        await self.commits.save(tx)
        return attempt

    def save_soon(self, tx: Transaction) -> None:
        self.commits.save_soon(tx)

    async def broadcast(
        self, tx: Transaction, attempt: TxAttempt, *, restoring: bool = False
    ) -> None:
        """Hand the journalled bytes to the node and act on its answer by error class."""
        try:
            await self.rpc.send_raw(attempt.raw)
        except RpcTransientError as exc:
            # The bytes may have arrived: keep tracking, never fail a maybe-sent transaction.
            tx.attempt_failed(attempt.index, exc)
            self.commits.save_soon(tx)
            if not restoring:
                unknown = UnknownOutcome(
                    f"{tx.client_id} ({attempt.hash}): broadcast outcome unknown ({exc}); "
                    "it stays tracked and is re-sent from the journal on restore()"
                )
                unknown.transaction = tx  # type: ignore[attr-defined]
                raise unknown from exc
            return
        except NodeError as exc:
            await self._refused(tx, exc, restoring)
            return
        if tx.state in _PENDING:
            # Not journalled on its own: the receipt's write carries it, and after a crash
            # restore() treats SIGNED and BROADCAST alike (look up by hash, else re-send).
            tx.mark_broadcast(attempt.index)
        self.live.wake()

    async def _refused(self, tx: Transaction, exc: NodeError, restoring: bool) -> None:
        if exc.kind is NodeErrorKind.NONCE_TOO_LOW:
            # Our own earlier attempt may be what consumed the nonce: receipts decide.
            await self.live.turn()
            if tx.state not in _PENDING:
                return
            await self.replaced_elsewhere(tx)
            if not restoring:
                raise NonceError(f"{tx.client_id}: nonce {tx.nonce} already used") from exc
            return
        await self.give_up(tx, exc, release=not restoring)
        if not restoring:
            raise exc

    # -- outcomes decided here or by the parts -------------------------------------------------

    async def give_up(self, tx: Transaction, exc: NodeError, *, release: bool = True) -> None:
        """REJECTED: the node will never take it. Its nonce is freed, or, when later
        transactions already wait behind it, occupied at once by a 0-value no-op."""
        self.finish(tx, TxState.REJECTED, exc)
        nonce = tx.nonce
        if nonce is None:
            return
        if any(other > nonce for other in self.nonces.in_flight):
            self._background(self.fill(nonce))
        elif release and nonce in self.nonces.in_flight:
            await self.nonces.release(nonce)

    async def replaced_elsewhere(self, tx: Transaction) -> None:
        """Another transaction (not one of ours) took this nonce: REPLACED, and resync."""
        self.finish(
            tx,
            TxState.REPLACED,
            NonceError(
                f"nonce {tx.nonce} of {self.signer.address} was used by a transaction "
                "outside this operator"
            ),
        )
        await self.nonces.sync()
        if tx.nonce is not None:
            await self.nonces.done(tx.nonce)

    def stall(self, tx: Transaction, error: ChainopsError) -> None:
        """Tell the transaction's waiters why it cannot progress (it stays tracked)."""
        self._stall(tx, error)

    def finish(self, tx: Transaction, state: TxState, error: BaseException) -> None:
        tx.apply(TxUpdate(state=state, error=core_error(error), sequence=self.live.sequence()))
        self.commits.save_soon(tx)
        self._count(tx)
        self._wake(tx)

    async def fill(self, nonce: int) -> Transaction:
        """Occupy ``nonce`` (already reserved or adopted) with a 0-value self-transfer."""
        request = TxRequest(to=self.signer.address)
        tx = await self.sign_and_journal(request, 0, PLAIN_TRANSFER_GAS, nonce)
        self.metrics.gap_fills += 1
        self.live.track(tx)
        await self.broadcast(tx, tx.attempts[0], restoring=True)
        return tx

    async def changed(self, tx: Transaction) -> None:
        """The monitor saw ``tx`` move: journal it, settle its nonce, wake its waiters."""
        self.commits.save_soon(tx)
        self._count(tx)
        if tx.nonce is not None and tx.state not in _PENDING:
            await self.nonces.done(tx.nonce)
        self._wake(tx)

    def _count(self, tx: Transaction) -> None:
        cid = str(tx.client_id)
        metrics = self.metrics
        if tx.state in (TxState.CONFIRMED, TxState.REVERTED) and cid in self._sent_at:
            metrics.observe_latency(self.clock() - self._sent_at.pop(cid))
            if tx.state is TxState.CONFIRMED:
                metrics.confirmed += 1
            else:
                metrics.reverted += 1
        if (
            tx.state is TxState.BROADCAST
            and tx.history
            and tx.history[-1].reason in ("reorged", "reorged out")
        ):
            metrics.reorgs += 1
        if tx.state is TxState.REPLACED:
            metrics.replacements += 1

    # -- background work -----------------------------------------------------------------------

    def _background(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("background work failed", exc_info=task.exception())

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
