"""One signed attempt of a transaction and what the chain said about it.

A :class:`TxAttempt` is one signing (raw bytes + hash, its :class:`FeeParams`
and why it was made, :class:`AttemptKind`); the :class:`TxReceipt` is the
summary of the attempt that was mined. The
:class:`~chainops.core.transaction.Transaction` owning them lives in
``transaction.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from chainops.core.errors import ValidationError
from chainops.core.history import (
    ErrorInfo,
    LabelEnum,
    check_time,
    dump_time,
    from_us,
    load_time,
    now_us,
    to_us,
)
from chainops.core.ids import (
    EvmAddress,
    SolanaSignature,
    TxHash,
    parse_tx_id,
)
from chainops.core.keccak import keccak256

__all__ = [
    "AttemptKind",
    "FeeParams",
    "TxAttempt",
    "TxReceipt",
]


def check_uint(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError(f"{what} must be a non-negative int, got {value!r}")
    return value


def check_opt_uint(value: object, what: str) -> int | None:
    return None if value is None else check_uint(value, what)


def hex_bytes(value: bytes | str, what: str) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        text = value[2:] if value.startswith(("0x", "0X")) else value
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise ValidationError(f"{what} is not valid hex") from None
    raise ValidationError(f"{what} must be bytes or hex, not {type(value).__name__}")


@dataclass(frozen=True, kw_only=True, slots=True)
class FeeParams:
    """Fee settings of one attempt, in raw units (wei; micro-lamports per CU).

    EVM: either ``gas_price`` (legacy) or both EIP-1559 fields.
    Solana: ``compute_unit_price`` and ``compute_unit_limit``.
    """

    gas_price: int | None = None
    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None
    compute_unit_price: int | None = None
    compute_unit_limit: int | None = None

    def __post_init__(self) -> None:
        values = (
            self.gas_price,
            self.max_fee_per_gas,
            self.max_priority_fee_per_gas,
            self.compute_unit_price,
            self.compute_unit_limit,
        )
        for value, name in zip(values, _FEE_FIELDS, strict=True):
            # the common case inline (every signing builds one or two); anything else,
            # an int subclass included, takes the full check and its typed error
            if value is not None and (type(value) is not int or value < 0):
                check_uint(value, name)
        pair = (self.max_fee_per_gas, self.max_priority_fee_per_gas)
        if (pair[0] is None) != (pair[1] is None):
            raise ValidationError(
                "EIP-1559 needs both max_fee_per_gas and max_priority_fee_per_gas"
            )
        if self.gas_price is not None and pair[0] is not None:
            raise ValidationError("use gas_price (legacy) or EIP-1559 fees, not both")
        if pair[0] is not None and pair[1] is not None and pair[1] > pair[0]:
            raise ValidationError("max_priority_fee_per_gas exceeds max_fee_per_gas")

    @property
    def is_eip1559(self) -> bool:
        """True for EIP-1559 (type 2) pricing."""
        return self.max_fee_per_gas is not None

    def to_dict(self) -> dict[str, int]:
        """JSON-ready form (unset fields omitted)."""
        # spelled out, not asdict nor a loop over the fields: every journal write runs it
        out: dict[str, int] = {}
        if self.gas_price is not None:
            out["gas_price"] = self.gas_price
        if self.max_fee_per_gas is not None:
            out["max_fee_per_gas"] = self.max_fee_per_gas
        if self.max_priority_fee_per_gas is not None:
            out["max_priority_fee_per_gas"] = self.max_priority_fee_per_gas
        if self.compute_unit_price is not None:
            out["compute_unit_price"] = self.compute_unit_price
        if self.compute_unit_limit is not None:
            out["compute_unit_limit"] = self.compute_unit_limit
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, int]) -> Self:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


_FEE_FIELDS = tuple(f.name for f in dataclasses.fields(FeeParams))  # looked up once


class AttemptKind(LabelEnum):
    """Why an attempt was signed."""

    ORIGINAL = "ORIGINAL"
    SPEED_UP = "SPEED_UP"  # same call, same nonce, higher fees
    CANCEL = "CANCEL"  # a 0-value self-transfer at the same nonce
    RESIGN = "RESIGN"  # Solana: same message with a fresh blockhash


def _check_hash_matches(hash_: TxHash | SolanaSignature, raw: bytes) -> None:
    """The hash must be the one the raw bytes produce: a mismatch would break lookups."""
    if isinstance(hash_, TxHash):
        if keccak256(raw) != hash_.to_bytes():
            raise ValidationError(f"hash {hash_} is not keccak256 of the raw transaction")
        return
    # a Solana wire transaction starts with a short-vec signature count, then the signatures
    if not raw or not 1 <= raw[0] < 0x80 or raw[1:65] != hash_.to_bytes():
        raise ValidationError(f"signature {hash_} is not the first signature of the transaction")


class _Keep:
    """Marker of an argument left unchanged."""


_KEEP = _Keep()


def _check_us(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(f"{what} must be int microseconds, got {value!r}")
    return value


@dataclass(frozen=True, kw_only=True, slots=True, init=False)
class TxAttempt:
    """One signed version of a transaction, journalled before it is broadcast.

    Its times are kept as integer microseconds since the epoch (``created_us``,
    ``broadcast_us``); ``created_at`` and ``broadcast_at`` render them as UTC
    datetimes. Build one with either form.
    """

    index: int
    hash: TxHash | SolanaSignature
    raw: bytes
    nonce: int | None
    fee: FeeParams
    kind: AttemptKind
    created_us: int
    blockhash: str | None
    last_valid_block_height: int | None
    broadcast_us: int | None
    error: ErrorInfo | None

    def __init__(
        self,
        *,
        index: int,
        hash: TxHash | SolanaSignature | str,
        raw: bytes | str,
        nonce: int | None = None,
        fee: FeeParams | None = None,
        kind: AttemptKind | str = AttemptKind.ORIGINAL,
        created_at: datetime | None = None,
        created_us: int | None = None,
        blockhash: str | None = None,
        last_valid_block_height: int | None = None,
        broadcast_at: datetime | _Keep | None = _KEEP,
        broadcast_us: int | None = None,
        error: ErrorInfo | None = None,
    ) -> None:
        put = object.__setattr__
        put(self, "index", check_uint(index, "attempt index"))
        put(self, "hash", parse_tx_id(hash))
        put(self, "raw", hex_bytes(raw, "raw transaction"))
        _check_hash_matches(self.hash, self.raw)
        put(self, "nonce", check_opt_uint(nonce, "nonce"))
        if fee is None:
            fee = FeeParams()
        elif not isinstance(fee, FeeParams):
            raise ValidationError(f"fee must be FeeParams, not {type(fee).__name__}")
        put(self, "fee", fee)
        put(self, "kind", AttemptKind(kind))
        if created_at is not None:
            created_us = to_us(check_time(created_at, "created_at"))
        put(
            self,
            "created_us",
            now_us() if created_us is None else _check_us(created_us, "created_us"),
        )
        put(self, "blockhash", blockhash)
        put(
            self,
            "last_valid_block_height",
            check_opt_uint(last_valid_block_height, "last_valid_block_height"),
        )
        if broadcast_at is None:  # given as None (dataclasses.replace): not broadcast
            broadcast_us = None
        elif not isinstance(broadcast_at, _Keep):
            broadcast_us = to_us(check_time(broadcast_at, "broadcast_at"))
        elif broadcast_us is not None:
            _check_us(broadcast_us, "broadcast_us")
        put(self, "broadcast_us", broadcast_us)
        if error is not None and not isinstance(error, ErrorInfo):
            raise ValidationError(f"attempt error must be an ErrorInfo, not {type(error).__name__}")
        put(self, "error", error)

    @property
    def created_at(self) -> datetime:
        """When the attempt was signed (UTC)."""
        return from_us(self.created_us)

    @property
    def broadcast_at(self) -> datetime | None:
        """When the attempt was handed to the network (UTC), None before."""
        return None if self.broadcast_us is None else from_us(self.broadcast_us)

    @property
    def broadcast(self) -> bool:
        """True once the attempt was handed to the network."""
        return self.broadcast_us is not None

    def evolve(
        self,
        *,
        broadcast_us: int | _Keep | None = _KEEP,
        error: ErrorInfo | _Keep | None = _KEEP,
    ) -> Self:
        """A copy with its broadcast time or error changed.

        Only these two fields, which the signed bytes do not cover, so the
        copy skips re-hashing the raw transaction (``dataclasses.replace``
        would run every check again).
        """
        if not isinstance(broadcast_us, _Keep) and broadcast_us is not None:
            _check_us(broadcast_us, "broadcast_us")
        if not isinstance(error, _Keep) and error is not None and not isinstance(error, ErrorInfo):
            raise ValidationError(f"attempt error must be an ErrorInfo, not {type(error).__name__}")
        copy = object.__new__(type(self))
        put = object.__setattr__
        # field by field, spelled out: a loop over the names costs twice as much
        put(copy, "index", self.index)
        put(copy, "hash", self.hash)
        put(copy, "raw", self.raw)
        put(copy, "nonce", self.nonce)
        put(copy, "fee", self.fee)
        put(copy, "kind", self.kind)
        put(copy, "created_us", self.created_us)
        put(copy, "blockhash", self.blockhash)
        put(copy, "last_valid_block_height", self.last_valid_block_height)
        put(
            copy,
            "broadcast_us",
            self.broadcast_us if isinstance(broadcast_us, _Keep) else broadcast_us,
        )
        put(copy, "error", self.error if isinstance(error, _Keep) else error)
        return copy

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (raw bytes as 0x-hex, times as ISO-8601 text)."""
        return {
            "index": self.index,
            "hash": str(self.hash),
            "raw": "0x" + self.raw.hex(),
            "nonce": self.nonce,
            "fee": self.fee.to_dict(),
            "kind": self.kind.name,
            "created_at": dump_time(self.created_at),
            "blockhash": self.blockhash,
            "last_valid_block_height": self.last_valid_block_height,
            "broadcast_at": dump_time(self.broadcast_at),
            "error": None if self.error is None else self.error.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Inverse of :meth:`to_dict`."""
        created = load_time(data["created_at"])
        assert created is not None
        return cls(
            index=data["index"],
            hash=parse_tx_id(data["hash"]),
            raw=hex_bytes(data["raw"], "raw"),
            nonce=data["nonce"],
            fee=FeeParams.from_dict(data["fee"]),
            kind=AttemptKind[data["kind"]],
            created_at=created,
            blockhash=data["blockhash"],
            last_valid_block_height=data["last_valid_block_height"],
            broadcast_at=load_time(data["broadcast_at"]),
            error=None if data["error"] is None else ErrorInfo.from_dict(data["error"]),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class TxReceipt:
    """The summary of a mined transaction that the SDK keeps (``status`` 1 = success)."""

    transaction_hash: TxHash | SolanaSignature
    block_number: int
    status: int
    block_hash: str | None = None
    transaction_index: int | None = None
    gas_used: int | None = None
    effective_gas_price: int | None = None
    contract_address: EvmAddress | None = None
    revert_reason: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "transaction_hash", parse_tx_id(self.transaction_hash))
        check_uint(self.block_number, "block_number")
        if self.status not in (0, 1) or isinstance(self.status, bool):
            raise ValidationError(f"receipt status must be 0 or 1, got {self.status!r}")
        if self.block_hash is not None and self.block_hash.startswith("0x"):
            object.__setattr__(self, "block_hash", str(TxHash(self.block_hash)))
        for name in ("transaction_index", "gas_used", "effective_gas_price"):
            check_opt_uint(getattr(self, name), name)
        if self.contract_address is not None:
            object.__setattr__(self, "contract_address", EvmAddress(self.contract_address))

    @property
    def succeeded(self) -> bool:
        """True if the transaction executed without reverting."""
        return self.status == 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (identifiers as plain text)."""
        block_hash, address, reason = self.block_hash, self.contract_address, self.revert_reason
        return {
            "transaction_hash": str(self.transaction_hash),
            "block_number": self.block_number,
            "status": self.status,
            "block_hash": None if block_hash is None else str(block_hash),
            "transaction_index": self.transaction_index,
            "gas_used": self.gas_used,
            "effective_gas_price": self.effective_gas_price,
            "contract_address": None if address is None else str(address),
            "revert_reason": None if reason is None else str(reason),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)
