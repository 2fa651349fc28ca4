"""Solana sends of one account shared by several worker processes (PostgreSQL journal).

A signature lands at most once, so workers need no nonces; what they share is the
*ownership* of sends in flight, as claims in the journal
(:class:`~chainops.core.journal.leases.OperationClaims`):

- a send is claimed ``reserved`` before it is journalled, and its claim confirmed
  ``sent`` after journalling and before its bytes leave; a claim taken over
  meanwhile (its worker missed its heartbeats) is not confirmed: the send is
  REJECTED with :class:`LeaseLost` and nothing was broadcast;
- the claim ends when the monitor lets the transaction go (final);
- a keeper renews the holder every quarter expiry and takes over the claims of
  dead workers (session ended, or heartbeat older than the expiry): a ``sent`` one
  is followed as ``restore()`` follows it (looked up by signature, the journalled
  bytes re-sent while the blockhash is valid, EXPIRED once it cannot land); a
  ``reserved`` one never left its worker, so its transaction is REJECTED (one not
  journalled yet keeps its claim until it is: unclaimed, a restore could send it);
- ``restore()`` takes over the dead workers' claims, then claims and follows only
  the open transactions no live worker claims.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence

from chainops.core.errors import ChainopsError, JournalUnavailable, LeaseLost
from chainops.core.journal import Journal
from chainops.core.journal.leases import LeaseState, OperationClaims, TakenClaim
from chainops.core.transaction import Transaction, TxState, TxUpdate
from chainops.operators.keeper import Keeper
from chainops.operators.turnqueue import TurnQueue

log = logging.getLogger("chainops.solana.claims")

Follow = Callable[[list[Transaction]], Awaitable[None]]


class SendClaims:
    """The claims of one operator's sends, and the keeper that takes over dead workers'."""

    def __init__(
        self,
        claims: OperationClaims,
        *,
        journal: Journal,
        platform: str,
        owner: str,
        follow: Follow,
        save: Callable[[Transaction], Awaitable[None]],
        sequence: Callable[[], int],
        confirm_timeout: float | None = None,
    ) -> None:
        self.claims = claims
        self.journal = journal
        self.platform = platform
        self.owner = owner
        self.scope = f"{platform}:{owner}"
        self._follow = follow
        self._save = save
        self._sequence = sequence
        # An outage shorter than this only delays sends (as for nonce leases).
        self.confirm_timeout = confirm_timeout or 3 * claims.expiry
        self._reserves = TurnQueue(self._reserve_batch, max_batch=1000)
        self._confirms = TurnQueue(self._confirm_batch, max_batch=1000)
        self._unwritten: set[str] = set()  # claims taken over whose send is not journalled
        self._unreleased: set[str] = set()
        self._releasing: asyncio.Task[None] | None = None
        self._keeper = Keeper(
            what="claims",
            holder=claims.holder,
            expiry=claims.expiry,
            renew=self._renew,
            sweep=self._look_for_dead,
        )
        self._sweeping = asyncio.Lock()
        self.taken_over = 0  # claims taken over from dead workers, for metrics and tests

    @property
    def holder(self) -> str:
        return self.claims.holder

    # -- the send path --------------------------------------------------------------------------

    async def reserve(self, client_id: str) -> None:
        """Claim a new send before it is journalled (raises if the database is gone)."""
        if not await self._reserves.put(client_id):
            raise LeaseLost(f"{client_id} is claimed by another worker: nothing was sent")

    async def _reserve_batch(self, ids: Sequence[str]) -> list[bool]:
        ours = self.claims.claim(self.scope, ids, LeaseState.RESERVED)
        return [i in ours for i in ids]

    async def confirm(self, tx: Transaction) -> None:
        """Confirm our claim on a journalled send before its bytes leave.

        While the database does not answer this waits, up to ``confirm_timeout``; then
        (or if the claim was taken over) the send is REJECTED, unsent, and this raises.
        """
        cid = str(tx.client_id)
        if not await self._confirm(tx):
            error = LeaseLost(
                f"{cid} was taken over by another worker before it was broadcast "
                "(this one missed its heartbeats); nothing was sent: send again"
            )
            await self._refuse(tx, error)
            raise error

    async def _confirm(self, tx: Transaction) -> bool:
        deadline = time.monotonic() + self.confirm_timeout
        delay = 0.05
        while True:
            try:
                return bool(await self._confirms.put(str(tx.client_id)))
            except JournalUnavailable as exc:
                if time.monotonic() + delay > deadline:
                    await self._refuse(tx, exc)
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    async def _confirm_batch(self, ids: Sequence[str]) -> list[bool]:
        ours = self.claims.confirm_claims(ids)
        return [i in ours for i in ids]

    async def still_ours(self, tx: Transaction) -> bool:
        """Whether we still hold ``tx``'s claim (before a re-sign: a new signature)."""
        return bool(await self._confirms.put(str(tx.client_id)))

    async def _refuse(self, tx: Transaction, error: ChainopsError) -> None:
        """A journalled send that never left: REJECTED, then its claim (if ours) ended."""
        tx.apply(TxUpdate(state=TxState.REJECTED, error=error, sequence=self._sequence()))
        try:
            await self._save(tx)
        except ChainopsError:
            # Unsaved, the journal still shows it open: the claim stays ``reserved``, so
            # nobody sends it, and whoever takes the claim over records it REJECTED.
            log.warning("%s: REJECTED not journalled; its claim is kept", tx.client_id)
            return
        self.release_soon(str(tx.client_id))

    def release_soon(self, client_id: str) -> None:
        """End our claim on a final send, with the others let go in the same turn."""
        self._unreleased.add(client_id)
        if self._releasing is None or self._releasing.done():
            self._releasing = asyncio.ensure_future(self._release_pending())

    async def _release_pending(self) -> None:
        await asyncio.sleep(0)  # one statement for every send finished in this turn
        ids, self._unreleased = self._unreleased, set()
        try:
            self.claims.release(ids)
        except JournalUnavailable:
            self._unreleased |= ids  # ended by the next heartbeat that reaches the database

    # -- heartbeat and takeover ----------------------------------------------------------------

    def start(self) -> None:
        """Start renewing our claims and watching for dead workers' ones."""
        self._keeper.start()

    async def stop(self, *, retire: bool = True) -> None:
        """Stop the keeper; ``retire``: let others take what we still claim at once."""
        await self._keeper.stop()
        if self._releasing is not None:
            await asyncio.wait([self._releasing])
        if retire:
            with contextlib.suppress(ChainopsError):
                if self._unreleased:
                    self.claims.release(self._unreleased)
                self.claims.retire()

    def _renew(self) -> None:
        self.claims.heartbeat()
        if self._unreleased:
            self.claims.release(self._unreleased)
            self._unreleased = set()

    async def _look_for_dead(self) -> None:
        if self._unwritten:
            await self._settle_unwritten()
        if self.claims.has_dead_claims(self.scope):
            await self.sweep()

    async def sweep(self) -> list[Transaction]:
        """Take over the claims of dead workers on this account; follow or settle their sends."""
        if self._sweeping.locked():
            return []
        async with self._sweeping:
            return await self._take_over()

    async def _take_over(self) -> list[Transaction]:
        taken = self.claims.take_over_claims(self.scope)
        if not taken:
            return []
        log.info(
            "%s took over %d sends of %s",
            self.holder,
            len(taken),
            sorted({t.previous_holder for t in taken}),
        )
        self.taken_over += len(taken)
        return await self._settle(taken)

    async def _settle(self, taken: Iterable[TakenClaim]) -> list[Transaction]:
        follow: list[Transaction] = []
        for claim in taken:
            tx = self.journal.load(claim.client_id, Transaction)
            if tx is None:
                # Not journalled (yet: a worker back from a pause may still write it), so
                # the claim is kept: unclaimed, the send could be restored and broadcast.
                self._unwritten.add(claim.client_id)
            elif tx.is_terminal:
                self.release_soon(claim.client_id)
            elif claim.state is LeaseState.SENT:
                follow.append(tx)
            else:
                await self._reject_unsent(tx)
        await self._follow(follow)
        return follow

    async def _reject_unsent(self, tx: Transaction) -> None:
        """A send whose worker never confirmed its claim (now ours): it never left."""
        error = LeaseLost(
            f"{tx.client_id}: its worker stopped before broadcasting it; its claim was taken over"
        )
        await self._refuse(tx, error)

    async def _settle_unwritten(self) -> None:
        """Claims taken over before their send was journalled: settle any written since."""
        for cid in sorted(self._unwritten):
            tx = self.journal.load(cid, Transaction)
            if tx is None:
                continue
            self._unwritten.discard(cid)
            if tx.is_terminal:
                self.release_soon(cid)
            else:
                await self._reject_unsent(tx)  # ours, still reserved: its worker cannot send

    # -- restore --------------------------------------------------------------------------------

    async def restore(self, tracked: set[str]) -> list[Transaction]:
        """``restore()`` with other live workers: dead ones' sends, then unclaimed ones."""
        async with self._sweeping:
            restored = await self._take_over()
            skip = tracked | {str(tx.client_id) for tx in restored}
            open_txs = [
                op
                for op in self.journal.non_terminal(
                    kind="transaction", platform=self.platform, owner=self.owner
                )
                if isinstance(op, Transaction) and str(op.client_id) not in skip
            ]
            # what nobody claims is ours to follow; the rest is a live worker's, or ours
            # reserved (an unconfirmed send never left: it is not followed)
            ours = self.claims.claim(
                self.scope, (str(tx.client_id) for tx in open_txs), LeaseState.SENT
            )
            mine = [tx for tx in open_txs if str(tx.client_id) in ours]
            await self._follow(mine)
        return restored + mine
