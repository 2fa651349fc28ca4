"""The history of an operation: change and error records, with their time and enum encodings."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Self

import msgspec

from chainops.core import errors
from chainops.core.errors import ChainopsError, ValidationError

# the time helpers and LabelEnum are shared by the core modules, not re-exported
__all__ = ["Change", "ErrorInfo", "HistoryEntry"]


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def now_us() -> int:
    """The current time in integer microseconds since the Unix epoch (UTC)."""
    return time.time_ns() // 1000


def to_us(value: datetime) -> int:
    """Microseconds since the epoch of an aware datetime (exact: no float on the way)."""
    return (value - EPOCH) // _ONE_US


def from_us(value: int) -> datetime:
    """The UTC datetime of :func:`to_us` microseconds (its exact inverse)."""
    return EPOCH + timedelta(microseconds=value)


def time_us(at: datetime | None) -> int:
    """Integer microseconds of ``at`` (an aware datetime), or of now when None."""
    return now_us() if at is None else to_us(check_time(at, "at"))


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


def load_time(value: str | int | None) -> datetime | None:
    """Inverse of :func:`dump_time`; an int is microseconds since the epoch (journal form)."""
    if value is None:
        return None
    if isinstance(value, int):
        return from_us(value)
    return datetime.fromisoformat(value)


class LabelEnum(StrEnum):
    """A string enum whose value is its name; lookup by value ignores case."""

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        if isinstance(value, str):
            for member in cls:
                if member.value == value.strip().upper():
                    return member
        return None

    @classmethod
    def parse(cls, value: str, what: str) -> Self:
        """``value`` as a member, or a ValidationError naming ``what`` and the choices."""
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(member.value for member in cls)
            raise ValidationError(f"{what} must be one of {choices}, got {value!r}") from None


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


class _EntryMeta(type(msgspec.Struct)):  # type: ignore[misc]
    """Lets ``HistoryEntry(at=datetime, ...)`` keep working beside the integer field."""

    def __call__(cls, *args: Any, at: datetime | None = None, **kwargs: Any) -> Any:
        if at is not None:
            kwargs["at_us"] = to_us(check_time(at, "at"))
        return super().__call__(*args, **kwargs)


# gc=False: an entry holds only ints, strings, None and a Change, so it can never be part
# of a reference cycle; untracked, the many entries of live operations cost no GC pass.
# omit_defaults: a journalled run leaves out the unset ref, reason and sequence (most
# entries), which decode back to None; a reader of runs written before still works.
class HistoryEntry(
    msgspec.Struct, frozen=True, kw_only=True, gc=False, omit_defaults=True, metaclass=_EntryMeta
):
    """One applied change. ``ref`` names its subject (fill id, attempt index, tx hash).

    The time is kept as integer microseconds since the epoch (``at_us``);
    ``at`` renders it as a UTC datetime. Build one with ``at=`` (a datetime)
    or ``at_us=``.
    """

    at_us: int
    change: Change
    previous: str | None
    state: str
    ref: str | None = None
    reason: str | None = None
    sequence: int | None = None

    if TYPE_CHECKING:  # the signature _EntryMeta accepts (a Struct may not define __init__)

        def __init__(
            self,
            *,
            change: Change,
            previous: str | None,
            state: str,
            at: datetime | None = None,
            at_us: int = ...,
            ref: str | None = None,
            reason: str | None = None,
            sequence: int | None = None,
        ) -> None: ...

    @property
    def at(self) -> datetime:
        """When the change was applied (UTC)."""
        return from_us(self.at_us)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "at": from_us(self.at_us).isoformat(),
            "change": str(self.change),
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
            at_us=to_us(at),
            change=Change[data["change"]],
            previous=data["previous"],
            state=data["state"],
            ref=data["ref"],
            reason=data["reason"],
            sequence=data["sequence"],
        )


# The fast constructor (positional-free, no ``at=`` conversion): used on every change.
new_entry = type(msgspec.Struct).__call__


@dataclass(frozen=True, slots=True)
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
