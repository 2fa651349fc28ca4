"""The send pipeline: reserve a nonce -> build -> sign -> journal -> broadcast.

The journal write of the signed attempt is the point of no return: after it
the bytes are ours to re-send, and nothing is ever rebuilt. First broadcasts
leave in nonce order (:mod:`.ordering`). The node's answer to a broadcast is
acted on by error class, after asking the node for the hash (any refusal of
bytes it holds means "known"): a transport failure keeps the transaction
tracked (maybe sent), "nonce too low" lets receipts decide, a nonce gap gets a
short retry and then the gap fill, a nonce a foreign transaction holds is
skipped (``NonceTaken``: the request may be signed again), and a transaction the
node can never take is REJECTED with its nonce freed or filled. No REJECTED or
REPLACED is recorded while the node returns any attempt by its hash.

The pipeline also owns what follows a change the monitor observed (journal,
nonce bookkeeping, counters, waking the waiters) and the 0-value no-ops that
fill a nonce nobody else will.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from chainops.core.attempt import AttemptKind, FeeParams, TxAttempt
from chainops.core.bus import EventBus
from chainops.core.errors import ChainopsError, NonceError, RpcTransientError, UnknownOutcome
from chainops.core.ids import ClientIdGenerator
from chainops.core.transaction import Transaction, TxState, TxUpdate
from chainops.operators.evm.marks import DeferredMarks
from chainops.operators.evm.metrics import EvmMetrics
from chainops.operators.evm.node_errors import (
    NodeError,
    NodeErrorKind,
    core_error,
    resend_error,
)
from chainops.operators.evm.nonces import NonceAllocator
from chainops.operators.evm.ordering import NonceOrderedSends
from chainops.operators.evm.parts import Clock, LiveTransactions, NodeRpc, Pricing, monotonic
from chainops.operators.evm.requests import TxRequest, tx_fields
from chainops.operators.evm.resigning import MAX_NUDGES, NonceTaken, nudged
from chainops.operators.evm.signer import LocalSigner
from chainops.operators.group_commit import GroupCommitter
from chainops.operators.waves import Waves

log = logging.getLogger("chainops.evm.pipeline")

PLAIN_TRANSFER_GAS = 21_000
_PENDING = (TxState.SIGNED, TxState.BROADCAST)
# "Nonce too high" first gets a short retry: a lower nonce of ours may still be on its
# way (another process sharing the account, a node that has not pooled it yet).
GAP_RETRY_DELAYS = (0.05, 0.2, 0.5)
# Sends admitted per loop turn. Each wave costs a nonce-block transaction and a group
# commit (two FULL-sync fsyncs), and signing and journalling it holds the event loop:
# 64 keeps that under 10 ms, so the node's answer to one send batch is read, and the
# next batch sent, while the node would otherwise idle (256 held it ~40 ms a wave).
WAVE = 64


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
        self.marks = DeferredMarks(commits)
        self.waves = Waves(WAVE)
        # looked up per call: the node client can be swapped after construction
        self.ordered = NonceOrderedSends(lambda raw: self.rpc.send_raw_soon(raw))

    # -- reserve -> sign -> journal -> broadcast -----------------------------------------------

    async def prepare(self, req: TxRequest, wei: int, gas: int, fees: FeeParams) -> Transaction:
        """Reserve a nonce, then sign and journal at it; the nonce goes back on failure."""
        await self.waves.admit()
        try:
            nonce = await self.nonces.reserve()
            self.ordered.expect(nonce)
            try:
                return await self.sign_and_journal(req, wei, gas, nonce, fees)
            except BaseException:
                self.ordered.forget(nonce)
                await self.nonces.release(nonce)
                raise
        finally:
            self.waves.leave()  # journalled (or failed): the next wave may sign

    async def launch(self, tx: Transaction) -> None:
        """Track a journalled transaction and broadcast its first attempt."""
        cid = str(tx.client_id)
        try:
            await self._confirm_lease(tx)
            self._sent_at[cid] = self.clock()
            self.metrics.sent += 1
            self.live.sending.add(cid)  # no receipt to ask for before the node has heard of it
            self.live.track(tx)
            await self.broadcast(tx, tx.attempts[0])
        finally:
            self.live.sending.discard(cid)
            self.live.wake()  # its receipt may be asked now (under automine it exists already)
            if tx.nonce is not None:
                self.ordered.forget(tx.nonce)  # sent or failed: later nonces need not wait

    async def _confirm_lease(self, tx: Transaction) -> None:
        """Before tracking (nothing may send it before): its nonce must still be ours."""
        assert tx.nonce is not None
        try:
            await self.nonces.confirm(tx.nonce)  # LeaseLost, or JournalUnavailable (no answer)
        except ChainopsError as exc:
            self.finish(tx, TxState.REJECTED, exc)  # it never left this process
            raise

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
        for _ in range(MAX_NUDGES):
            if not self.commits.journal.has_attempt_hash(str(signed.hash)):
                break
            fees = nudged(fees)
            tx.fee_params = fees
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
        self.marks.covered(tx)  # this write records a waiting broadcast mark too
        self.commits.save_soon(tx)

    async def broadcast(
        self, tx: Transaction, attempt: TxAttempt, *, restoring: bool = False
    ) -> None:
        """Hand the journalled bytes to the node and act on its answer by error class.

        ``restoring``: bytes that may have gone out before (recovery, gap fills) are
        first looked up by hash, and not sent again if the node has them: Ganache with
        its miner stopped pools a second copy of bytes it holds and mines both.
        """
        if restoring and await self._node_has(attempt):
            self._accepted(tx, attempt)
            return
        try:
            if attempt.nonce is None:
                await self.rpc.send_raw(attempt.raw)
            else:
                await self.ordered.send(attempt.nonce, attempt.raw)
        except RpcTransientError as exc:
            # The bytes may have arrived: keep tracking, never fail a maybe-sent transaction.
            tx.attempt_failed(attempt.index, exc)
            self.save_soon(tx)
            if not restoring:
                raise UnknownOutcome(
                    f"{tx.client_id} ({attempt.hash}): broadcast outcome unknown ({exc}); "
                    "it stays tracked and is re-sent from the journal on restore()",
                    operation=tx,
                ) from exc
            return
        except NodeError as exc:
            await self._refused(tx, attempt, exc, restoring)
            return
        self._accepted(tx, attempt)

    def _accepted(self, tx: Transaction, attempt: TxAttempt) -> None:
        if tx.state in _PENDING:
            # Journalled shortly, or with the next change (restore() treats SIGNED and
            # BROADCAST alike, so a crash before it loses nothing), for `tx status`.
            tx.mark_broadcast(attempt.index)
            self.marks.soon(tx)
        self.live.wake()

    async def _refused(
        self, tx: Transaction, attempt: TxAttempt, exc: NodeError, restoring: bool
    ) -> None:
        # Any refusal of bytes the node already holds means "known" (Ganache answers a
        # re-send with "transaction underpriced", Hardhat a mined one with "nonce too low").
        exc = resend_error(exc, node_has_tx=await self._node_has(attempt))
        if exc.kind is NodeErrorKind.DUPLICATE:
            self._accepted(tx, attempt)
            return
        if exc.kind is NodeErrorKind.NONCE_GAP:
            try:
                await self._close_gap(tx, attempt)
            except NodeError as again:
                exc = again
            else:
                self._accepted(tx, attempt)
                return
        if exc.kind is NodeErrorKind.NONCE_TOO_LOW:
            # Our own earlier attempt may be what consumed the nonce: receipts decide.
            self.live.sending.discard(str(tx.client_id))
            await self.live.turn()
            if tx.state not in _PENDING:
                return
            await self.replaced_elsewhere(tx)
            if not restoring and tx.state is TxState.REPLACED:
                raise NonceTaken(
                    f"{tx.client_id}: nonce {tx.nonce} was already used outside this "
                    "operator; nothing of ours went out, the nonce is resynced"
                ) from exc
            return
        if (
            exc.kind in (NodeErrorKind.REPLACEMENT_UNDERPRICED, NodeErrorKind.UNDERPRICED)
            and len(tx.attempts) == 1
            and tx.nonce is not None
            and await self._nonce_taken(tx.nonce)
        ):
            # A first attempt replaces nothing of ours: a foreign transaction holds the
            # nonce in the pool (Ganache says "transaction underpriced"). Ours is refused
            # for good; the nonce is skipped, never filled (the foreign one will take it).
            if await self._chain_holds(tx):
                self.live.wake()
                return
            self.finish(tx, TxState.REJECTED, exc)
            await self.nonces.done(tx.nonce)
            await self.nonces.sync()
            if not restoring:
                raise NonceTaken(
                    f"{tx.client_id}: nonce {tx.nonce} is taken by a pending transaction "
                    "outside this operator; nothing of ours went out, the nonce is skipped"
                ) from exc
            return
        if await self.give_up(tx, exc, release=not restoring) and not restoring:
            raise exc

    async def _node_has(self, attempt: TxAttempt) -> bool:
        """True if the node returns this attempt by its hash (pooled or mined)."""
        try:
            found = await self.rpc.call("eth_getTransactionByHash", [str(attempt.hash)])
        except ChainopsError:
            return False  # no answer proves nothing; the refusal stands
        return isinstance(found, dict)

    async def _nonce_taken(self, nonce: int) -> bool:
        """True if a pooled or mined transaction of this account already has ``nonce``."""
        owner = str(self.signer.address)
        try:
            count = int(await self.rpc.call("eth_getTransactionCount", [owner, "pending"]), 16)
            if count > nonce:
                return True
            # Ganache leaves pooled transactions out of its pending count: ask the pool.
            pool = await self.rpc.call("txpool_content", [])
        except ChainopsError:
            return False
        if not isinstance(pool, dict):
            return False
        for section in ("pending", "queued"):
            by_sender = pool.get(section) or {}
            for sender, entries in by_sender.items():
                if sender.lower() == owner.lower() and str(nonce) in entries:
                    return True
        return False

    async def _close_gap(self, tx: Transaction, attempt: TxAttempt) -> None:
        """A short retry, then fill the nonces missing below ours and send once more.

        Below ``tx``'s nonce, a live transaction of ours has its latest bytes sent again;
        a nonce nobody of ours holds gets a 0-value no-op. Raises the node's last refusal.
        """
        last: NodeError | None = None
        for delay in GAP_RETRY_DELAYS:
            await asyncio.sleep(delay)
            try:
                await self.rpc.send_raw(attempt.raw)
            except NodeError as exc:
                if exc.kind is not NodeErrorKind.NONCE_GAP:
                    raise
                last = exc
            else:
                return
        assert tx.nonce is not None and last is not None
        count = int(
            await self.rpc.call("eth_getTransactionCount", [str(self.signer.address), "pending"]),
            16,
        )
        ours = {
            t.nonce: t
            for t in self.live.live
            if t.nonce is not None and t.state in _PENDING and t is not tx
        }
        empty: list[int] = []
        for nonce in range(count, tx.nonce):
            other = ours.get(nonce)
            latest = other.latest_attempt if other is not None else None
            if latest is not None:
                with contextlib.suppress(ChainopsError):
                    await self.rpc.send_raw(latest.raw)
            else:
                empty.append(nonce)
        await self._occupy(empty, tx)
        await self.rpc.send_raw(attempt.raw)

    async def _chain_holds(self, tx: Transaction) -> bool:
        """True if the node has any attempt of ``tx`` (a receipt, or the transaction by hash).

        Asked before every final failure (REJECTED, REPLACED): a state the chain
        contradicts is worse than one more look. No answer counts as "holds".
        """
        hashes = [str(a.hash) for a in tx.attempts]
        calls: list[tuple[str, list[Any]]] = [
            *(("eth_getTransactionReceipt", [h]) for h in hashes),
            *(("eth_getTransactionByHash", [h]) for h in hashes),
        ]
        if not calls:
            return False
        try:
            found = await self.rpc.call_many(calls)
        except ChainopsError:
            return True
        if any(isinstance(item, Exception) for item in found):
            return True
        return any(isinstance(item, dict) for item in found)

    # -- outcomes decided here or by the parts -------------------------------------------------

    async def give_up(self, tx: Transaction, exc: NodeError, *, release: bool = True) -> bool:
        """REJECTED: the node will never take it. Its nonce is freed, or, when later
        transactions already wait behind it, occupied at once by a 0-value no-op.

        False (nothing changed, the monitor follows it) if the node holds an attempt.
        """
        if await self._chain_holds(tx):
            self.live.wake()
            return False
        self.finish(tx, TxState.REJECTED, exc)
        nonce = tx.nonce
        if nonce is None:
            return True
        if any(other > nonce for other in self.nonces.in_flight):
            self._background(self.fill(nonce))
        elif release and nonce in self.nonces.in_flight:
            await self.nonces.release(nonce)
        return True

    async def replaced_elsewhere(self, tx: Transaction) -> None:
        """Another transaction (not one of ours) took this nonce: REPLACED, and resync.

        Unless the node still has one of its attempts: then the monitor follows it.
        """
        if await self._chain_holds(tx):
            self.live.wake()
            return
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
        self.save_soon(tx)
        self._count(tx)
        self._wake(tx)

    async def fill(self, nonce: int) -> Transaction:
        """Occupy ``nonce`` (already reserved or adopted) with a 0-value self-transfer."""
        self.nonces.require(nonce)  # another worker's lease: not filled here
        request = TxRequest(to=self.signer.address)
        tx = await self.sign_and_journal(request, 0, PLAIN_TRANSFER_GAS, nonce)
        await self._confirm_lease(tx)
        self.metrics.gap_fills += 1
        self.live.track(tx)
        await self.broadcast(tx, tx.attempts[0], restoring=True)
        return tx

    async def fill_below(self, tx: Transaction, count: int) -> None:
        """Occupy the nonces from ``count`` up to ``tx``'s that nothing of ours holds: the
        node queues ``tx`` behind them for ever.

        A transaction of ours the journal records as mined at such a nonce was reorged
        out after it was let go: it is followed again and its mined bytes are re-sent
        (nothing is rebuilt). A nonce whose journalled, never-mined transaction nobody
        here follows (a dead worker's) is left to the restore that owns it. Any other
        nonce gets a 0-value no-op, unless another worker leases it. A nonce reserved
        here (being signed or sent) is left alone.
        """
        assert tx.nonce is not None
        pending = {t.nonce for t in self.live.live if t.state in _PENDING}
        reserved = self.nonces.in_flight
        missing = [n for n in range(count, tx.nonce) if n not in pending and n not in reserved]
        if not missing:
            return
        await self._occupy(missing, tx)

    async def _occupy(self, missing: list[int], tx: Transaction) -> None:
        """Occupy each nonce of ``missing`` (below ``tx``'s): a transaction of ours mined
        there and reorged out is re-sent as it was mined; another gets a 0-value no-op."""
        if not missing:
            return
        followed = {str(t.client_id) for t in self.live.live}
        mined: dict[int, Transaction] = {}
        owned: set[int] = set()  # journalled, never mined, followed by nobody here
        for op in self.commits.journal.non_terminal(
            kind="transaction", platform=self.platform, owner=str(self.signer.address)
        ):
            if (
                isinstance(op, Transaction)
                and op.nonce in missing
                and str(op.client_id) not in followed
            ):
                if op.winner is not None:
                    mined[op.nonce] = op
                else:
                    owned.add(op.nonce)
        for nonce in missing:
            if nonce in owned:
                # signed and journalled by a worker that died (or before a crash): its
                # bytes are the restore's to send; a filler would replace a transfer
                continue
            await self.nonces.adopt(nonce)
            if not self.nonces.holds(nonce):
                continue  # another worker's: it sends there
            lost = mined.get(nonce)
            try:
                if lost is None:
                    log.warning(
                        "nonce %s holds up %s: nothing of ours is there, filled",
                        nonce,
                        tx.client_id,
                    )
                    await self.fill(nonce)
                else:
                    await self._resend_lost(lost)
            except ChainopsError as exc:
                log.warning("nonce %s below %s not filled: %s", nonce, tx.client_id, exc)

    async def _resend_lost(self, tx: Transaction) -> None:
        """``tx`` was mined, then its block was reorged away: follow it again and send its
        mined bytes once more (the chain's count is below its nonce: it is not mined)."""
        winner = tx.winner
        assert winner is not None
        log.warning(
            "%s (nonce %s) was reorged out after it was let go: re-sent", tx.client_id, tx.nonce
        )
        tx.apply(
            TxUpdate(state=TxState.BROADCAST, sequence=self.live.sequence(), reason="reorged out")
        )
        self.save_soon(tx)
        self._count(tx)
        self._bind(tx)
        self.live.track(tx)
        await self.broadcast(tx, winner, restoring=True)

    async def changed(self, tx: Transaction) -> None:
        """The monitor saw ``tx`` move: journal it, settle its nonce, wake its waiters."""
        self.save_soon(tx)
        self._count(tx)
        if tx.nonce is not None and tx.state not in _PENDING:
            await self.nonces.done(tx.nonce)
        self._wake(tx)

    def _count(self, tx: Transaction) -> None:
        cid = str(tx.client_id)
        metrics = self.metrics
        settled = (TxState.CONFIRMED, TxState.FINALIZED, TxState.REVERTED)
        if tx.state in settled and cid in self._sent_at:
            metrics.observe_latency(self.clock() - self._sent_at.pop(cid))
            if tx.state is not TxState.REVERTED:  # straight to FINALIZED counts too
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
        await self.ordered.drain()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        self.marks.flush()
