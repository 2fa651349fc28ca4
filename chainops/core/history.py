"""The history of an operation: change and error records, with their time and enum encodings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Self

from chainops.core import errors
from chainops.core.errors import ChainopsError, ValidationError

# the time helpers and LabelEnum are shared by the core modules, not re-exported
__all__ = ["Change", "ErrorInfo", "HistoryEntry"]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def check_time(value: object, what: str = "timestamp") -> datetime:
    """Require a timezone-aware datetime (naive ones are ambiguous across hosts)."""
    if not isinstance(value, datetime):
        raise ValidationError(f"{what} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    return value


def dump_time(value: datetime | None) -> str | None:
    """ISO-8601 text of a timestamp (lossless to the microsecond)."""
    return None if value is None else value.isoformat()


def load_time(value: str | None) -> datetime | None:
    """Inverse of :func:`dump_time`."""
    return None if value is None else datetime.fromisoformat(value)


class LabelEnum(StrEnum):
    """A string enum whose value is its name; lookup by value ignores case."""

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        if isinstance(value, str):
            for member in cls:
                if member.value == value.strip().upper():
                    return member
        return None


class Change(LabelEnum):
    """What a history entry records."""

    CREATED = "CREATED"
    TRANSITION = "TRANSITION"
    VENUE_ID = "VENUE_ID"
    FILL = "FILL"
    ATTEMPT = "ATTEMPT"
    BROADCAST = "BROADCAST"
    ATTEMPT_ERROR = "ATTEMPT_ERROR"
    RECEIPT = "RECEIPT"
    FEE = "FEE"


@dataclass(frozen=True, kw_only=True)
class HistoryEntry:
    """One applied change. ``ref`` names its subject (fill id, attempt index, tx hash)."""

    at: datetime
    change: Change
    previous: str | None
    state: str
    ref: str | None = None
    reason: str | None = None
    sequence: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "at": dump_time(self.at),
            "change": self.change.name,
            "previous": self.previous,
            "state": self.state,
            "ref": self.ref,
            "reason": self.reason,
            "sequence": self.sequence,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Inverse of :meth:`to_dict`."""
        at = load_time(data["at"])
        assert at is not None
        return cls(
            at=at,
            change=Change[data["change"]],
            previous=data["previous"],
            state=data["state"],
            ref=data["ref"],
            reason=data["reason"],
            sequence=data["sequence"],
        )


@dataclass(frozen=True)
class ErrorInfo:
    """Why an operation failed: the error class name and its message (serialisable)."""

    kind: str
    message: str

    @classmethod
    def from_exception(cls, exc: BaseException) -> Self:
        """Capture an exception."""
        return cls(type(exc).__name__, str(exc))

    def to_exception(self) -> ChainopsError:
        """Rebuild the :class:`ChainopsError` subclass named by ``kind`` when possible."""
        found = getattr(errors, self.kind, None)
        if isinstance(found, type) and issubclass(found, ChainopsError):
            try:
                return found(self.message)
            except TypeError:
                pass  # a class with a different constructor, e.g. InvalidTransition
        return ChainopsError(f"{self.kind}: {self.message}")

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"kind": self.kind, "message": self.message}

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> Self:
        """Inverse of :meth:`to_dict`."""
        return cls(data["kind"], data["message"])

    @classmethod
    def coerce(cls, value: ErrorInfo | BaseException | None) -> ErrorInfo | None:
        """Accept an :class:`ErrorInfo`, an exception or None."""
        if value is None or isinstance(value, ErrorInfo):
            return value
        return ErrorInfo.from_exception(value)
