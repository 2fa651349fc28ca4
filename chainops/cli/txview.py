"""Journalled EVM transactions as the CLI finds, shows and follows them."""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chainops.config import Network
    from chainops.core.journal import Journal
    from chainops.core.transaction import Transaction

# how often `tx wait --confirmations N` asks the node for its head (a block is >= 1 s)
DEPTH_POLL_SECONDS = 0.5


def tx_summary(tx: Transaction, net: Network | None = None) -> dict[str, Any]:
    """The fields of a transaction a user and a script look at."""
    winner = tx.winner
    receipt = tx.receipt
    summary: dict[str, Any] = {
        "client_id": str(tx.client_id),
        "hash": None if tx.hash is None else str(tx.hash),
        "state": tx.state.name,
        "chain": tx.platform,
        "sender": str(tx.sender),
        "to": None if tx.to is None else str(tx.to),
        "value_wei": tx.value,
        "nonce": tx.nonce,
        "attempts": [
            {"index": a.index, "kind": a.kind.name, "hash": str(a.hash)} for a in tx.attempts
        ],
        "winner": None if winner is None else winner.index,
        "block": None if receipt is None else receipt.block_number,
        "confirmations": tx.confirmations,
        "error": None if tx.error is None else str(tx.error.message),
        "created_at": tx.created_at.isoformat(),
    }
    if net is not None and tx.hash is not None:
        base = net.explorer_url
        summary["explorer"] = f"{base.rstrip('/')}/tx/{tx.hash}" if base else None
    return summary


def find_tx(journal: Journal, ref: str) -> Transaction:
    """A journalled transaction by client id or by the hash of any attempt."""
    from chainops.core.errors import InvalidIdentifier, NotFound
    from chainops.core.ids import TxHash
    from chainops.core.transaction import Transaction

    ref = ref.strip()
    found = journal.load(ref, Transaction)
    if found is None:
        # An EVM hash in any case (0X…, upper-case digits) is journalled in lower case;
        # a Solana signature, or no hash at all, is looked up as given.
        with contextlib.suppress(InvalidIdentifier):
            ref = str(TxHash(ref))
        by_hash = journal.find_by_venue_id(ref)
        found = by_hash if isinstance(by_hash, Transaction) else None
    if found is None:
        raise NotFound(f"no transaction {ref!r} in the journal {getattr(journal, 'path', '')}")
    return found


async def receipts(net: Network, tx: Transaction) -> dict[str, Any]:
    """Receipts of every attempt, straight from the node (read-only)."""
    from chainops.operators.evm.rpc import JsonRpcClient

    rpc = JsonRpcClient(net.rpc_urls, timeout=10.0, read_retries=1)
    try:
        head = int(await rpc.call("eth_blockNumber", []), 16)
        for attempt in tx.attempts:
            receipt = await rpc.call("eth_getTransactionReceipt", [str(attempt.hash)])
            if receipt:
                block = int(receipt["blockNumber"], 16)
                return {
                    "mined": True,
                    "attempt": attempt.index,
                    "hash": str(attempt.hash),
                    "status": int(receipt["status"], 16),
                    "block": block,
                    "confirmations": head - block + 1,
                }
        return {"mined": False, "head": head}
    finally:
        await rpc.close()


async def wait_depth(net: Network, tx: Transaction, depth: int, timeout: float) -> int:
    """Wait until a mined ``tx`` is ``depth`` blocks deep; UnknownOutcome at the timeout.

    The node is asked directly: the journal's count stops when the sender's operator does.
    """
    import asyncio

    from chainops.core.errors import Rejected, UnknownOutcome

    deadline = time.monotonic() + timeout
    while True:
        seen = await receipts(net, tx)
        if not seen["mined"]:
            raise Rejected(f"{tx.client_id} is no longer in a block (reorganised?): run tx status")
        if seen["confirmations"] >= depth:
            return int(seen["confirmations"])
        if time.monotonic() >= deadline:
            raise UnknownOutcome(
                f"{tx.client_id} has {seen['confirmations']} of {depth} confirmations after "
                f"{timeout:g}s: not failed, just not deep enough yet"
            )
        await asyncio.sleep(min(DEPTH_POLL_SECONDS, max(deadline - time.monotonic(), 0.01)))
