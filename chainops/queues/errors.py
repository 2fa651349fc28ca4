"""Errors of the queue layer."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from chainops.core.errors import ChainopsError, InvalidIdentifier, Rejected, ValidationError

__all__ = [
    "AmendRefused",
    "InvalidQueueName",
    "MalformedCommand",
    "MalformedMessage",
    "QueueError",
    "QueueUnavailable",
    "UnsupportedCommand",
    "UnsupportedQueueUrl",
    "typed_errors",
]


class QueueError(ChainopsError):
    """A message queue could not do what was asked."""


class QueueUnavailable(QueueError):
    """The queue server did not answer; check it runs and the URL points at it."""


class UnsupportedQueueUrl(ValidationError):
    """The events URL is malformed or names no known backend (``memory://``, ``redis://``,
    ``nats://``)."""


class InvalidQueueName(InvalidIdentifier):
    """A stream, group or consumer name that not every backend can carry (see
    ``transport.check_stream``, ``check_group``, ``check_consumer``)."""


class MalformedMessage(QueueError):
    """A message could not be decoded or names an unknown type; it goes to the dead letters."""


class MalformedCommand(ValidationError):
    """A command that did not decode or names an unknown command type (dead-lettered)."""


class UnsupportedCommand(ValidationError):
    """A command this operator service does not serve (e.g. a swap sent to an exchange)."""


class AmendRefused(Rejected):
    """The order cannot be amended: it finished (filled, cancelled elsewhere) or nothing is left."""


@contextlib.contextmanager
def typed_errors(
    where: str, down: tuple[type[BaseException], ...], refused: type[BaseException]
) -> Iterator[None]:
    """A backend client's errors as ours: ``down`` (the server gone or silent) becomes
    :class:`QueueUnavailable`, ``refused`` (any other error of the client) :class:`QueueError`."""
    try:
        yield
    except down as exc:
        raise QueueUnavailable(f"{where}: {str(exc) or 'no answer in time'}") from exc
    except refused as exc:
        raise QueueError(f"{where}: {exc}") from exc
