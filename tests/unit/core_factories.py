"""Builders of valid operations for the core unit tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from eth_utils.crypto import keccak

from chainops.core.assets import Asset, Fee
from chainops.core.attempt import FeeParams, TxAttempt, TxReceipt
from chainops.core.ids import b58encode
from chainops.core.operation import Operation
from chainops.core.order import Fill, Order
from chainops.core.transaction import Transaction

SENDER = "0x" + "11" * 20
RECIPIENT = "0x" + "22" * 20
SOL_SENDER = b58encode(b"\x05" * 32)
USDT = Asset("USDT", 6)
BNB = Asset("BNB", 8)
ETH = Asset("ETH", 18)
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make_order(client_id: str = "o1", **kw: Any) -> Order:
    args: dict[str, Any] = {
        "client_id": client_id,
        "platform": "binance",
        "owner": "acct-1",
        "trading_pair": "ETH-USDT",
        "side": "BUY",
        "order_type": "LIMIT",
        "amount": Decimal("1"),
        "price": Decimal("2000"),
        "created_at": T0,
    }
    args.update(kw)
    return Order(**args)


def make_fill(n: int, base: str = "0.25", price: str = "2000", fee: bool = True) -> Fill:
    b, p = Decimal(base), Decimal(price)
    return Fill(
        fill_id=f"t{n}",
        price=p,
        base_amount=b,
        quote_amount=b * p,
        fee=Fee(BNB, Decimal("0.0001")) if fee else None,
        timestamp=at(n),
    )


def make_tx(client_id: str = "tx1", **kw: Any) -> Transaction:
    args: dict[str, Any] = {
        "client_id": client_id,
        "platform": "anvil",
        "sender": SENDER,
        "to": RECIPIENT,
        "value": 10**18,
        "data": b"\x01\x02",
        "gas_limit": 21_000,
        "nonce": 7,
        "created_at": T0,
    }
    args.update(kw)
    return Transaction(**args)


def raw_tx(seed: int) -> bytes:
    return b"\x02" + hashlib.sha256(seed.to_bytes(8, "big")).digest()


def make_attempt(
    index: int = 0, *, nonce: int | None = 7, seed: int | None = None, **kw: Any
) -> TxAttempt:
    raw = raw_tx(index if seed is None else seed)
    fee = FeeParams(max_fee_per_gas=100 + index, max_priority_fee_per_gas=2 + index)
    return TxAttempt(
        index=index, hash=keccak(raw), raw=raw, nonce=nonce, fee=fee, created_at=at(index), **kw
    )


def solana_attempt(index: int = 0, blockhash: str | None = None) -> TxAttempt:
    sig = hashlib.sha512(index.to_bytes(4, "big")).digest()
    raw = b"\x01" + sig + b"message-bytes"
    return TxAttempt(
        index=index,
        hash=b58encode(sig),
        raw=raw,
        blockhash=blockhash or b58encode(b"\x09" * 32),
        last_valid_block_height=1000 + index,
        created_at=at(index),
    )


def make_receipt(attempt: TxAttempt, *, block: int = 100, status: int = 1) -> TxReceipt:
    return TxReceipt(
        transaction_hash=attempt.hash,
        block_number=block,
        block_hash="0x" + f"{block:064x}",
        status=status,
        gas_used=21_000,
        effective_gas_price=10**9,
        revert_reason=None if status else "STF",
    )


def force_state(op: Operation[Any], state: Any) -> None:
    """Put an operation straight into a state (test set-up only)."""
    op._state = state


class _Never:
    """A wait's judge that never settles (``Waiters.until`` then ends by stall or timeout)."""

    def is_settled(self, tx: Transaction, need: object) -> bool:
        return False

    def pending_text(self, tx: Transaction, need: object) -> str:
        return "pending"

    def outcome(self, tx: Transaction) -> Transaction:
        return tx


NEVER = _Never()
