"""Account and byte encodings of the RPC: base58, base64, jsonParsed, data slices."""

from __future__ import annotations

import base64
from typing import Any

from solders.account import Account

from chainops.core.ids import b58encode
from chainops.devnet.solana.faults import invalid_params
from chainops.devnet.solana.parsed_accounts import MintDecimals, parse_account

__all__ = ["ACCOUNT_ENCODINGS", "encode_account", "encode_bytes"]

ACCOUNT_ENCODINGS = frozenset({"base58", "base64", "jsonParsed", "binary"})
_BASE58_LIMIT = 128  # the validator refuses base58 for larger accounts
RENT_EPOCH_EXEMPT = 2**64 - 1  # rentEpoch of rent-exempt accounts


def encode_bytes(data: bytes, encoding: str) -> Any:
    """``[text, encoding]`` as the RPC sends data (``binary`` is bare legacy base58)."""
    if encoding == "base64":
        return [base64.b64encode(data).decode(), "base64"]
    if encoding == "base58":
        return [b58encode(data), "base58"]
    if encoding == "binary":
        return b58encode(data)
    raise invalid_params(f"Invalid params: unsupported encoding {encoding}")


def _slice(data: bytes, data_slice: Any) -> bytes:
    if data_slice is None:
        return data
    if not isinstance(data_slice, dict):
        raise invalid_params("Invalid params: dataSlice must be {offset, length}")
    offset, length = data_slice.get("offset", 0), data_slice.get("length", 0)
    if not isinstance(offset, int) or not isinstance(length, int) or offset < 0 or length < 0:
        raise invalid_params("Invalid params: dataSlice offset and length must be >= 0")
    return data[offset : offset + length]


def check_encoding(encoding: Any) -> None:
    if not isinstance(encoding, str) or encoding not in ACCOUNT_ENCODINGS:
        raise invalid_params(f"Invalid params: unsupported encoding {encoding}")


def encode_account(
    address: str,
    account: Account,
    encoding: str,
    decimals_of: MintDecimals,
    data_slice: Any = None,
) -> dict[str, Any]:
    """The RPC's ``UiAccount`` for ``account`` in ``encoding``."""
    check_encoding(encoding)
    data = bytes(account.data)
    encoded: Any = None
    if encoding == "jsonParsed" and data_slice is None:
        encoded = parse_account(address, account, decimals_of)
    if encoded is None:
        sliced = _slice(data, data_slice)
        if encoding in ("base58", "binary") and len(sliced) > _BASE58_LIMIT:
            raise invalid_params(
                f"Encoded binary (base 58) data should be less than {_BASE58_LIMIT} bytes, "
                "please use Base64 encoding."
            )
        encoded = encode_bytes(sliced, "base64" if encoding == "jsonParsed" else encoding)
    return {
        "data": encoded,
        "executable": account.executable,
        "lamports": account.lamports,
        "owner": str(account.owner),
        "rentEpoch": RENT_EPOCH_EXEMPT,
        "space": len(data),
    }
