"""Recovery on start: finish what the journal says is unfinished, fill burnt nonces.

After a crash a transaction may be signed but not sent, sent but not mined, or
mined while we were down. Every non-terminal transaction of the account is
looked up by the hashes of all its attempts; one the chain does not know is
re-sent with its journalled bytes. Nothing is rebuilt or re-signed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chainops.core.transaction import Transaction, TxState
from chainops.operators.evm.requests import TxRequest

if TYPE_CHECKING:
    from chainops.operators.evm.operator import EvmOperator

PLAIN_TRANSFER_GAS = 21_000


async def restore(op: EvmOperator) -> list[Transaction]:
    """Reconcile every non-terminal transaction of ``op``'s account left in the journal."""
    restored: list[Transaction] = []
    known: set[int] = set()
    tracked = {str(tx.client_id) for tx in op.monitor.live}
    for stored in op.journal.non_terminal(
        kind="transaction", platform=op.chain.name, owner=op.owner
    ):
        if not isinstance(stored, Transaction) or str(stored.client_id) in tracked:
            continue
        op.events.track(stored, announce=False)
        stored.bind(op)
        if stored.nonce is not None:
            await op.nonces.adopt(stored.nonce)
            known.add(stored.nonce)
        restored.append(stored)
    await fill_gaps(op, known)
    if not restored:
        return []
    for tx in restored:
        op.monitor.track(tx)
    await op.monitor.turn()  # receipts first: what was mined is only recorded
    for tx in restored:
        latest = tx.latest_attempt
        if tx.state in (TxState.SIGNED, TxState.BROADCAST) and latest is not None:
            await op.broadcast_attempt(tx, latest, restoring=True)
    return restored


async def fill_gaps(op: EvmOperator, known: set[int]) -> None:
    """Fill nonces reserved but never journalled (a crash between the two) with 0-value
    self-transfers: left empty, each blocks every later transaction of the account.

    Run at start, when no other process is mid-send for this account.
    """
    chain = await op.nonces.sync()
    for nonce in range(chain, op.nonces.high_water()):
        if nonce in known:
            continue
        await op.nonces.adopt(nonce)
        await fill_nonce(op, nonce)


async def fill_nonce(op: EvmOperator, nonce: int) -> Transaction:
    """Occupy ``nonce`` (already reserved or adopted) with a 0-value self-transfer."""
    request = TxRequest(to=op.signer.address)
    tx = await op.sign_and_journal(request, 0, PLAIN_TRANSFER_GAS, nonce)
    op.metrics.gap_fills += 1
    op.monitor.track(tx)
    assert tx.latest_attempt is not None
    await op.broadcast_attempt(tx, tx.latest_attempt, restoring=True)
    return tx
