"""The ``jsonParsed`` view of accounts: SPL Token, Token-2022 (with extensions) and nonces.

Shapes follow the validator's account decoder: a token account is
``{"program": "spl-token", "parsed": {"type": "account", "info": {...}}, "space": 165}``,
amounts are strings with ``uiAmountString`` trimmed of trailing zeros. Accounts
no parser knows come back in base64, as the validator does.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey

from chainops.operators.solana.programs import (
    SYSTEM_PROGRAM_ID,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
)
from chainops.operators.solana.spl import ACCOUNT_SIZE, parse_mint, parse_token_account

__all__ = ["MintDecimals", "parse_account", "token_amount", "ui_amount_string"]

MintDecimals = Callable[[str], int | None]
_NONCE_SIZE = 80
_EXTENSIONS = {
    1: "transferFeeConfig",
    2: "transferFeeAmount",
    3: "mintCloseAuthority",
    4: "confidentialTransferMint",
    5: "confidentialTransferAccount",
    6: "defaultAccountState",
    7: "immutableOwner",
    8: "memoTransfer",
    9: "nonTransferable",
    10: "interestBearingConfig",
    11: "cpiGuard",
    12: "permanentDelegate",
    13: "nonTransferableAccount",
    14: "transferHook",
    15: "transferHookAccount",
    16: "confidentialTransferFeeConfig",
    17: "confidentialTransferFeeAmount",
    18: "metadataPointer",
    19: "tokenMetadata",
    20: "groupPointer",
    21: "tokenGroup",
    22: "groupMemberPointer",
    23: "tokenGroupMember",
}


def ui_amount_string(amount: int, decimals: int) -> str:
    """``amount`` raw units as a decimal string without trailing zeros ("1.5", "20")."""
    if decimals == 0:
        return str(amount)
    digits = str(amount).rjust(decimals + 1, "0")
    whole, frac = digits[:-decimals], digits[-decimals:].rstrip("0")
    return f"{whole}.{frac}" if frac else whole


def token_amount(amount: int, decimals: int) -> dict[str, Any]:
    """The RPC's ``UiTokenAmount``."""
    text = ui_amount_string(amount, decimals)
    return {
        "amount": str(amount),
        "decimals": decimals,
        "uiAmount": float(text),  # the API's (lossy) float, from the exact text
        "uiAmountString": text,
    }


def _coption_key(data: bytes, offset: int) -> str | None:
    (tag,) = struct.unpack_from("<I", data, offset)
    return str(Pubkey.from_bytes(data[offset + 4 : offset + 36])) if tag == 1 else None


def _extensions(data: bytes) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    offset = ACCOUNT_SIZE + 1  # after the account-type byte
    while offset + 4 <= len(data):
        kind, length = struct.unpack_from("<HH", data, offset)
        if kind == 0:
            break
        body = data[offset + 4 : offset + 4 + length]
        entry: dict[str, Any] = {"extension": _EXTENSIONS.get(kind, "unparseableExtension")}
        if kind in (3, 12) and len(body) == 32:  # one optional authority
            key = None if body == bytes(32) else str(Pubkey.from_bytes(body))
            name = "closeAuthority" if kind == 3 else "delegate"
            entry["state"] = {name: key}
        elif kind == 18 and len(body) == 64:
            entry["state"] = {
                "authority": None if body[:32] == bytes(32) else str(Pubkey.from_bytes(body[:32])),
                "metadataAddress": (
                    None if body[32:] == bytes(32) else str(Pubkey.from_bytes(body[32:]))
                ),
            }
        out.append(entry)
        offset += 4 + length
    return out


def _token(address: str, account: Account, decimals_of: MintDecimals) -> dict[str, Any] | None:
    data = bytes(account.data)
    key = Pubkey.from_string(address)
    program = "spl-token-2022" if account.owner == TOKEN_2022_PROGRAM_ID else "spl-token"
    mint = parse_mint(key, account.owner, data)
    if mint is not None:
        info: dict[str, Any] = {
            "decimals": mint.decimals,
            "freezeAuthority": None
            if mint.freeze_authority is None
            else str(mint.freeze_authority),
            "isInitialized": True,
            "mintAuthority": None if mint.mint_authority is None else str(mint.mint_authority),
            "supply": str(mint.supply),
        }
        parsed: dict[str, Any] = {"type": "mint", "info": info}
    else:
        holding = parse_token_account(key, account.owner, data)
        if holding is None:
            return None
        decimals = decimals_of(str(holding.mint))
        if decimals is None:
            return None  # the validator cannot render an amount without its mint
        (native_tag,) = struct.unpack_from("<I", data, 109)
        info = {
            "isNative": native_tag == 1,
            "mint": str(holding.mint),
            "owner": str(holding.owner),
            "state": holding.state,
            "tokenAmount": token_amount(holding.amount, decimals),
        }
        delegate = _coption_key(data, 72)
        if delegate is not None:
            (delegated,) = struct.unpack_from("<Q", data, 121)
            info["delegate"] = delegate
            info["delegatedAmount"] = token_amount(delegated, decimals)
        if native_tag == 1:
            (reserve,) = struct.unpack_from("<Q", data, 113)
            info["rentExemptReserve"] = token_amount(reserve, decimals)
        close = _coption_key(data, 129)
        if close is not None:
            info["closeAuthority"] = close
        parsed = {"type": "account", "info": info}
    if account.owner == TOKEN_2022_PROGRAM_ID and len(data) > ACCOUNT_SIZE:
        parsed["info"]["extensions"] = _extensions(data)
    return {"program": program, "parsed": parsed, "space": len(data)}


def _nonce(account: Account) -> dict[str, Any] | None:
    data = bytes(account.data)
    if len(data) != _NONCE_SIZE:
        return None
    _version, state = struct.unpack_from("<II", data, 0)
    if state == 0:
        parsed: dict[str, Any] = {"type": "uninitialized"}
    else:
        (per_signature,) = struct.unpack_from("<Q", data, 72)
        parsed = {
            "type": "initialized",
            "info": {
                "authority": str(Pubkey.from_bytes(data[8:40])),
                "blockhash": str(Pubkey.from_bytes(data[40:72])),
                "feeCalculator": {"lamportsPerSignature": str(per_signature)},
            },
        }
    return {"program": "nonce", "parsed": parsed, "space": _NONCE_SIZE}


def parse_account(address: str, account: Account, decimals_of: MintDecimals) -> Any:
    """The parsed form of ``account``, or None when no parser applies."""
    if account.owner in (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID):
        return _token(address, account, decimals_of)
    if account.owner == SYSTEM_PROGRAM_ID:
        return _nonce(account)
    return None
