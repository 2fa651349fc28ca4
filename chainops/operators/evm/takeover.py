"""Finishing a dead worker's transactions, and ``restore()`` when workers share an account.

A lease taken over from a dead worker (:meth:`LeasedNonceAllocator.sweep`) is
settled by what the journal holds at its nonce:

- ``sent`` with an unfinished transaction: the worker may have broadcast it, so it
  is finished exactly as ``restore()`` does (tracked, looked up by hash, its
  journalled bytes re-sent; nothing is rebuilt);
- ``reserved``: its worker never confirmed the lease, so nothing signed at it left
  that worker; a journalled transaction there is REJECTED (``LeaseLost``) and the
  nonce is filled with a 0-value self-transfer, unless the chain already used it.

``restore()`` with shared leases takes over the dead workers' leases, then
finishes what the journal leaves open at nonces nobody leases (say, mined while
its worker died before recording it), and fills nonces below the high-water mark
that nobody leases and the chain has not used. Unfinished transactions of live
workers are theirs: they are left alone.
"""

from __future__ import annotations

import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable

from chainops.core.errors import ChainopsError, LeaseLost
from chainops.core.journal import Journal
from chainops.core.journal.leases import LeaseState, TakenLease
from chainops.core.transaction import Transaction, TxState, TxUpdate
from chainops.operators.evm.nonce_leases import LeasedNonceAllocator
from chainops.operators.evm.parts import LiveTransactions
from chainops.operators.evm.pipeline import SendPipeline
from chainops.operators.evm.recovery import Recovery

log = logging.getLogger("chainops.evm.leases")


class Takeover:
    """Settles leases taken over from dead workers; ``restore()`` for a shared account."""

    def __init__(
        self,
        *,
        nonces: LeasedNonceAllocator,
        journal: Journal,
        platform: str,
        owner: str,
        pipeline: SendPipeline,
        live: LiveTransactions,
        recovery: Recovery,
        adopt_tx: Callable[[Transaction], None],
        follow_confirmed: bool = True,
        check_history: Callable[[list[Transaction]], Awaitable[None]] | None = None,
    ) -> None:
        self.nonces = nonces
        self.journal = journal
        self.platform = platform
        self.owner = owner
        self.pipeline = pipeline
        self.live = live
        self.recovery = recovery
        self.adopt_tx = adopt_tx
        self.follow_confirmed = follow_confirmed  # False: CONFIRMED is final for this operator
        self.check_history = check_history  # refuses a node without the journal's history
        self.finished: list[Transaction] = []  # every transaction taken over, for callers
        nonces.on_takeover = self.settle

    def _open(self) -> dict[int, list[Transaction]]:
        """Unfinished transactions of the account in the journal that we do not track, by nonce."""
        tracked = {str(t.client_id) for t in self.live.live}
        found: dict[int, list[Transaction]] = defaultdict(list)
        for op in self.journal.non_terminal(
            kind="transaction", platform=self.platform, owner=self.owner
        ):
            ours = isinstance(op, Transaction) and str(op.client_id) not in tracked
            if ours and isinstance(op, Transaction) and op.nonce is not None:
                found[op.nonce].append(op)
        return found

    async def settle(self, taken: list[TakenLease]) -> None:
        """Finish the work behind leases just taken over from dead workers."""
        unfinished = self._open()
        resume: list[Transaction] = []
        fills: list[int] = []
        for lease in taken:
            txs = unfinished.get(lease.nonce, [])
            if txs and lease.state is LeaseState.SENT:
                resume += txs
                continue
            for tx in txs:
                await self._reject(tx)
            if lease.nonce < self.nonces.floor:
                await self.nonces.done(lease.nonce)  # the chain has used it: nothing to do
            else:
                fills.append(lease.nonce)
        await self._resume(resume)
        for nonce in fills:
            with contextlib.suppress(ChainopsError):
                await self.pipeline.fill(nonce)

    async def _reject(self, tx: Transaction) -> None:
        """A transaction its dead worker journalled but never confirmed: it never left."""
        error = LeaseLost(
            f"{tx.client_id}: its worker stopped before broadcasting it; "
            f"nonce {tx.nonce} was taken over"
        )
        tx.apply(TxUpdate(state=TxState.REJECTED, error=error, sequence=self.live.sequence()))
        await self.pipeline.commits.save(tx)

    async def _resume(self, txs: list[Transaction]) -> None:
        """Track, look up by hash in one monitor turn, re-send what is still unmined."""
        if not txs:
            return
        for tx in txs:
            self.adopt_tx(tx)
            self.live.track(tx)
        await self.live.turn()
        await self.recovery.resume(txs)
        self.finished += txs

    async def restore(self) -> list[Transaction]:
        """``restore()`` for an account shared with other live workers."""
        before = len(self.finished)
        await self.nonces.sweep()
        chain, address = self.nonces.chain_id, str(self.nonces.address)
        leased = self.nonces.leases.leased(chain, address)
        unfinished = self._open()
        if self.check_history is not None:
            await self.check_history([tx for txs in unfinished.values() for tx in txs])
        orphans = [tx for nonce, txs in unfinished.items() if nonce not in leased for tx in txs]
        held = []
        for tx in orphans:
            assert tx.nonce is not None
            if tx.state in (TxState.SIGNED, TxState.BROADCAST):
                await self.nonces.adopt(tx.nonce)  # unmined: its nonce is ours to finish
                if not self.nonces.holds(tx.nonce):
                    continue  # a live worker leased it meanwhile: theirs
            elif tx.state is TxState.CONFIRMED and not self.follow_confirmed:
                continue  # as far as this operator follows anything (no finality tracking)
            held.append(tx)  # mined ones are only followed (depth, reorgs), nonce-less
        await self._resume(held)
        await self._fill_unleased()
        return self.finished[before:]

    async def _fill_unleased(self) -> None:
        """Fill nonces below the high-water mark that nobody leases and the chain lacks."""
        chain, address = self.nonces.chain_id, str(self.nonces.address)
        count = await self.nonces.sync()
        top = self.nonces.high_water()
        if top <= count:
            return
        leased = self.nonces.leases.leased(chain, address)
        journalled = set(self._open())
        for nonce in range(count, top):
            if nonce in leased or nonce in journalled:
                continue
            await self.nonces.adopt(nonce)
            if self.nonces.holds(nonce):
                log.info("filling nonce %s of %s: leased by nobody, unused", nonce, address)
                with contextlib.suppress(ChainopsError):
                    await self.pipeline.fill(nonce)
