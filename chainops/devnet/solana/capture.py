"""What a transaction's meta reports, read around its execution in LiteSVM.

The keys a v0 message loads from address lookup tables, the lamport and token
balances of every key before and after, and the inner instructions, in the
JSON shapes of the RPC's ``meta``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from solders.account import Account
from solders.address_lookup_table_account import AddressLookupTable
from solders.litesvm import LiteSVM
from solders.message import Message, MessageV0, MessageV1
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import TransactionMetadata

from chainops.core.ids import b58encode
from chainops.devnet.solana.records import TokenBalance
from chainops.operators.solana.programs import (
    COMPUTE_BUDGET_PROGRAM_ID,
    MAX_COMPUTE_UNIT_LIMIT,
    transaction_fee,
)
from chainops.operators.solana.spl import TOKEN_PROGRAMS, parse_mint, parse_token_account

__all__ = [
    "compute_unit_limit",
    "compute_unit_price",
    "inner_instructions",
    "loaded_addresses",
    "message_fee",
    "snapshot",
    "token_balances",
    "writable_keys",
]

AnyMessage = Message | MessageV0 | MessageV1
_SET_COMPUTE_UNIT_LIMIT = 2
_SET_COMPUTE_UNIT_PRICE = 3
_DEFAULT_INSTRUCTION_UNITS = 200_000  # the runtime's budget per instruction when none is set


def loaded_addresses(svm: LiteSVM, tx: VersionedTransaction) -> tuple[list[str], list[str]]:
    """(writable, readonly) keys a v0 message loads from its lookup tables."""
    message = tx.message
    if not isinstance(message, MessageV0):
        return [], []
    writable: list[str] = []
    readonly: list[str] = []
    for lookup in message.address_table_lookups:
        table = svm.get_account(lookup.account_key)
        if table is None:
            continue  # execution will fail with AddressLookupTableNotFound
        addresses = AddressLookupTable.deserialize(bytes(table.data)).addresses
        writable += [str(addresses[i]) for i in lookup.writable_indexes if i < len(addresses)]
        readonly += [str(addresses[i]) for i in lookup.readonly_indexes if i < len(addresses)]
    return writable, readonly


def writable_keys(message: AnyMessage, loaded_writable: Sequence[str]) -> frozenset[str]:
    """Keys the message write-locks (by its header), plus the loaded writable ones."""
    header = message.header
    keys = message.account_keys
    signed = header.num_required_signatures
    signed_writable = signed - header.num_readonly_signed_accounts
    unsigned_writable = len(keys) - header.num_readonly_unsigned_accounts
    static = {
        str(key)
        for i, key in enumerate(keys)
        if i < signed_writable or signed <= i < unsigned_writable
    }
    return frozenset(static | set(loaded_writable))


def compute_unit_price(tx: VersionedTransaction) -> int:
    """The compute-unit price the transaction sets (micro-lamports), 0 if none."""
    message = tx.message
    keys = message.account_keys
    for ix in message.instructions:
        data = ix.data
        program = keys[ix.program_id_index]
        if data[:1] == bytes([_SET_COMPUTE_UNIT_PRICE]) and program == COMPUTE_BUDGET_PROGRAM_ID:
            return int.from_bytes(data[1:9], "little")
    return 0


def compute_unit_limit(message: AnyMessage) -> int:
    """The compute units the message requests (explicitly, or the runtime's default)."""
    keys = message.account_keys
    others = 0
    for ix in message.instructions:
        if keys[ix.program_id_index] != COMPUTE_BUDGET_PROGRAM_ID:
            others += 1
        elif ix.data[:1] == bytes([_SET_COMPUTE_UNIT_LIMIT]) and len(ix.data) >= 5:
            return min(int.from_bytes(ix.data[1:5], "little"), MAX_COMPUTE_UNIT_LIMIT)
    return min(others * _DEFAULT_INSTRUCTION_UNITS, MAX_COMPUTE_UNIT_LIMIT)


def message_fee(message: AnyMessage) -> int:
    """Lamports the message would pay: base fee per signature plus its priority fee."""
    price = 0
    keys = message.account_keys
    for ix in message.instructions:
        program = keys[ix.program_id_index]
        if program == COMPUTE_BUDGET_PROGRAM_ID and ix.data[:1] == bytes([_SET_COMPUTE_UNIT_PRICE]):
            price = int.from_bytes(ix.data[1:9], "little")
    return transaction_fee(
        message.header.num_required_signatures, price, compute_unit_limit(message)
    )


def snapshot(svm: LiteSVM, keys: Sequence[str]) -> list[Account | None]:
    """The accounts behind ``keys`` as they are now."""
    return [svm.get_account(Pubkey.from_string(key)) for key in keys]


def token_balances(
    svm: LiteSVM, keys: Sequence[str], accounts: Sequence[Account | None]
) -> tuple[TokenBalance, ...]:
    """A balance entry for every key that holds a token account in ``accounts``."""
    out: list[TokenBalance] = []
    decimals: dict[str, int] = {}
    for index, (key, account) in enumerate(zip(keys, accounts, strict=True)):
        if account is None or account.owner not in TOKEN_PROGRAMS:
            continue
        info = parse_token_account(Pubkey.from_string(key), account.owner, bytes(account.data))
        if info is None:
            continue
        mint_key = str(info.mint)
        if mint_key not in decimals:
            mint_account = svm.get_account(info.mint)
            mint = (
                parse_mint(info.mint, mint_account.owner, bytes(mint_account.data))
                if mint_account is not None
                else None
            )
            decimals[mint_key] = mint.decimals if mint is not None else 0
        out.append(
            TokenBalance(
                index, mint_key, str(info.owner), str(info.program), info.amount, decimals[mint_key]
            )
        )
    return tuple(out)


def inner_instructions(meta: TransactionMetadata) -> tuple[Any, ...]:
    """The inner instructions of each top-level instruction, in the RPC's JSON form."""
    out: list[Any] = []
    for index, group in enumerate(meta.inner_instructions()):
        if not group:
            continue
        out.append(
            {
                "index": index,
                "instructions": [
                    {
                        "programIdIndex": ix.program_id_index,
                        "accounts": list(bytes(ix.accounts)),
                        "data": b58encode(bytes(ix.data)),
                        "stackHeight": height,
                    }
                    for ix, height in ((i.instruction(), i.stack_height()) for i in group)
                ],
            }
        )
    return tuple(out)
