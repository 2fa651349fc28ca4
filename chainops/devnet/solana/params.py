"""Reading JSON-RPC params the way the validator does: positional values, then a config object."""

from __future__ import annotations

import base64
from typing import Any

from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from chainops.core.ids import b58decode
from chainops.devnet.solana.clock import Commitment
from chainops.devnet.solana.faults import RpcFault, invalid_params
from chainops.operators.solana.checks import U64_MAX

__all__ = [
    "commitment",
    "config",
    "decode_transaction",
    "min_context_slot",
    "pubkey",
    "require",
    "start_and_limit",
    "unsigned",
]


def config(params: list[Any], index: int) -> dict[str, Any]:
    """The config object at ``index`` (``{}`` when absent); a null field counts as absent."""
    value = params[index] if len(params) > index else None
    return {k: v for k, v in value.items() if v is not None} if isinstance(value, dict) else {}


def require(params: list[Any], count: int, what: str) -> None:
    if len(params) < count:
        raise invalid_params(f"Invalid params: missing {what}")


def pubkey(value: Any) -> str:
    try:
        return str(Pubkey.from_string(value))
    except (ValueError, TypeError):
        raise invalid_params(f"Invalid param: Invalid pubkey {value!r}") from None


def commitment(cfg: dict[str, Any], default: Commitment = Commitment.FINALIZED) -> Commitment:
    """The config's commitment; the RPC's default is *finalized*."""
    value = cfg.get("commitment")
    if value is None:
        return default
    if value in ("recent", "single"):  # deprecated aliases clients still send
        return Commitment.PROCESSED
    if value in ("max", "root", "singleGossip"):
        return Commitment.FINALIZED if value != "singleGossip" else Commitment.CONFIRMED
    try:
        return Commitment(value)
    except ValueError:
        raise invalid_params(f"Invalid params: unknown commitment {value!r}") from None


def unsigned(value: Any, what: str) -> int:
    """``value`` as a u64 (what the validator's params hold); invalid params otherwise."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= U64_MAX:
        raise invalid_params(f"Invalid params: {what} must be an integer within 0..{U64_MAX}")
    return value


def start_and_limit(p: list[Any], most: int, too_many: str) -> tuple[int, int]:
    """The ``start slot`` and ``limit`` params of a ranged read; ``too_many`` above ``most``."""
    require(p, 2, "start slot and limit")
    start, limit = unsigned(p[0], "start slot"), unsigned(p[1], "limit")
    if limit > most:
        raise invalid_params(too_many)
    return start, limit


def min_context_slot(cfg: dict[str, Any]) -> int | None:
    """The config's ``minContextSlot`` (None when absent)."""
    value = cfg.get("minContextSlot")
    return None if value is None else unsigned(value, "minContextSlot")


def decode_bytes(text: Any, encoding: str) -> bytes:
    if not isinstance(text, str):
        raise invalid_params("Invalid params: expected an encoded string")
    try:
        if encoding == "base64":
            return base64.b64decode(text, validate=True)
        if encoding == "base58":
            return b58decode(text)
    except ValueError:
        raise invalid_params(f"Invalid params: invalid {encoding} data") from None
    raise invalid_params(f"Invalid params: unsupported encoding {encoding}")


def decode_transaction(params: list[Any]) -> bytes:
    """The wire bytes of the transaction in ``params[0]`` (encoding from ``params[1]``)."""
    if not params or not isinstance(params[0], str):
        raise invalid_params("Invalid params: missing transaction")
    raw = decode_bytes(params[0], config(params, 1).get("encoding", "base58"))
    try:
        VersionedTransaction.from_bytes(raw)
    except RpcFault:
        raise
    except Exception:
        raise invalid_params(
            "failed to deserialize solana_transaction::versioned::VersionedTransaction"
        ) from None
    return raw
