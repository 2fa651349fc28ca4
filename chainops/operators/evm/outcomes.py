"""What ``tx.wait()`` returns or raises for an EVM transaction, and when it returns."""

from __future__ import annotations

from chainops.core.attempt import AttemptKind
from chainops.core.errors import Rejected, Reverted
from chainops.core.transaction import Transaction, TxState

__all__ = ["MINED_OK", "is_settled", "outcome"]

MINED_OK = (TxState.INCLUDED, TxState.CONFIRMED, TxState.FINALIZED)


def is_settled(tx: Transaction, need: int) -> bool:
    """Mined ``need`` blocks deep, or ended otherwise."""
    return tx.confirmations >= need if tx.state in MINED_OK else tx.is_terminal


def outcome(tx: Transaction) -> Transaction:
    """``tx`` when it mined; REVERTED raises Reverted (with the reason); a mined cancel
    raises Rejected; REJECTED/REPLACED/DROPPED/EXPIRED raise their recorded error."""
    if tx.state in MINED_OK:
        winner = tx.winner
        if winner is not None and winner.kind is AttemptKind.CANCEL:
            raise Rejected(f"{tx.client_id} was canceled: its cancel attempt {winner.hash} mined")
        return tx
    if tx.state is TxState.REVERTED:
        reason = tx.receipt.revert_reason if tx.receipt else None
        raise Reverted(f"{tx.client_id} ({tx.hash}) reverted: {reason}", reason=reason)
    error = tx.error.to_exception() if tx.error is not None else None
    raise error or Rejected(f"{tx.client_id} ended {tx.state.name}")
