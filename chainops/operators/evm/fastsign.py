"""Fast signing of the common EVM transaction shapes, byte-identical to eth-account.

Covers EIP-1559 (type 2) transactions with an empty access list and EIP-155
legacy transactions, given as plain dicts of ints and bytes. The payload is
RLP-encoded here, hashed with keccak-256 and signed with libsecp256k1 through
coincurve. Anything outside those shapes (other types, non-empty access lists,
hex-string fields, unknown keys) returns ``None`` so that the caller signs
through eth-account instead, which also produces its usual errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from coincurve import PrivateKey
from eth_utils.address import is_checksum_address

from chainops.core.keccak import keccak256 as keccak

__all__ = ["encode_bytes", "encode_int", "encode_list", "sign_transaction"]

_UINT256_END = 1 << 256
_EMPTY_LIST = b"\xc0"
_TYPE2_PREFIX = b"\x02"

_TYPE2_KEYS = frozenset(
    {
        "type",
        "chainId",
        "nonce",
        "maxPriorityFeePerGas",
        "maxFeePerGas",
        "gas",
        "to",
        "value",
        "data",
        "accessList",
        "from",
    }
)
_LEGACY_KEYS = frozenset({"chainId", "nonce", "gasPrice", "gas", "to", "value", "data", "from"})
# The type strings eth-account reads as 2 (it parses hex strings to int).
_TYPE2_STRINGS = frozenset({"0x2", "0x02"})


def encode_bytes(data: bytes) -> bytes:
    """RLP encoding of a byte string."""
    n = len(data)
    if n == 1 and data[0] < 0x80:
        return data
    if n < 56:
        return bytes((0x80 + n,)) + data
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0xB7 + len(size),)) + size + data


def encode_int(value: int) -> bytes:
    """RLP encoding of a non-negative integer (big-endian, no leading zeros)."""
    if value == 0:
        return b"\x80"
    if value < 0x80:
        return bytes((value,))
    return encode_bytes(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def encode_list(payload: bytes) -> bytes:
    """RLP encoding of a list, given the concatenated encodings of its items."""
    n = len(payload)
    if n < 56:
        return bytes((0xC0 + n,)) + payload
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0xF7 + len(size),)) + size + payload


@lru_cache(maxsize=4096)
def _address_from_text(text: str) -> bytes | None:
    # eth-account accepts only the 0x-prefixed EIP-55 form; the check costs a keccak, so cache it.
    if not is_checksum_address(text):
        return None
    return bytes.fromhex(text[2:])


def _uint(tx: Mapping[str, Any], key: str, default: int | None = None) -> int | None:
    value = tx.get(key, default)
    # `type is int` rejects bool (eth-account rejects it too) and hex strings (left to it).
    if type(value) is int and 0 <= value < _UINT256_END:
        return value
    return None


def _recipient(tx: Mapping[str, Any]) -> bytes | None:
    """The encoded ``to`` field, ``b"\\x80"`` for contract creation, None if unsupported."""
    to = tx.get("to")
    if to is None:
        return b"\x80"
    if isinstance(to, str):
        if not to:
            return b"\x80"
        raw = _address_from_text(to)
        return None if raw is None else b"\x94" + raw
    # Not bytearray: eth-account looks `to` up in a set first, which a bytearray cannot enter.
    if isinstance(to, bytes) and len(to) in (0, 20):
        return b"\x94" + bytes(to) if to else b"\x80"
    return None


def _common_tail(tx: Mapping[str, Any]) -> bytes | None:
    """Encoded ``to``, ``value`` and ``data``, shared by both transaction types."""
    to = _recipient(tx)
    value = _uint(tx, "value", 0)
    data = tx.get("data", b"")
    if to is None or value is None or not isinstance(data, bytes | bytearray):
        return None
    return to + encode_int(value) + encode_bytes(bytes(data))


def _signature_fields(key: PrivateKey, message: bytes) -> tuple[int, bytes]:
    """Recovery id and the encoded r and s of a signature over keccak(message)."""
    sig = key.sign_recoverable(keccak(message), hasher=None)
    # libsecp256k1 always returns low-s signatures, as eth-keys does.
    return sig[64], encode_bytes(sig[:32].lstrip(b"\0")) + encode_bytes(sig[32:64].lstrip(b"\0"))


def _sign_type2(tx: Mapping[str, Any], key: PrivateKey) -> tuple[bytes, bytes] | None:
    access_list = tx.get("accessList", ())
    if type(access_list) not in (list, tuple) or access_list:
        return None
    chain_id = _uint(tx, "chainId")
    nonce = _uint(tx, "nonce")
    tip = _uint(tx, "maxPriorityFeePerGas")
    fee_cap = _uint(tx, "maxFeePerGas")
    gas = _uint(tx, "gas")
    tail = _common_tail(tx)
    if chain_id is None or nonce is None or tip is None or fee_cap is None or gas is None:
        return None
    if tail is None:
        return None
    body = (
        encode_int(chain_id)
        + encode_int(nonce)
        + encode_int(tip)
        + encode_int(fee_cap)
        + encode_int(gas)
        + tail
        + _EMPTY_LIST
    )
    y_parity, rs = _signature_fields(key, _TYPE2_PREFIX + encode_list(body))
    raw = _TYPE2_PREFIX + encode_list(body + encode_int(y_parity) + rs)
    return raw, keccak(raw)


def _sign_legacy(tx: Mapping[str, Any], key: PrivateKey) -> tuple[bytes, bytes] | None:
    chain_id = _uint(tx, "chainId")
    nonce = _uint(tx, "nonce")
    gas_price = _uint(tx, "gasPrice")
    gas = _uint(tx, "gas")
    tail = _common_tail(tx)
    if chain_id is None or nonce is None or gas_price is None or gas is None or tail is None:
        return None
    body = encode_int(nonce) + encode_int(gas_price) + encode_int(gas) + tail
    # EIP-155: sign over (chainId, 0, 0) in the v, r, s slots; v = recid + 35 + 2 * chainId.
    recovery_id, rs = _signature_fields(key, encode_list(body + encode_int(chain_id) + b"\x80\x80"))
    raw = encode_list(body + encode_int(recovery_id + 35 + 2 * chain_id) + rs)
    return raw, keccak(raw)


def sign_transaction(
    tx: Mapping[str, Any], key: PrivateKey, *, sender: str | None = None
) -> tuple[bytes, bytes] | None:
    """Sign ``tx`` and return ``(raw, hash)``, or None when eth-account must handle it.

    A ``from`` entry is accepted only when it equals ``sender`` (the key's
    checksummed address), as eth-account requires.
    """
    if "from" in tx and (sender is None or tx["from"] != sender):
        return None
    keys = tx.keys()
    if "type" in tx:
        kind = tx["type"]
        is_type2 = (type(kind) is int and kind == 2) or (
            isinstance(kind, str) and kind in _TYPE2_STRINGS
        )
        if is_type2 and keys <= _TYPE2_KEYS:
            return _sign_type2(tx, key)
        return None
    # Without a type, eth-account infers type 2 from either fee-cap field.
    if "maxFeePerGas" in tx or "maxPriorityFeePerGas" in tx:
        return _sign_type2(tx, key) if keys <= _TYPE2_KEYS else None
    if keys <= _LEGACY_KEYS:
        return _sign_legacy(tx, key)
    return None
