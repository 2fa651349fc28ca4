"""Decoding EVM revert data into a readable reason.

Revert data is a 4-byte selector and ABI-encoded arguments: ``Error(string)``
from ``require``/``revert("...")``, ``Panic(uint256)`` from the compiler's
checks, a custom error declared in a contract's ABI, or nothing at all. Nodes
hand it back in the ``data`` of a JSON-RPC error (Anvil and geth: code 3,
``"execution reverted: ..."``), which web3.py raises as ``ContractLogicError``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from eth_abi.abi import decode
from eth_abi.exceptions import DecodingError
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from chainops.core.errors import Reverted, ValidationError

__all__ = [
    "ERROR_SELECTOR",
    "PANIC_CODES",
    "PANIC_SELECTOR",
    "RevertInfo",
    "RevertKind",
    "decode_revert",
    "error_signature",
    "revert_from_rpc_error",
    "reverted_error",
]

RevertKind = Literal["error", "panic", "custom", "empty", "unknown"]

ERROR_SELECTOR = bytes.fromhex("08c379a0")  # keccak("Error(string)")[:4]
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # keccak("Panic(uint256)")[:4]

PANIC_CODES: Mapping[int, str] = {
    0x00: "generic compiler panic",
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "corrupted storage byte array",
    0x31: "pop on an empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory (allocation too large)",
    0x51: "call to a zero-initialised function variable",
}

NO_DATA_REASON = "execution reverted (no data)"
# Enough hex to recognise a selector and the first argument, short enough for a log line.
_HEX_PREVIEW_BYTES = 36
# JSON-RPC code 3 is "execution error" with revert data (geth, Anvil, Erigon, Nethermind).
_REVERT_CODE = 3
_REVERT_TEXT = re.compile(r"revert", re.IGNORECASE)
_MESSAGE_REASON = re.compile(r"execution reverted:?\s*(.*)", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, kw_only=True)
class RevertInfo:
    """A decoded revert.

    ``selector`` is ``0x``-hex of the first four bytes (None without data);
    ``args`` are the decoded arguments as eth_abi returns them; ``name`` is the
    error's name (``Error``, ``Panic`` or the custom error's).
    """

    kind: RevertKind
    reason: str
    selector: str | None = None
    args: tuple[Any, ...] = ()
    name: str | None = None
    data: bytes = field(default=b"", repr=False)

    @property
    def panic_code(self) -> int | None:
        """The Panic code, for a panic."""
        return int(self.args[0]) if self.kind == "panic" and self.args else None


def _canonical_type(param: Mapping[str, Any]) -> str:
    """The ABI type of a parameter as it appears in a signature (tuples expanded)."""
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_canonical_type(c) for c in param.get("components", []))
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def error_signature(entry: Mapping[str, Any]) -> str:
    """``Name(type,...)`` of an ABI error entry, the text its selector hashes."""
    types = ",".join(_canonical_type(p) for p in entry.get("inputs", []))
    return f"{entry['name']}({types})"


def _format_value(value: Any, abi_type: str) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str):
        if abi_type == "address":
            return to_checksum_address(value)
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, tuple | list):
        inner = abi_type
        if inner.endswith("]"):
            inner = inner[: inner.rindex("[")]
            return "[" + ", ".join(_format_value(v, inner) for v in value) + "]"
        # a tuple type "(t1,t2)": its component types are not needed to print it well
        return "(" + ", ".join(_format_value(v, "") for v in value) + ")"
    return str(value)


def _preview(data: bytes) -> str:
    text = "0x" + data[:_HEX_PREVIEW_BYTES].hex()
    if len(data) > _HEX_PREVIEW_BYTES:
        text += f"… ({len(data)} bytes)"
    return text


def _to_bytes(data: bytes | bytearray | str | None) -> bytes | None:
    """Bytes from raw bytes or 0x-hex; None if a string is not hex."""
    if data is None:
        return b""
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    if isinstance(data, str):
        text = data.strip()
        text = text[2:] if text[:2].lower() == "0x" else text
        try:
            return bytes.fromhex(text)
        except ValueError:
            return None
    raise ValidationError(f"revert data must be bytes, hex or None, not {type(data).__name__}")


def _decode_custom(data: bytes, abi: Sequence[Mapping[str, Any]]) -> RevertInfo | None:
    selector = data[:4]
    for entry in abi:
        if entry.get("type") != "error" or "name" not in entry:
            continue
        signature = error_signature(entry)
        if keccak(text=signature)[:4] != selector:
            continue
        inputs = list(entry.get("inputs", []))
        types = [_canonical_type(p) for p in inputs]
        try:
            args = tuple(decode(types, data[4:]))
        except (DecodingError, ValueError, OverflowError):
            continue  # a selector collision or corrupt data: try the next entry
        parts = []
        for param, abi_type, value in zip(inputs, types, args, strict=True):
            text = _format_value(value, abi_type)
            parts.append(f"{param['name']}={text}" if param.get("name") else text)
        return RevertInfo(
            kind="custom",
            reason=f"{entry['name']}({', '.join(parts)})",
            selector="0x" + selector.hex(),
            args=args,
            name=str(entry["name"]),
            data=data,
        )
    return None


def decode_revert(
    data: bytes | str | None, abi: Sequence[Mapping[str, Any]] | None = None
) -> RevertInfo:
    """Decode revert data; custom errors are looked up in ``abi``'s error entries.

    Never raises on odd data: what cannot be decoded comes back as kind
    ``"unknown"`` with the hex in the reason.
    """
    raw = _to_bytes(data)
    if raw is None:
        assert isinstance(data, str)
        return RevertInfo(kind="unknown", reason=f"unknown revert data {data[:80]!r}")
    if not raw:
        return RevertInfo(kind="empty", reason=NO_DATA_REASON)
    unknown = RevertInfo(
        kind="unknown",
        reason=f"unknown revert data {_preview(raw)}",
        selector="0x" + raw[:4].hex() if len(raw) >= 4 else None,
        data=raw,
    )
    if len(raw) < 4:
        return unknown
    selector, body = raw[:4], raw[4:]
    if selector == ERROR_SELECTOR:
        try:
            (message,) = decode(["string"], body)
        except (DecodingError, ValueError, UnicodeDecodeError):
            return unknown
        return RevertInfo(
            kind="error",
            reason=str(message),
            selector="0x" + selector.hex(),
            args=(message,),
            name="Error",
            data=raw,
        )
    if selector == PANIC_SELECTOR:
        try:
            (code,) = decode(["uint256"], body)
        except (DecodingError, ValueError):
            return unknown
        meaning = PANIC_CODES.get(code, "unknown panic code")
        return RevertInfo(
            kind="panic",
            reason=f"Panic(0x{code:02x}): {meaning}",
            selector="0x" + selector.hex(),
            args=(code,),
            name="Panic",
            data=raw,
        )
    if abi:
        found = _decode_custom(raw, abi)
        if found is not None:
            return found
    return unknown


def _from_message(message: str) -> RevertInfo:
    """A revert known only by a node's message (no data)."""
    match = _MESSAGE_REASON.search(message)
    reason = match.group(1).strip() if match else ""
    # Anvil prints a custom error's raw bytes after the colon: not a readable reason
    if not reason or not reason.isprintable():
        return RevertInfo(kind="empty", reason=NO_DATA_REASON)
    return RevertInfo(kind="error", reason=reason, name="Error")


def _revert_data(value: object) -> str | bytes | None:
    """The revert bytes in an error's ``data``, whichever shape the node uses."""
    if isinstance(value, str | bytes | bytearray):
        return bytes(value) if isinstance(value, bytearray) else value
    if isinstance(value, Mapping):
        # some nodes nest it: {"data": "0x..."} or {"<tx hash>": {"return": "0x..."}}
        for key in ("data", "return", "result"):
            if key in value:
                return _revert_data(value[key])
        for nested in value.values():
            if isinstance(nested, Mapping):
                return _revert_data(nested)
    return None


def _from_error_object(
    error: Mapping[str, Any], abi: Sequence[Mapping[str, Any]] | None
) -> RevertInfo | None:
    if "error" in error and isinstance(error["error"], Mapping):
        error = error["error"]  # a whole JSON-RPC response
    message = str(error.get("message", ""))
    code = error.get("code")
    if code != _REVERT_CODE and not _REVERT_TEXT.search(message):
        return None
    data = _revert_data(error.get("data"))
    if data is not None and _to_bytes(data):
        return decode_revert(data, abi)
    return _from_message(message)


def revert_from_rpc_error(
    error: object, abi: Sequence[Mapping[str, Any]] | None = None
) -> RevertInfo | None:
    """The revert inside an error from a call, an estimate or a send; None if not a revert.

    Understands web3.py's ``ContractLogicError`` family (``.data``, ``.message``),
    ``Web3RPCError`` (``.rpc_response``), exceptions carrying a JSON-RPC error
    dict in their arguments, the JSON-RPC error object (or response) itself, and a
    bare node message such as ``"execution reverted: ..."``.
    """
    from web3.exceptions import ContractLogicError, Web3RPCError

    from chainops.operators.evm.node_errors import NodeError

    if isinstance(error, NodeError):  # what our own JSON-RPC client raises
        return _from_error_object(
            {"code": error.code, "message": error.message, "data": error.data}, abi
        )
    if isinstance(error, ContractLogicError):
        data = _revert_data(error.data)
        if data is not None and _to_bytes(data):
            return decode_revert(data, abi)
        return _from_message(error.message or "")
    if isinstance(error, Mapping):
        return _from_error_object(error, abi)
    if isinstance(error, str):
        return _from_message(error) if _REVERT_TEXT.search(error) else None
    if isinstance(error, Web3RPCError) and isinstance(error.rpc_response, Mapping):
        return _from_error_object(error.rpc_response, abi)
    if isinstance(error, BaseException):
        for arg in error.args:
            if isinstance(arg, Mapping):
                return _from_error_object(arg, abi)
    return None


def reverted_error(info: RevertInfo) -> Reverted:
    """The :class:`~chainops.core.errors.Reverted` to raise for a decoded revert."""
    if info.kind == "empty":
        return Reverted(info.reason, reason=info.reason)
    return Reverted(f"execution reverted: {info.reason}", reason=info.reason)
