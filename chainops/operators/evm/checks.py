"""The operator's own arguments, checked before anything is reserved, signed or sent.

Each check raises a :class:`ValidationError` naming the argument: a ``deadline``,
a ``block`` tag, replacement ``fees``, a transaction handed to speed-up or cancel
(it must be one this operator sends and follows), an explicit fee below the base fee.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from chainops.core.attempt import FeeParams
from chainops.core.durations import check_seconds
from chainops.core.errors import ValidationError
from chainops.core.transaction import Transaction, TxState

BLOCK_TAGS = ("latest", "pending", "earliest", "safe", "finalized")
_QUANTITY = re.compile(r"0x[0-9a-fA-F]{1,63}")
_BLOCK_HASH = re.compile(r"0x[0-9a-fA-F]{64}")


def check_deadline(deadline: object) -> float | None:
    """``deadline`` seconds from now: None, or a positive finite number."""
    return None if deadline is None else check_seconds(deadline, "deadline")


def block_param(block: object) -> str | dict[str, str]:
    """The JSON-RPC block parameter for ``block``: a number >= 0, a tag, a 0x quantity, or
    a 32-byte block hash (sent as EIP-1898 ``{"blockHash": ...}``)."""
    if isinstance(block, int) and not isinstance(block, bool) and block >= 0:
        return hex(block)
    if isinstance(block, str):
        if block.lower() in BLOCK_TAGS:
            return block.lower()
        if _BLOCK_HASH.fullmatch(block):
            return {"blockHash": block}
        if _QUANTITY.fullmatch(block):
            return hex(int(block, 16))
    raise ValidationError(
        f"block must be an int >= 0, one of {', '.join(BLOCK_TAGS)}, a 0x hex number "
        f"or a 32-byte block hash, got {block!r}"
    )


def check_fees(fees: object) -> FeeParams | None:
    """Replacement fees: None (priced from the market) or EVM :class:`FeeParams`."""
    if fees is None:
        return None
    if not isinstance(fees, FeeParams):
        raise ValidationError(f"fees must be FeeParams or None, got {type(fees).__name__}")
    if fees.gas_price is None and not fees.is_eip1559:
        raise ValidationError("fees must set gas_price or both EIP-1559 fields")
    return fees


def check_sender(tx: object, sender: str) -> Transaction:
    """``tx`` if it is a Transaction sent from ``sender``."""
    if not isinstance(tx, Transaction):
        raise ValidationError(f"expected a Transaction, got {type(tx).__name__}")
    if str(tx.sender).lower() != sender.lower():
        raise ValidationError(
            f"{tx.client_id} is not a transaction of this operator's account: it is sent "
            f"from {tx.sender}, this operator sends from {sender}; nothing was signed or sent"
        )
    return tx


def own_transaction(
    tx: object,
    *,
    sender: str,
    platform: str,
    following: Callable[[str], Transaction | None],
) -> Transaction:
    """The transaction this operator follows for ``tx`` (same sender, same chain).

    One no longer pending is returned as given (its replacement is refused by its state).
    """
    tx = check_sender(tx, sender)
    if tx.platform != platform:
        raise ValidationError(
            f"{tx.client_id} is not a transaction of this operator's account on {platform}: "
            f"it is on {tx.platform}; nothing was signed or sent"
        )
    tracked = following(str(tx.client_id))
    if tracked is not None:
        return tracked
    if tx.state not in (TxState.SIGNED, TxState.BROADCAST):
        return tx
    raise ValidationError(
        f"{tx.client_id} is not a transaction of this operator's account that it follows "
        "(a pending transaction of an earlier run is adopted by restore()); "
        "nothing was signed or sent"
    )


def check_above_base_fee(fees: FeeParams, base_fee: int, chain: str) -> None:
    """An explicit fee cap below the next block's base fee would only be refused."""
    cap, what = (
        (fees.max_fee_per_gas, "max_fee_per_gas")
        if fees.is_eip1559
        else (fees.gas_price, "gas_price")
    )
    if cap is not None and cap < base_fee:
        raise ValidationError(
            f"{what} {cap} wei is below the current base fee of {chain} ({base_fee} wei): "
            "the node would refuse it; nothing was sent"
        )
