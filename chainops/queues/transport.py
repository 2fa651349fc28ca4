"""The backend interface: append-only streams, consumer groups, acks, dead letters.

A backend moves opaque bytes with a message id. Delivery is at least once: a
delivery that is not acknowledged is handed again, to the same group, after
``claim_after`` seconds (a consumer that died with messages pending loses
them to its peers).

Every backend takes the same names and numbers: the public methods here check
them (:func:`check_stream`, :func:`check_group`, :func:`check_consumer`,
:func:`check_seconds`, :func:`check_max_messages`) before a backend's part
runs, so a name or a number one backend could not use is refused, the same
way, by all of them.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from chainops.core.errors import ValidationError
from chainops.queues.errors import InvalidQueueName

__all__ = [
    "DEAD_SUFFIX",
    "MAX_NAME",
    "DeadLetter",
    "Delivery",
    "StreamConsumer",
    "Transport",
    "check_consumer",
    "check_group",
    "check_max_messages",
    "check_seconds",
    "check_stream",
    "redacted",
]

_USERINFO = re.compile(r"(://)([^/@]*)@")

MAX_NAME = 100  # characters of a stream or group name
DEAD_SUFFIX = ".dead"  # ``<stream>.dead``: a stream's dead letters, on every backend
_TOKEN = r"[A-Za-z0-9_-]+"
_STREAM = re.compile(rf"{_TOKEN}(?:\.{_TOKEN})*")
_GROUP = re.compile(_TOKEN)
_RULE = "ASCII letters, digits, '_' and '-'"


def redacted(url: str) -> str:
    """``url`` fit for messages and logs: a password (or a bare token) becomes ``***``."""

    def hide(m: re.Match[str]) -> str:
        user, colon, _ = m.group(2).partition(":")
        return f"{m.group(1)}{user}:***@" if colon else f"{m.group(1)}***@"

    return _USERINFO.sub(hide, url, count=1)


def check_stream(stream: object) -> str:
    """``stream`` when it is a name every backend can carry; :class:`InvalidQueueName` if not.

    A stream name has 1 to :data:`MAX_NAME` characters: words of ASCII letters,
    digits, ``_`` and ``-``, joined by single dots (``ops.cmd``, ``md.eth_usdt``).
    Refused: blanks and spaces, wildcards (``*``, ``>``), empty words (``a..b``,
    ``.a``), other characters, and a last word ``dead`` (``<stream>.dead`` holds
    the dead letters of ``<stream>``).
    """
    if not isinstance(stream, str) or not stream.strip():
        raise InvalidQueueName(f"a stream name is required, got {stream!r}")
    if len(stream) > MAX_NAME:
        raise InvalidQueueName(f"stream name {stream[:20]!r}… is longer than {MAX_NAME} characters")
    if not _STREAM.fullmatch(stream):
        raise InvalidQueueName(
            f"stream name {stream!r} is not words of {_RULE} joined by single dots"
        )
    if stream.endswith(DEAD_SUFFIX):
        raise InvalidQueueName(
            f"stream name {stream!r} ends in {DEAD_SUFFIX!r}, which names dead letters"
        )
    return stream


def check_group(group: object) -> str:
    """``group`` when every backend can use it as a consumer group; :class:`InvalidQueueName`
    if not: 1 to :data:`MAX_NAME` of ASCII letters, digits, ``_`` and ``-`` (no dot)."""
    return _check_word(group, "group")


def check_consumer(name: object) -> str:
    """``name`` when every backend can use it for a member of a consumer group; the rule of
    :func:`check_group`, :class:`InvalidQueueName` if not."""
    return _check_word(name, "consumer")


def _check_word(name: object, what: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidQueueName(f"a {what} name is required, got {name!r}")
    if len(name) > MAX_NAME:
        raise InvalidQueueName(f"{what} name {name[:20]!r}… is longer than {MAX_NAME} characters")
    if not _GROUP.fullmatch(name):
        raise InvalidQueueName(f"{what} name {name!r} may hold only {_RULE}")
    return name


def check_seconds(value: object, what: str) -> float:
    """``value`` as float when it is a positive, finite number of seconds; ValidationError if
    not (a bool, a string, None, zero, negative, NaN or infinite)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValidationError(f"{what} must be a positive number of seconds, got {value!r}")
    return float(value)


def check_max_messages(value: object) -> int:
    """``value`` when it is a whole number of at least 1 (not a bool); ValidationError if not."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"max_messages must be a whole number of at least 1, got {value!r}")
    return value


@dataclass(frozen=True)
class Delivery:
    """One message handed to a consumer; ``ack`` it once acted on."""

    message_id: str
    data: bytes
    deliveries: int
    _ack: Callable[[], Awaitable[None]]
    receipt: Any = None  # the backend's handle for acking many at once (a Redis entry id)

    async def ack(self) -> None:
        await self._ack()


@dataclass(frozen=True)
class DeadLetter:
    """A message no consumer could use, and why."""

    message_id: str
    data: bytes
    reason: str


class StreamConsumer(ABC):
    """One named member of a consumer group on one stream."""

    async def fetch(self, max_messages: int = 64, timeout: float = 1.0) -> list[Delivery]:
        """Up to ``max_messages`` deliveries, reclaimed ones first; waits up to ``timeout``.

        ``max_messages`` is a whole number of at least 1 and ``timeout`` a positive,
        finite number of seconds; anything else raises ValidationError at once.
        """
        return await self._fetch(
            check_max_messages(max_messages), check_seconds(timeout, "timeout")
        )

    @abstractmethod
    async def _fetch(self, max_messages: int, timeout: float) -> list[Delivery]:
        """The backend's part of :meth:`fetch` (both arguments checked)."""

    async def ack_many(self, deliveries: list[Delivery]) -> None:
        """Acknowledge several deliveries (backends that can do it in one request override)."""
        for delivery in deliveries:
            await delivery.ack()

    async def close(self) -> None:  # noqa: B027 - most consumers hold nothing of their own
        """Stop consuming (pending deliveries stay pending for the group)."""


class Transport(ABC):
    """A connection to one queue backend.

    Stream, group and consumer names follow :func:`check_stream`, :func:`check_group`
    and :func:`check_consumer`, ``claim_after`` :func:`check_seconds`: the same rule on
    every backend, checked before the backend is asked anything.
    """

    url: str

    async def publish(self, stream: str, message_id: str, data: bytes) -> None:
        """Append one message to ``stream``."""
        await self._publish(check_stream(stream), message_id, data)

    async def publish_many(self, stream: str, items: Sequence[tuple[str, bytes]]) -> None:
        """Append several ``(message_id, data)`` in order (backends that can, in one request)."""
        await self._publish_many(check_stream(stream), items)

    async def consumer(
        self, stream: str, group: str, name: str, *, claim_after: float = 30.0
    ) -> StreamConsumer:
        """A member ``name`` of ``group`` on ``stream`` (the group is created when missing)."""
        return await self._consumer(
            check_stream(stream),
            check_group(group),
            check_consumer(name),
            check_seconds(claim_after, "claim_after"),
        )

    async def dead_letter(self, stream: str, message_id: str, data: bytes, reason: str) -> None:
        """Put a message that cannot be used on ``stream``'s dead-letter stream."""
        await self._dead_letter(check_stream(stream), message_id, data, reason)

    async def dead_letters(self, stream: str) -> list[DeadLetter]:
        """Every dead letter of ``stream``, oldest first."""
        return await self._dead_letters(check_stream(stream))

    async def delete_stream(self, stream: str) -> bool:
        """Remove ``stream``: its messages, consumer groups and dead letters.

        True if it existed. A later publish starts a new, empty stream of that
        name. Close its consumers first: what an open one sees afterwards depends
        on the backend.
        """
        return await self._delete_stream(check_stream(stream))

    # The backends' parts: every name and number they get was checked above.

    @abstractmethod
    async def _publish(self, stream: str, message_id: str, data: bytes) -> None: ...

    async def _publish_many(self, stream: str, items: Sequence[tuple[str, bytes]]) -> None:
        for message_id, data in items:
            await self._publish(stream, message_id, data)

    @abstractmethod
    async def _consumer(
        self, stream: str, group: str, name: str, claim_after: float
    ) -> StreamConsumer: ...

    @abstractmethod
    async def _dead_letter(
        self, stream: str, message_id: str, data: bytes, reason: str
    ) -> None: ...

    @abstractmethod
    async def _dead_letters(self, stream: str) -> list[DeadLetter]: ...

    @abstractmethod
    async def _delete_stream(self, stream: str) -> bool: ...

    @abstractmethod
    async def close(self) -> None:
        """Release the connection."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
