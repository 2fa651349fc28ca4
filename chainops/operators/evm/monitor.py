"""One block-driven loop per operator that follows every live transaction.

Each turn costs one JSON-RPC batch: the head block number, the ``finalized``
block when something waits for finality, the nonce count at ``latest`` of each
account with an unmined transaction, and the receipt of every attempt of every
live transaction. A transaction looked at before whose nonce the account had not
used at the last count is not asked again (none of its attempts can be mined:
on a chain with 12-second blocks that is most turns' lookups, for nothing); when
the count passes it, the next turn follows at once. A turn runs when a new
transaction is registered or its first broadcast is answered (under automine its
receipt then exists) and otherwise every ``poll_interval`` seconds, so an idle
operator costs one small request per interval and nothing when no transaction is
live.

Confirmations count depth (head - block + 1). FINALIZED comes only from a
``finalized`` block behind the head: Hardhat and Ganache answer the tag with the
latest block, which says nothing about finality; on such a node (and on one that
refuses the tag) finality is not tracked and depth alone settles a transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from chainops.core.assets import Asset, Fee
from chainops.core.attempt import TxReceipt
from chainops.core.errors import RpcPermanentError
from chainops.core.ids import TxHash
from chainops.core.transaction import Transaction, TxState, TxUpdate
from chainops.operators.chain import MonitorLoop

log = logging.getLogger("chainops.evm.monitor")

Batch = Callable[[list[tuple[str, list[Any]]]], Awaitable[list[Any]]]
RevertReason = Callable[[Transaction, dict[str, Any]], Awaitable[str | None]]
Listener = Callable[[Transaction], Awaitable[None]]

# A turn applies its receipts in slices, the event loop free in between: a send batch
# answered meanwhile gets its successor to the node at once, not after hundreds of them.
RECEIPTS_PER_SLICE = 64

_MINED = (TxState.INCLUDED, TxState.CONFIRMED, TxState.FINALIZED, TxState.REVERTED)
_UNMINED = (TxState.SIGNED, TxState.BROADCAST)


def receipt_from_json(data: dict[str, Any], reason: str | None = None) -> TxReceipt:
    """Our receipt summary from a raw ``eth_getTransactionReceipt`` result."""
    contract = data.get("contractAddress")
    return TxReceipt(
        transaction_hash=TxHash(data["transactionHash"]),
        block_number=int(data["blockNumber"], 16),
        block_hash=data["blockHash"],
        transaction_index=int(data["transactionIndex"], 16),
        status=int(data["status"], 16),
        gas_used=int(data["gasUsed"], 16),
        effective_gas_price=int(data.get("effectiveGasPrice") or "0x0", 16),
        contract_address=contract,
        revert_reason=reason,
    )


class BlockMonitor(MonitorLoop):
    """Follows live transactions to CONFIRMED / FINALIZED / REVERTED, or back on a reorg."""

    def __init__(
        self,
        batch: Batch,
        native: Asset,
        *,
        confirmations: int,
        track_finality: bool,
        poll_interval: float,
        revert_reason: RevertReason,
        on_change: Listener,
    ) -> None:
        super().__init__(poll_interval, log)
        self._batch = batch
        self._native = native
        self.confirmations = max(1, confirmations)
        self.track_finality = track_finality
        self._revert_reason = revert_reason
        self._on_change = on_change
        self.head: int | None = None
        self.finalized: int | None = None
        # True once the node showed its `finalized` tag means nothing (latest, or refused).
        self.finality_untracked = False
        self._depth_wanted: dict[str, int] = {}  # client id -> depth a waiter needs
        # First broadcasts under way: the send's answer decides, a receipt cannot exist yet.
        self.sending: set[str] = set()
        # Called after every turn with the transactions still pending (the watchdog).
        self.on_turn: Callable[[list[Transaction]], Awaitable[None]] | None = None
        # sender -> its nonce count at `latest`, as the last turn read it
        self._counts: dict[str, int] = {}
        self._looked: set[str] = set()  # client ids asked for a receipt at least once

    @property
    def tracks_finality(self) -> bool:
        return self.track_finality and not self.finality_untracked

    def follow_depth(self, tx: Transaction, depth: int) -> None:
        """Keep following ``tx`` until it is ``depth`` blocks deep (a waiter needs it),
        even past CONFIRMED or FINALIZED."""
        if tx.is_terminal and not _counts_depth(tx):
            return
        cid = str(tx.client_id)
        if tx.confirmations < depth:
            self._depth_wanted[cid] = max(depth, self._depth_wanted.get(cid, 0))
        self.track(tx)
        self.wake()

    def _finality(self, block: Any) -> None:
        head = self.head or 0
        if isinstance(block, dict) and block.get("number"):
            final = int(block["number"], 16)
            if final < head or head == 0:
                self.finalized = final
                return
        elif not isinstance(block, RpcPermanentError):
            return  # no answer this turn: keep what we knew
        self.finalized = None
        if not self.finality_untracked:
            self.finality_untracked = True
            log.warning(
                "the node answers `finalized` with %s: finality is not tracked, "
                "confirmations count depth only",
                "the latest block" if isinstance(block, dict) else f"an error ({block})",
            )

    async def turn(self) -> None:
        """One look at the chain for every live transaction (but those being sent)."""
        sending = self.sending
        txs = [tx for cid, tx in self._live.items() if cid not in sending]
        calls: list[tuple[str, list[Any]]] = [("eth_blockNumber", [])]
        need_final = self.tracks_finality and any(
            tx.state in (TxState.CONFIRMED, TxState.INCLUDED) for tx in txs
        )
        if need_final:
            calls.append(("eth_getBlockByNumber", ["finalized", False]))
        unmined = [tx for tx in txs if tx.state in _UNMINED and tx.nonce is not None]
        senders = sorted({str(tx.sender) for tx in unmined})
        calls += [("eth_getTransactionCount", [sender, "latest"]) for sender in senders]
        looked = self._looked
        waiting = {id(tx) for tx in unmined if str(tx.client_id) in looked and self._unused(tx)}
        # Every attempt, broadcast or not: after a crash we may not know which one went out.
        hashes = [(tx, str(a.hash)) for tx in txs if id(tx) not in waiting for a in tx.attempts]
        calls += [("eth_getTransactionReceipt", [h]) for _, h in hashes]
        results = await self._batch(calls)
        self.turns += 1
        head = results[0]
        if isinstance(head, Exception):
            raise head
        self.head = int(head, 16)
        offset = 1
        if need_final:
            self._finality(results[1])
            offset = 2
        counted = [self._counts.get(sender) for sender in senders]
        self._note_counts(senders, results[offset : offset + len(senders)])
        offset += len(senders)
        # senders whose count moved since the last turn: the node is mining them right now
        mining = {
            sender
            for sender, before in zip(senders, counted, strict=True)
            if before is not None and self._counts.get(sender, before) > before
        }
        found: dict[str, dict[str, Any]] = {}
        for (tx, _), receipt in zip(hashes, results[offset:], strict=True):
            if isinstance(receipt, dict):
                found[str(tx.client_id)] = receipt
        applied = 0
        for tx in txs:
            if id(tx) not in waiting:
                looked.add(str(tx.client_id))
                await self._update(tx, found.get(str(tx.client_id)))
                applied += 1
                if applied % RECEIPTS_PER_SLICE == 0:
                    await asyncio.sleep(0)
        if any(not self._unused(tx) for tx in unmined if id(tx) in waiting):
            self.wake()  # the account used a nonce not asked about: a receipt may exist now
        elif mining and any(
            tx.state in _UNMINED and str(tx.sender) in mining
            for tx in unmined
            if id(tx) not in waiting
        ):
            # asked a moment too early (an automining node works through a batch): look
            # again now, not a poll interval later; they wait on the count from here on
            self.wake()
        if self.on_turn is not None:
            pending = [tx for tx in txs if tx.state in _UNMINED]
            if pending:
                await self.on_turn(pending)

    def _drop(self, client_id: str) -> Transaction | None:
        self._looked.discard(client_id)
        return super()._drop(client_id)

    def mined_count(self, sender: str) -> int | None:
        """``sender``'s nonce count at ``latest`` as the last turn read it (None: unknown)."""
        return self._counts.get(sender)

    def _unused(self, tx: Transaction) -> bool:
        """True when the last count of ``tx``'s sender showed its nonce unused (not mined)."""
        count = self._counts.get(str(tx.sender))
        return count is not None and tx.nonce is not None and tx.nonce >= count

    def _note_counts(self, senders: list[str], answers: list[Any]) -> None:
        for sender, answer in zip(senders, answers, strict=True):
            if isinstance(answer, str):
                self._counts[sender] = int(answer, 16)
            else:  # no answer: ask every receipt until a count comes back
                self._counts.pop(sender, None)
        for sender in self._counts.keys() - set(senders):
            del self._counts[sender]  # nothing of its unmined any more: the next count is fresh

    async def _update(self, tx: Transaction, raw: dict[str, Any] | None) -> None:
        before = (tx.state, tx.confirmations, tx.receipt)
        head = self.head
        assert head is not None
        seq = self.sequence()
        if raw is None:
            if tx.state in _MINED and tx.state is not TxState.REVERTED:
                # The block that held it is gone: back to the pool (same bytes, same hash).
                tx.apply(TxUpdate(state=TxState.BROADCAST, sequence=seq, reason="reorged out"))
        else:
            block = int(raw["blockNumber"], 16)
            depth = head - block + 1
            status = int(raw["status"], 16)
            reason = None
            if status == 0 and tx.state is not TxState.REVERTED:
                reason = await self._revert_reason(tx, raw)
            receipt = receipt_from_json(raw, reason if status == 0 else None)
            if status == 0:
                state = TxState.REVERTED
            elif (
                self.tracks_finality
                and self.finalized is not None
                and block <= self.finalized < head
            ):
                state = TxState.FINALIZED
            elif depth >= self.confirmations:
                state = TxState.CONFIRMED
            else:
                state = TxState.INCLUDED
            if tx.receipt is not None and tx.receipt.block_hash != receipt.block_hash:
                # Re-mined in another block after a reorg: the new receipt replaces the old.
                tx.apply(TxUpdate(state=TxState.BROADCAST, sequence=seq, reason="reorged"))
            gas = receipt.gas_used or 0
            fee = Fee.from_raw(self._native, gas * (receipt.effective_gas_price or 0))
            tx.apply(
                TxUpdate(
                    state=state if state is not tx.state else None,
                    receipt=receipt if receipt != tx.receipt else None,
                    confirmations=max(depth, 0),
                    fee=fee,
                    sequence=seq,
                )
            )
        cid = str(tx.client_id)
        settled = tx.is_terminal or (tx.state is TxState.CONFIRMED and not self.tracks_finality)
        deep = not _counts_depth(tx) or tx.confirmations >= self._depth_wanted.get(cid, 0)
        if settled and deep:
            self._drop(cid)
            self._depth_wanted.pop(cid, None)
        if (tx.state, tx.confirmations, tx.receipt) != before:
            await self._on_change(tx)


def _counts_depth(tx: Transaction) -> bool:
    """Mined and successful: its depth still grows with every block."""
    return tx.state in (TxState.INCLUDED, TxState.CONFIRMED, TxState.FINALIZED)
