"""Program ids and the instructions of the native programs we use (system, compute budget, memo).

Every id here is checked against the programs LiteSVM ships (tests/unit/test_solana_programs.py),
so a typo cannot survive. Instructions are built from their documented layouts:
the system program takes a little-endian u32 discriminant, the compute budget
program a one-byte one, the memo program takes its UTF-8 text as the whole data.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from typing import Final

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

__all__ = [
    "ATA_PROGRAM_ID",
    "COMPUTE_BUDGET_PROGRAM_ID",
    "LAMPORTS_PER_SIGNATURE",
    "MAX_COMPUTE_UNIT_LIMIT",
    "MEMO_PROGRAM_ID",
    "SYSTEM_PROGRAM_ID",
    "TOKEN_2022_PROGRAM_ID",
    "TOKEN_PROGRAM_ID",
    "create_account",
    "memo",
    "prioritization_fee",
    "set_compute_unit_limit",
    "set_compute_unit_price",
    "transaction_fee",
    "transfer",
]

SYSTEM_PROGRAM_ID: Final = Pubkey.from_string("11111111111111111111111111111111")
COMPUTE_BUDGET_PROGRAM_ID: Final = Pubkey.from_string("ComputeBudget111111111111111111111111111111")
MEMO_PROGRAM_ID: Final = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
TOKEN_PROGRAM_ID: Final = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TOKEN_2022_PROGRAM_ID: Final = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
ATA_PROGRAM_ID: Final = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")

# The base fee of every cluster since genesis; the runtime charges it per signature.
LAMPORTS_PER_SIGNATURE: Final = 5_000
# The runtime's ceiling for one transaction's compute budget.
MAX_COMPUTE_UNIT_LIMIT: Final = 1_400_000
_MICRO_LAMPORTS = 1_000_000

_SYSTEM_CREATE_ACCOUNT = 0
_SYSTEM_TRANSFER = 2
_CB_SET_LIMIT = 2
_CB_SET_PRICE = 3


def transfer(source: Pubkey, destination: Pubkey, lamports: int) -> Instruction:
    """System program Transfer: ``lamports`` from ``source`` (signs) to ``destination``."""
    return Instruction(
        SYSTEM_PROGRAM_ID,
        struct.pack("<IQ", _SYSTEM_TRANSFER, lamports),
        [AccountMeta(source, True, True), AccountMeta(destination, False, True)],
    )


def create_account(
    payer: Pubkey, new_account: Pubkey, lamports: int, space: int, owner: Pubkey
) -> Instruction:
    """System program CreateAccount: both ``payer`` and ``new_account`` sign."""
    return Instruction(
        SYSTEM_PROGRAM_ID,
        struct.pack("<IQQ", _SYSTEM_CREATE_ACCOUNT, lamports, space) + bytes(owner),
        [AccountMeta(payer, True, True), AccountMeta(new_account, True, True)],
    )


# Instructions are immutable: the few limits and prices a burst uses are built once each.
@lru_cache(maxsize=256)
def set_compute_unit_limit(units: int) -> Instruction:
    """Compute budget SetComputeUnitLimit (u32)."""
    return Instruction(COMPUTE_BUDGET_PROGRAM_ID, struct.pack("<BI", _CB_SET_LIMIT, units), [])


@lru_cache(maxsize=256)
def set_compute_unit_price(micro_lamports: int) -> Instruction:
    """Compute budget SetComputeUnitPrice (u64 micro-lamports per compute unit)."""
    return Instruction(
        COMPUTE_BUDGET_PROGRAM_ID, struct.pack("<BQ", _CB_SET_PRICE, micro_lamports), []
    )


def memo(text: str) -> Instruction:
    """Memo v2 with no signer accounts: the text is logged on chain."""
    return Instruction(MEMO_PROGRAM_ID, text.encode(), [])


def prioritization_fee(compute_unit_price: int, compute_unit_limit: int) -> int:
    """Lamports of priority fee: price (micro-lamports/CU) x requested limit, rounded up."""
    return -(-compute_unit_price * compute_unit_limit // _MICRO_LAMPORTS)


def transaction_fee(signatures: int, compute_unit_price: int, compute_unit_limit: int) -> int:
    """Lamports a transaction pays, landed or failed: base fee per signature + priority fee."""
    return signatures * LAMPORTS_PER_SIGNATURE + prioritization_fee(
        compute_unit_price, compute_unit_limit
    )
