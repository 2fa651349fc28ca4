"""SPL Token, Token-2022 and Associated Token Account: instruction layouts and account layouts.

Built from the programs' published layouts (the ``spl`` Python package is not a
dependency). Token-2022 shares the base layouts of the original program: a mint's
first 82 bytes and a token account's first 165 bytes are the same, extensions follow.
Every transfer uses ``TransferChecked`` (the mint and its decimals are verified on
chain; Token-2022 refuses the unchecked ``Transfer`` for mints with some extensions).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.token.associated import get_associated_token_address

from chainops.operators.solana.programs import (
    ATA_PROGRAM_ID,
    SYSTEM_PROGRAM_ID,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
)

__all__ = [
    "ACCOUNT_SIZE",
    "MINT_SIZE",
    "TOKEN_PROGRAMS",
    "MintInfo",
    "TokenAccountInfo",
    "associated_token_address",
    "create_associated_token_account_idempotent",
    "initialize_mint2",
    "mint_to_checked",
    "parse_mint",
    "parse_token_account",
    "transfer_checked",
]

MINT_SIZE = 82
ACCOUNT_SIZE = 165
TOKEN_PROGRAMS = frozenset({TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID})

_INITIALIZE_MINT2 = 20
_MINT_TO_CHECKED = 14
_TRANSFER_CHECKED = 12
_ATA_CREATE_IDEMPOTENT = 1
_ACCOUNT_STATES = {0: "uninitialized", 1: "initialized", 2: "frozen"}


def associated_token_address(
    owner: Pubkey, mint: Pubkey, token_program: Pubkey = TOKEN_PROGRAM_ID
) -> Pubkey:
    """The ATA of ``owner`` for ``mint``: PDA of [owner, token program, mint] (ATA program)."""
    return get_associated_token_address(owner, mint, token_program)


def create_associated_token_account_idempotent(
    payer: Pubkey, owner: Pubkey, mint: Pubkey, token_program: Pubkey = TOKEN_PROGRAM_ID
) -> Instruction:
    """ATA ``CreateIdempotent``: creates the account, or succeeds if it already exists."""
    return Instruction(
        ATA_PROGRAM_ID,
        bytes([_ATA_CREATE_IDEMPOTENT]),
        [
            AccountMeta(payer, True, True),
            AccountMeta(associated_token_address(owner, mint, token_program), False, True),
            AccountMeta(owner, False, False),
            AccountMeta(mint, False, False),
            AccountMeta(SYSTEM_PROGRAM_ID, False, False),
            AccountMeta(token_program, False, False),
        ],
    )


def transfer_checked(
    source: Pubkey,
    mint: Pubkey,
    destination: Pubkey,
    owner: Pubkey,
    amount: int,
    decimals: int,
    token_program: Pubkey = TOKEN_PROGRAM_ID,
) -> Instruction:
    """``TransferChecked``: ``amount`` raw units between token accounts; ``owner`` signs."""
    return Instruction(
        token_program,
        struct.pack("<BQB", _TRANSFER_CHECKED, amount, decimals),
        [
            AccountMeta(source, False, True),
            AccountMeta(mint, False, False),
            AccountMeta(destination, False, True),
            AccountMeta(owner, True, False),
        ],
    )


def initialize_mint2(
    mint: Pubkey,
    decimals: int,
    mint_authority: Pubkey,
    freeze_authority: Pubkey | None = None,
    token_program: Pubkey = TOKEN_PROGRAM_ID,
) -> Instruction:
    """``InitializeMint2`` (no rent sysvar account); the mint account must exist, 82 bytes."""
    freeze = b"\x00" if freeze_authority is None else b"\x01" + bytes(freeze_authority)
    data = struct.pack("<BB", _INITIALIZE_MINT2, decimals) + bytes(mint_authority) + freeze
    return Instruction(token_program, data, [AccountMeta(mint, False, True)])


def mint_to_checked(
    mint: Pubkey,
    destination: Pubkey,
    authority: Pubkey,
    amount: int,
    decimals: int,
    token_program: Pubkey = TOKEN_PROGRAM_ID,
) -> Instruction:
    """``MintToChecked``: new tokens into ``destination``; the mint authority signs."""
    return Instruction(
        token_program,
        struct.pack("<BQB", _MINT_TO_CHECKED, amount, decimals),
        [
            AccountMeta(mint, False, True),
            AccountMeta(destination, False, True),
            AccountMeta(authority, True, False),
        ],
    )


def _option_key(data: bytes, offset: int) -> Pubkey | None:
    (tag,) = struct.unpack_from("<I", data, offset)
    return Pubkey.from_bytes(data[offset + 4 : offset + 36]) if tag == 1 else None


@dataclass(frozen=True)
class MintInfo:
    """The base fields of a mint (both token programs)."""

    address: Pubkey
    program: Pubkey
    decimals: int
    supply: int
    mint_authority: Pubkey | None
    freeze_authority: Pubkey | None

    @property
    def is_token_2022(self) -> bool:
        return self.program == TOKEN_2022_PROGRAM_ID


def parse_mint(address: Pubkey, owner: Pubkey, data: bytes) -> MintInfo | None:
    """A mint's fields, or None if the account is not an initialised mint of a token program."""
    if owner not in TOKEN_PROGRAMS or len(data) < MINT_SIZE or data[45] != 1:
        return None
    if len(data) > MINT_SIZE and (len(data) <= ACCOUNT_SIZE or data[ACCOUNT_SIZE] != 1):
        return None  # a token account (165 bytes) or a Token-2022 account, not a mint
    (supply,) = struct.unpack_from("<Q", data, 36)
    return MintInfo(
        address=address,
        program=owner,
        decimals=data[44],
        supply=supply,
        mint_authority=_option_key(data, 0),
        freeze_authority=_option_key(data, 46),
    )


@dataclass(frozen=True)
class TokenAccountInfo:
    """The base fields of a token account (both token programs)."""

    address: Pubkey
    program: Pubkey
    mint: Pubkey
    owner: Pubkey
    amount: int
    state: str


def parse_token_account(address: Pubkey, owner: Pubkey, data: bytes) -> TokenAccountInfo | None:
    """A token account's fields, or None if the account is not one."""
    if owner not in TOKEN_PROGRAMS or len(data) < ACCOUNT_SIZE:
        return None
    if len(data) > ACCOUNT_SIZE and data[ACCOUNT_SIZE] != 2:
        return None  # Token-2022 tags accounts with extensions: 2 = token account
    state = _ACCOUNT_STATES.get(data[108], "unknown")
    if state == "uninitialized":
        return None
    (amount,) = struct.unpack_from("<Q", data, 64)
    return TokenAccountInfo(
        address=address,
        program=owner,
        mint=Pubkey.from_bytes(data[0:32]),
        owner=Pubkey.from_bytes(data[32:64]),
        amount=amount,
        state=state,
    )
