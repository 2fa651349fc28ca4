"""One loop per operator: signature statuses, re-sends of the same bytes, expiry.

Each turn costs one block-height read and one ``getSignatureStatuses`` per 256
signatures *due* a look: those not landed yet (or only processed), and confirmed
ones waiting for finality once the height says they may be final; a confirmed
transaction is parked meanwhile, so a turn costs what can change, not what is
live. For every transaction due, it:

* maps the status onto the state machine: processed -> INCLUDED, confirmed ->
  CONFIRMED, finalized -> FINALIZED; a status carrying ``err`` is REVERTED (with
  the logs from ``getTransaction``) once confirmed, never CONFIRMED;
* with no status, re-sends the *same bytes* every ``resend_interval`` seconds
  (sends go out with node retries off, so this schedule is the only retry);
* with no status once the confirmed block height has passed the attempt's last
  valid block height, the attempt can never land: the operator decides (EXPIRED,
  or a deliberate re-sign when the policy allows it).

A turn runs when a transaction is registered and otherwise every ``poll_interval``.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from chainops.core.assets import Asset, Fee
from chainops.core.attempt import TxAttempt, TxReceipt
from chainops.core.errors import ChainopsError
from chainops.core.transaction import Transaction, TxState, TxUpdate
from chainops.operators.chain import MonitorLoop
from chainops.operators.solana.errors import TransactionFailed, describe_error
from chainops.operators.solana.messages import program_ids, signature_count
from chainops.operators.solana.programs import transaction_fee
from chainops.operators.solana.transport import SignatureStatus, SolanaTransport

log = logging.getLogger("chainops.solana.monitor")

Listener = Callable[[Transaction], None]
ExpiryHandler = Callable[[Transaction, int], Awaitable[None]]

STATUS_BATCH = 256  # getSignatureStatuses accepts at most 256 signatures per call
FINALITY_DEPTH = 32  # blocks on top of a confirmed one before it is rooted (finalized)
_MINED = (TxState.INCLUDED, TxState.CONFIRMED, TxState.FINALIZED)


def attempt_fee(native: Asset, attempt: TxAttempt, known: dict[int, Fee] | None = None) -> Fee:
    """What an attempt pays, landed or failed: base fee per signature + priority fee.

    ``known``: Fees already built, by lamports (a Fee is immutable).
    """
    lamports = transaction_fee(
        signature_count(attempt.raw),
        attempt.fee.compute_unit_price or 0,
        attempt.fee.compute_unit_limit or 0,
    )
    if known is None:
        return Fee.from_raw(native, lamports)
    fee = known.get(lamports)
    if fee is None:
        if len(known) >= _FEES_KEPT:
            known.clear()
        fee = known[lamports] = Fee.from_raw(native, lamports)
    return fee


# A burst pays a handful of distinct fees: each Fee (a Decimal and its checks) is built once.
_FEES_KEPT = 256


class SignatureMonitor(MonitorLoop):
    """Follows live Solana transactions to a commitment level, EXPIRED or REVERTED."""

    def __init__(
        self,
        transport: SolanaTransport,
        native: Asset,
        *,
        track_finality: bool,
        poll_interval: float,
        resend_interval: float,
        on_change: Listener,
        on_expired: ExpiryHandler,
        send: Callable[[Transaction, TxAttempt], Awaitable[None]],
    ) -> None:
        super().__init__(poll_interval, log)
        self._transport = transport
        self._native = native
        self.track_finality = track_finality
        self.resend_interval = resend_interval
        self._on_change = on_change
        self._on_expired = on_expired
        self._send = send
        self._due: dict[str, Transaction] = {}  # looked at every turn
        self._parked: list[tuple[int, str]] = []  # (height to look again, client id)
        self._signatures: set[str] = set()  # every attempt of every live transaction
        self._last_sent: dict[str, float] = {}
        self._fees: dict[int, Fee] = {}  # by lamports, see attempt_fee
        self.height: int | None = None
        self.resends = 0
        # Told of every signature followed (a PubSub subscriber wakes the loop on landing).
        self.on_signature: Callable[[str], None] | None = None

    def track(self, tx: Transaction) -> None:
        cid = str(tx.client_id)
        if self._live.get(cid) is not tx:
            self._live[cid] = tx
            self._due[cid] = tx
            self._signatures.update(str(a.hash) for a in tx.attempts)
            if self.on_signature is not None:
                for attempt in tx.attempts:
                    self.on_signature(str(attempt.hash))
        self._wake.set()

    def has_signature(self, signature: str) -> bool:
        """Whether an attempt of a live transaction carries ``signature``."""
        return signature in self._signatures

    def sent(self, tx: Transaction) -> None:
        """Note that ``tx``'s latest bytes just went out (restarts the re-send clock)."""
        self._last_sent[str(tx.client_id)] = time.monotonic()
        latest = tx.latest_attempt
        if latest is not None:
            self._signatures.add(str(latest.hash))
            if self.on_signature is not None:
                self.on_signature(str(latest.hash))

    def resend_clock(self, tx: Transaction) -> None:
        """Restart ``tx``'s re-send clock (its latest bytes just finished going out)."""
        self._last_sent[str(tx.client_id)] = time.monotonic()

    async def turn(self) -> None:
        """One look at the cluster for every live transaction due one."""
        if not self._live:
            return
        # Height first: a status read after it can only be newer, so "no status and
        # height past the last valid one" proves the attempt can never land.
        height = await self._transport.block_height("confirmed")
        self.height = height
        parked = self._parked
        while parked and parked[0][0] <= height:
            cid = heapq.heappop(parked)[1]
            tx = self._live.get(cid)
            if tx is not None:
                self._due[cid] = tx
        txs = list(self._due.values())
        if not txs:
            return
        pairs = [(tx, str(a.hash)) for tx in txs for a in tx.attempts]
        chunks = [pairs[i : i + STATUS_BATCH] for i in range(0, len(pairs), STATUS_BATCH)]
        if len(chunks) == 1:  # one request: no task to gather it in
            replies = [await self._transport.signature_statuses([sig for _, sig in pairs])]
        else:
            replies = await asyncio.gather(
                *[self._transport.signature_statuses([sig for _, sig in c]) for c in chunks]
            )
        self.turns += 1
        found: dict[str, tuple[str, SignatureStatus]] = {}
        for chunk, statuses in zip(chunks, replies, strict=True):
            for (tx, sig), status in zip(chunk, statuses, strict=True):
                if status is not None:
                    found[str(tx.client_id)] = (sig, status)
        now = time.monotonic()
        for tx in txs:
            seen = found.get(str(tx.client_id))
            try:
                if seen is not None and seen[1].err is None:
                    # the common case, landed without error: nothing to await
                    before = (tx.state, tx.confirmations)
                    self._observe(tx, seen[0], seen[1])
                    self._after(tx, seen, height, before)
                else:
                    await self._update(tx, seen, height, now)
            except ChainopsError:
                self.errors += 1
                log.warning("solana monitor: update of %s failed", tx.client_id, exc_info=True)

    async def _update(
        self, tx: Transaction, seen: tuple[str, SignatureStatus] | None, height: int, now: float
    ) -> None:
        cid = str(tx.client_id)
        before = (tx.state, tx.confirmations)
        if seen is not None:
            await self._landed(tx, *seen)
        elif tx.state in _MINED:
            # Processed on a fork that lost: it is back to waiting (same bytes, same id).
            tx.apply(TxUpdate(state=TxState.BROADCAST, sequence=self.sequence(), reason="forked"))
        elif not tx.is_terminal:
            attempt = tx.latest_attempt
            assert attempt is not None
            last_valid = attempt.last_valid_block_height
            if last_valid is not None and height > last_valid:
                await self._on_expired(tx, height)
            elif now - self._last_sent.get(cid, 0.0) >= self.resend_interval:
                self._last_sent[cid] = now
                self.resends += 1
                await self._send(tx, attempt)
        self._after(tx, seen, height, before)

    def _after(
        self,
        tx: Transaction,
        seen: tuple[str, SignatureStatus] | None,
        height: int,
        before: tuple[TxState, int],
    ) -> None:
        """Stop following, park until it may be final, and tell the operator of a change."""
        state, terminal = tx.state, tx.is_terminal
        if terminal or (state is TxState.CONFIRMED and not self.track_finality):
            self.forget(tx)
        elif state is TxState.CONFIRMED and seen is not None:
            # Confirmed is not rolled back in practice: look again when it may be final.
            depth = seen[1].confirmations or 0
            cid = str(tx.client_id)
            heapq.heappush(self._parked, (height + max(1, FINALITY_DEPTH - depth), cid))
            self._due.pop(cid, None)
        if terminal or (state, tx.confirmations) != before:
            self._on_change(tx)

    async def _landed(self, tx: Transaction, signature: str, status: SignatureStatus) -> None:
        """A status was found: a failure that is confirmed fetches its logs first."""
        if status.err is None or status.commitment == "processed":
            self._observe(tx, signature, status)
            return
        if tx.state is TxState.REVERTED and tx.receipt is not None:
            self._observe(tx, signature, status)  # known already: at most a new depth
            return
        attempt = tx.find_attempt(signature)
        details = await self._transport.landed_details(signature)
        logs = details.logs if details is not None else ()
        reason = describe_error(status.err, program_ids(attempt.raw))
        error = TransactionFailed(
            f"{tx.client_id} ({signature}) failed: {reason}"
            + ("\n" + "\n".join(logs) if logs else ""),
            err=status.err,
            logs=logs,
        )
        units = details.units_consumed if details is not None else None
        self._observe(tx, signature, status, error, units)

    def _observe(
        self,
        tx: Transaction,
        signature: str,
        status: SignatureStatus,
        error: BaseException | None = None,
        units: int | None = None,
    ) -> None:
        """Apply a found status (``error``, ``units``: a confirmed failure's, fetched)."""
        attempt = tx.find_attempt(signature)
        failed = status.err is not None
        commitment = status.commitment
        if failed and commitment != "processed":
            state = TxState.REVERTED
        elif commitment == "finalized" and not failed:
            state = TxState.FINALIZED
        elif commitment == "confirmed" and not failed:
            state = TxState.CONFIRMED
        else:
            state = TxState.INCLUDED
        if state is tx.state and tx.receipt is not None:
            depth = status.confirmations if status.confirmations is not None else 32
            if depth != tx.confirmations:
                tx.apply(TxUpdate(confirmations=depth, sequence=self.sequence()))
            return
        reason = describe_error(status.err, program_ids(attempt.raw)) if failed else None
        receipt = TxReceipt(
            transaction_hash=attempt.hash,
            block_number=status.slot,
            status=0 if failed else 1,
            gas_used=units,
            revert_reason=reason,
        )
        tx.apply(
            TxUpdate(
                state=state if state is not tx.state else None,
                receipt=receipt if receipt != tx.receipt else None,
                confirmations=status.confirmations if status.confirmations is not None else 32,
                fee=attempt_fee(self._native, attempt, self._fees),
                error=error,
                sequence=self.sequence(),
            )
        )

    def forget(self, tx: Transaction) -> None:
        cid = str(tx.client_id)
        if self._drop(cid) is not None:
            self._signatures.difference_update(str(a.hash) for a in tx.attempts)
        self._due.pop(cid, None)
        self._last_sent.pop(cid, None)

    def stats(self) -> dict[str, Any]:
        return {"turns": self.turns, "errors": self.errors, "resends": self.resends}
