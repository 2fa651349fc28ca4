"""Does the node hold the history the journal records? Checked before a restore acts.

A journal reused on a reset node, or on another chain with the same id (a
restarted Anvil, a second fork), records as confirmed transactions the node
has never seen. Restoring would take them for reorged out and re-send their
bytes, replaying old transfers on the new chain, and fill their nonces with
self-transfers. The operator refuses them or sets them aside instead, before it
sends anything.

The journal's confirmed transaction with the highest nonce at or above the
node's nonce count is the witness. A node that lacks it and has mined past its
block, with another block there, has another history. A node below that
block may only be behind: a local chain never is, any other gets ``wait``
seconds to reach it. :func:`missing_history` says why the node lacks it (or
None); the operator decides what follows (see ``EvmOperator.restore``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

from chainops.core.transaction import Transaction, TxState
from chainops.operators.evm.parts import NodeRpc

__all__ = ["OWN_JOURNAL", "missing_history"]

POLL_S = 1.0  # how often a node below the witness's block is asked for its head
OWN_JOURNAL = "Nothing was sent: give this chain a journal of its own (another journal_path)."


async def missing_history(
    rpc: NodeRpc,
    journalled: Iterable[Transaction],
    nonce_count: int,
    *,
    chain_id: int,
    local: bool,
    wait: float = 10.0,
) -> str | None:
    """Why the node lacks what the journal says it mined, or None when it does not.

    ``nonce_count``: the node's nonce count for the account (a confirmed nonce below
    it is consistent with the node, whatever block holds it).
    """
    witness = _witness(journalled, nonce_count)
    if witness is None:
        return None
    receipt = witness.receipt
    assert receipt is not None and witness.nonce is not None  # CONFIRMED: mined, nonced
    if await rpc.call("eth_getTransactionReceipt", [str(receipt.transaction_hash)]) is not None:
        return None  # the node has it: its nonce count was only stale
    block = receipt.block_number
    deadline = time.monotonic() + (0.0 if local else wait)
    while True:
        head = int(await rpc.call("eth_blockNumber", []), 16)
        if head >= block:
            found: dict[str, Any] | None = await rpc.call(
                "eth_getBlockByNumber", [hex(block), False]
            )
            theirs = None if found is None else found.get("hash")
            if receipt.block_hash is not None and str(theirs).lower() == receipt.block_hash.lower():
                return None  # the same block: not another history (the monitor sorts the rest)
            reason = f"holds another block at that height ({theirs})"
            break
        if time.monotonic() >= deadline:
            reason = f"is at block {head}, below it" + ("" if local else f" after {wait:g} s")
            break
        await asyncio.sleep(POLL_S)
    return (
        f"the journal records {witness.client_id} of {witness.sender} as confirmed at nonce "
        f"{witness.nonce} in block {block}, which this node does not have: it {reason}, and "
        f"its nonce count for the account is {nonce_count}. The node was reset, or it is "
        f"another chain with the same id ({chain_id}){'' if local else ', or far behind'}."
    )


def _witness(journalled: Iterable[Transaction], nonce_count: int) -> Transaction | None:
    """The confirmed transaction with the highest nonce the node's count does not cover."""
    best: Transaction | None = None
    top = nonce_count - 1
    for tx in journalled:
        nonce = tx.nonce
        mined = tx.state is TxState.CONFIRMED and tx.receipt is not None
        if mined and nonce is not None and nonce > top:
            best, top = tx, nonce
    return best
