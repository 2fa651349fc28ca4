"""Signing a request again: a foreign transaction took its nonce, or its bytes were refused."""

from __future__ import annotations

from chainops.core.attempt import FeeParams
from chainops.core.errors import NonceError

# A request identical to an earlier refused one (same call, nonce and fees) signs to the
# same bytes; one wei more on the fee makes it a new transaction for the journal.
MAX_NUDGES = 8


class NonceTaken(NonceError):
    """The nonce was taken by a transaction outside this operator before ours went out.

    Nothing of ours reached the node; the allocator has been resynced past it, so the
    same request can be sent again at once (``EvmOperator.send`` does so once).
    """


def nudged(fees: FeeParams) -> FeeParams:
    """``fees`` one wei higher (tip and cap, or gas price)."""
    if fees.gas_price is not None:
        return FeeParams(gas_price=fees.gas_price + 1)
    assert fees.max_fee_per_gas is not None and fees.max_priority_fee_per_gas is not None
    return FeeParams(
        max_fee_per_gas=fees.max_fee_per_gas + 1,
        max_priority_fee_per_gas=fees.max_priority_fee_per_gas + 1,
    )
