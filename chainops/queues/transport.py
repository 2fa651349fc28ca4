"""The backend interface: append-only streams, consumer groups, acks, dead letters.

A backend moves opaque bytes with a message id. Delivery is at least once: a
delivery that is not acknowledged is handed again, to the same group, after
``claim_after`` seconds (a consumer that died with messages pending loses
them to its peers).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from chainops.core.errors import ValidationError

__all__ = ["DeadLetter", "Delivery", "StreamConsumer", "Transport", "redacted"]

_USERINFO = re.compile(r"(://)([^/@]*)@")


def redacted(url: str) -> str:
    """``url`` fit for messages and logs: a password (or a bare token) becomes ``***``."""

    def hide(m: re.Match[str]) -> str:
        user, colon, _ = m.group(2).partition(":")
        return f"{m.group(1)}{user}:***@" if colon else f"{m.group(1)}***@"

    return _USERINFO.sub(hide, url, count=1)


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

    @abstractmethod
    async def fetch(self, max_messages: int = 64, timeout: float = 1.0) -> list[Delivery]:
        """Up to ``max_messages`` deliveries, reclaimed ones first; waits up to ``timeout``."""

    async def ack_many(self, deliveries: list[Delivery]) -> None:
        """Acknowledge several deliveries (backends that can do it in one request override)."""
        for delivery in deliveries:
            await delivery.ack()

    async def close(self) -> None:  # noqa: B027 - most consumers hold nothing of their own
        """Stop consuming (pending deliveries stay pending for the group)."""


class Transport(ABC):
    """A connection to one queue backend."""

    url: str

    @abstractmethod
    async def publish(self, stream: str, message_id: str, data: bytes) -> None:
        """Append one message to ``stream``."""

    async def publish_many(self, stream: str, items: Sequence[tuple[str, bytes]]) -> None:
        """Append several ``(message_id, data)`` in order (backends that can, in one request)."""
        for message_id, data in items:
            await self.publish(stream, message_id, data)

    @abstractmethod
    async def consumer(
        self, stream: str, group: str, name: str, *, claim_after: float = 30.0
    ) -> StreamConsumer:
        """A member ``name`` of ``group`` on ``stream`` (the group is created when missing)."""

    @abstractmethod
    async def dead_letter(self, stream: str, message_id: str, data: bytes, reason: str) -> None:
        """Put a message that cannot be used on ``stream``'s dead-letter stream."""

    @abstractmethod
    async def dead_letters(self, stream: str) -> list[DeadLetter]:
        """Every dead letter of ``stream``, oldest first."""

    async def delete_stream(self, stream: str) -> bool:
        """Remove ``stream``: its messages, consumer groups and dead letters.

        True if it existed. A later publish starts a new, empty stream of that
        name. Close its consumers first: what an open one sees afterwards depends
        on the backend. A missing or blank name raises ValidationError, before
        the backend is asked anything.
        """
        if not isinstance(stream, str) or not stream.strip():
            raise ValidationError(f"a stream name is required, got {stream!r}")
        return await self._delete_stream(stream)

    @abstractmethod
    async def _delete_stream(self, stream: str) -> bool:
        """The backend's part of :meth:`delete_stream` (``stream`` is a checked name)."""

    @abstractmethod
    async def close(self) -> None:
        """Release the connection."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
