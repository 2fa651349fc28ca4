"""The watchdog: what to do about transactions that stay pending.

Run after every monitor turn with the still-pending transactions. It decides,
and hands slow actions (speed-ups, cancels) to background tasks so that the
monitor loop never waits on them:

- past its deadline and not yet cancelled: cancel it;
- pending for ``bump_after_blocks`` blocks (and at least ``bump_min_seconds``) or
  ``bump_after_seconds``, with the account's nonce count standing still for as
  long: speed it up, up to
  ``max_bumps`` times; a fee ceiling stops the bumping and tells the waiters. A
  count that moves means the account's queue is being mined, the transaction
  waiting only for its own predecessors (under automine a burst of a thousand
  makes a thousand blocks): a higher fee would buy nothing;
- unseen for ``rebroadcast_after`` seconds, or the lowest nonce (which holds up
  all the others) once the account's nonce count has stood still for the policy's
  ``head_look`` share of it (a count that moves: the queue is being mined): one
  batched look at the chain. A
  receipt for any attempt -> the monitor records it. The account's nonce count
  already past ours and no receipt of ours -> another transaction took the nonce:
  REPLACED, and the allocator resyncs. Missing from the pool on two looks a
  monitor turn apart -> dropped: the latest attempt's same bytes are sent again
  (one look can straddle a block, and some nodes mine re-sent bytes twice).
  Queued by the node (``txpool_inspect``) at exactly the account's nonce count, on
  two looks a monitor turn apart -> stuck behind a predecessor the node forgot
  (Anvil can park a transaction that arrives while it mines the one before, and
  never looks at it again): a speed-up, which the node validates afresh.
  The lowest pending nonce above the account's nonce count, with nothing of the
  account executable and nothing of ours in flight below it, on two looks a
  monitor turn apart -> a gap the node queues behind for ever (say, a transaction
  of ours confirmed, then reorged out deeper than it was followed): the pipeline
  fills it (:meth:`SendPipeline.fill_below`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from chainops.core.attempt import AttemptKind
from chainops.core.errors import ChainopsError, NonceError
from chainops.core.transaction import Transaction, TxState
from chainops.operators.evm.metrics import EvmMetrics
from chainops.operators.evm.node_errors import NodeError, NodeErrorKind
from chainops.operators.evm.parts import (
    Clock,
    LiveTransactions,
    NodeRpc,
    PipelineVerbs,
    Replacements,
    WatchdogPolicy,
    monotonic,
)
from chainops.operators.evm.replacements import BumpCapReached

log = logging.getLogger("chainops.evm.watchdog")

# Node answers that no re-send of the same bytes can change.
FATAL_FOR_TX = frozenset(
    {NodeErrorKind.INSUFFICIENT_FUNDS, NodeErrorKind.INTRINSIC_GAS, NodeErrorKind.GAS_LIMIT}
)


class Watchdog:
    """Policies for pending transactions of one operator."""

    def __init__(
        self,
        *,
        owner: str,
        policy: WatchdogPolicy,
        rpc: NodeRpc,
        live: LiveTransactions,
        pipeline: PipelineVerbs,
        replacer: Replacements,
        metrics: EvmMetrics,
        clock: Clock = monotonic,
    ) -> None:
        self.owner = owner
        self.policy = policy
        self.rpc = rpc
        self.live = live
        self.pipeline = pipeline
        self.replacer = replacer
        self.metrics = metrics
        self.clock = clock
        self.deadlines: dict[str, float] = {}  # client id -> monotonic deadline
        self._since: dict[str, tuple[float, int]] = {}  # pending since (time, head) / last bump
        self._checked: dict[str, float] = {}
        self._capped: set[str] = set()
        self._suspects: set[str] = set()  # nonce consumed, none of our receipts: look again
        self._parked: set[str] = set()  # held by the node but not executable: look again
        self._missing: set[str] = set()  # neither pooled nor mined on one look: look again
        self._gapped: set[str] = set()  # lowest nonce queued above a gap: look again
        self._busy: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        # sender -> (nonce count, time, head) when that count was first seen
        self._moved: dict[str, tuple[int, float, int]] = {}

    async def check(self, pending: list[Transaction]) -> None:
        """Apply the policies to every pending transaction (called after each turn)."""
        now = self.clock()
        head = self.live.head or 0
        live = {str(tx.client_id) for tx in pending}
        for table in (self._since, self._checked):
            for cid in [c for c in table if c not in live]:
                del table[cid]
        self._parked &= live
        self._missing &= live
        self._gapped &= live
        suspects: list[Transaction] = []
        for sender in {str(tx.sender) for tx in pending}:
            self._note_count(sender, now, head)
        # The lowest nonce holds up every later one: it is looked at sooner.
        first = min((tx.nonce for tx in pending if tx.nonce is not None), default=None)
        head_look = self.policy.rebroadcast_after * self.policy.head_look
        for tx in pending:
            cid = str(tx.client_id)
            if cid in self._busy:
                continue
            since = self._since.setdefault(cid, (now, head))
            deadline = self.deadlines.get(cid)
            if deadline is not None and now >= deadline and not _has(tx, AttemptKind.CANCEL):
                self._spawn(tx, self._cancel(tx))
            elif self._bump_due(tx, self._stuck_since(tx, since), now, head):
                self._since[cid] = (now, head)
                self._spawn(tx, self._bump(tx))
            elif (
                cid in self._parked  # parked or missing: looked at again on the next turn
                or cid in self._missing
                or cid in self._gapped
                or now - self._checked.get(cid, since[0]) >= self.policy.rebroadcast_after
                or (
                    tx.nonce == first
                    and now - self._checked.get(cid, since[0]) >= head_look
                    and now - self._stuck_since(tx, since)[0] >= head_look
                )
            ):
                self._checked[cid] = now
                suspects.append(tx)
        if suspects:
            await self._inspect(suspects, first)

    def _stuck_since(self, tx: Transaction, since: tuple[float, int]) -> tuple[float, int]:
        """When ``tx`` began to wait with its account's nonce count standing still."""
        moved = self._moved.get(str(tx.sender))
        if moved is None:
            return since  # no count read yet: the transaction's own wait decides
        return (max(since[0], moved[1]), max(since[1], moved[2]))

    def _note_count(self, sender: str, now: float, head: int) -> None:
        """Keep when ``sender``'s nonce count (as the monitor last read it) last moved."""
        count = self.live.mined_count(sender)
        moved = self._moved.get(sender)
        if count is None:
            return  # not read this turn: when it last moved is still what we know
        if moved is None:  # first seen: nothing shows it moved, so it may have stood all along
            self._moved[sender] = (count, 0.0, 0)
        elif moved[0] != count:
            self._moved[sender] = (count, now, head)

    def forget(self, client_id: str) -> None:
        """Drop the policies' state of a transaction nothing follows any more."""
        self.deadlines.pop(client_id, None)
        self._since.pop(client_id, None)
        self._checked.pop(client_id, None)
        self._capped.discard(client_id)
        self._suspects.discard(client_id)
        self._parked.discard(client_id)
        self._missing.discard(client_id)
        self._gapped.discard(client_id)

    def _bump_due(self, tx: Transaction, since: tuple[float, int], now: float, head: int) -> bool:
        config = self.policy
        cid = str(tx.client_id)
        if cid in self._capped or tx.state is not TxState.BROADCAST:
            return False
        if sum(1 for a in tx.attempts if a.kind is not AttemptKind.ORIGINAL) >= config.max_bumps:
            return False
        by_blocks = (
            config.bump_after_blocks is not None
            and head - since[1] >= config.bump_after_blocks
            and now - since[0] >= config.bump_min_seconds
        )
        by_time = (
            config.bump_after_seconds is not None and now - since[0] >= config.bump_after_seconds
        )
        return by_blocks or by_time

    def _spawn(self, tx: Transaction, action: Any) -> None:
        cid = str(tx.client_id)
        self._busy.add(cid)
        task = asyncio.ensure_future(action)
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            self._busy.discard(cid)

        task.add_done_callback(done)

    async def _bump(self, tx: Transaction) -> None:
        try:
            await self.replacer.speed_up(tx)
        except BumpCapReached as exc:
            self._capped.add(str(tx.client_id))
            self.pipeline.stall(tx, exc)
        except ChainopsError as exc:  # mined meanwhile, or the node refused: next turn decides
            log.info("automatic speed-up of %s not sent: %s", tx.client_id, exc)

    async def _cancel(self, tx: Transaction) -> None:
        try:
            await self.replacer.cancel(tx)
        except BumpCapReached as exc:
            self.pipeline.stall(tx, exc)
        except ChainopsError as exc:
            log.info("deadline cancel of %s not sent: %s", tx.client_id, exc)

    async def _inspect(self, txs: list[Transaction], first: int | None = None) -> None:
        """One batch: the nonce counts, each latest attempt in the pool, every receipt.

        ``first``: the lowest nonce pending (a gap below it holds up every one)."""
        calls: list[tuple[str, list[Any]]] = [
            ("eth_getTransactionCount", [self.owner, "latest"]),
            ("eth_getTransactionCount", [self.owner, "pending"]),
        ]
        for tx in txs:
            latest = tx.latest_attempt
            assert latest is not None
            calls.append(("eth_getTransactionByHash", [str(latest.hash)]))
            calls += [("eth_getTransactionReceipt", [str(a.hash)]) for a in tx.attempts]
        results = await self.rpc.call_many(calls)
        if isinstance(results[0], Exception):
            return  # the node did not answer: look again next time
        count = int(results[0], 16)
        executable = None if isinstance(results[1], Exception) else int(results[1], 16)
        cursor = 2
        parked: list[Transaction] = []
        for tx in txs:
            pooled = results[cursor]
            receipts = results[cursor + 1 : cursor + 1 + len(tx.attempts)]
            cursor += 1 + len(tx.attempts)
            cid = str(tx.client_id)
            if isinstance(pooled, Exception) or any(isinstance(r, Exception) for r in receipts):
                continue  # an incomplete look decides nothing
            missing = cid in self._missing
            self._missing.discard(cid)
            gapped = cid in self._gapped
            self._gapped.discard(cid)
            if any(isinstance(r, dict) for r in receipts):
                self._suspects.discard(cid)
                self.live.wake()  # mined: the monitor records it on its next turn
            elif tx.nonce is not None and count > tx.nonce:
                # Seen twice, a look apart: a reorg in the middle of one look is not proof.
                if cid in self._suspects:
                    self._suspects.discard(cid)
                    await self.pipeline.replaced_elsewhere(tx)
                else:
                    self._suspects.add(cid)
            elif _above_gap(tx, first, count, executable):
                self._suspects.discard(cid)
                if gapped:
                    await self.pipeline.fill_below(tx, count)
                else:
                    self._gapped.add(cid)
                    self.live.wake()  # every later nonce waits on it: look again now
            elif pooled is None and tx.state in (TxState.SIGNED, TxState.BROADCAST):
                self._suspects.discard(cid)
                if missing:
                    await self._rebroadcast(tx)
                else:
                    self._missing.add(cid)
            elif _maybe_parked(tx, pooled, count, executable):
                parked.append(tx)
            else:
                self._parked.discard(cid)
        if parked:
            await self._unpark(parked)

    async def _unpark(self, txs: list[Transaction]) -> None:
        """Speed up those of ``txs`` the node queues (seen twice): their bytes never mine."""
        try:
            pool = await self.rpc.call("txpool_inspect", [])
        except ChainopsError:
            return  # no pool to look at: nothing proves the node parked them
        queued = pool.get("queued") if isinstance(pool, dict) else None
        mine: dict[str, Any] = next(
            (v for k, v in (queued or {}).items() if str(k).lower() == self.owner.lower()), {}
        )
        for tx in txs:
            cid = str(tx.client_id)
            if str(tx.nonce) not in mine:
                self._parked.discard(cid)
            elif cid in self._parked:
                self._parked.discard(cid)
                log.warning("%s is parked by the node at nonce %s: sped up", cid, tx.nonce)
                self._spawn(tx, self._bump(tx))
            else:
                self._parked.add(cid)
                # every later nonce waits on it: the look that proves it comes with the
                # next turn, now, not a poll interval later
                self.live.wake()

    async def _rebroadcast(self, tx: Transaction) -> None:
        latest = tx.latest_attempt
        assert latest is not None
        self.metrics.drops += 1
        try:
            await self.rpc.send_raw(latest.raw)
        except NonceError:
            self.live.wake()
            return
        except NodeError as exc:
            if exc.kind in FATAL_FOR_TX:
                # It can never be accepted as it is (e.g. the funds went to an earlier
                # transaction): give it up, and keep later nonces from waiting on it.
                await self.pipeline.give_up(tx, exc)
            elif exc.kind is NodeErrorKind.UNDERPRICED and str(tx.client_id) not in self._busy:
                self._spawn(tx, self._bump(tx))  # re-price from the fresh base fee
            else:
                log.info("re-broadcast of %s refused: %s", latest.hash, exc)
            return
        except ChainopsError as exc:
            log.info("re-broadcast of %s failed, retrying later: %s", latest.hash, exc)
            return
        self.metrics.rebroadcasts += 1
        if tx.state is TxState.SIGNED:
            tx.mark_broadcast(latest.index)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _maybe_parked(tx: Transaction, pooled: Any, count: int, executable: int | None) -> bool:
    """The node holds ``tx``, the chain is at its nonce, and the pending count leaves it out."""
    return (
        isinstance(pooled, dict)
        and tx.state is TxState.BROADCAST
        and tx.nonce == count
        and executable is not None
        and executable <= count
    )


def _above_gap(tx: Transaction, first: int | None, count: int, executable: int | None) -> bool:
    """``tx`` is the lowest pending nonce, above the chain's count, and the node has
    nothing of the account it could mine next: the nonces below are nobody's."""
    return (
        tx.nonce is not None
        and tx.nonce == first
        and tx.nonce > count
        and executable is not None
        and executable <= count
    )


def _has(tx: Transaction, kind: AttemptKind) -> bool:
    return any(a.kind is kind for a in tx.attempts)
