"""Errors of the exchange layer: typed ChainopsError subclasses carrying the venue's code."""

from __future__ import annotations

from chainops.core.errors import (
    AuthenticationError,
    ChainopsError,
    InsufficientFunds,
    NotFound,
    RateLimited,
    Rejected,
    RpcPermanentError,
    ValidationError,
)

__all__ = [
    "DEFINITIVE",
    "InvalidCredentials",
    "RuleViolation",
    "UnknownTradingPair",
    "Unsupported",
    "VenueAuthError",
    "VenueError",
    "VenueInsufficientFunds",
    "VenueNotFound",
    "VenueRejected",
    "VenueRequestError",
]


class UnknownTradingPair(ValidationError):
    """The venue does not list this pair; nothing was sent."""


class RuleViolation(ValidationError):
    """Price or amount breaks a trading rule (tick, step, min/max, notional); nothing was sent."""


class Unsupported(ValidationError):
    """The adapter does not support this operation or option; nothing was sent."""


class InvalidCredentials(ValidationError):
    """The API secret or private key cannot sign: unreadable, the wrong key type, or both
    given; nothing was sent."""


class VenueError(ChainopsError):
    """Mixin data of an error reported by a venue: its numeric code and message."""

    code: int | None = None
    venue_message: str = ""
    data: object = None  # structured detail some replies carry (cancel-replace outcomes)


class VenueRejected(Rejected, VenueError):
    """The venue refused the request; it never executed."""


class VenueInsufficientFunds(InsufficientFunds, VenueError):
    """The venue says the account cannot pay."""


class VenueNotFound(NotFound, VenueError):
    """The venue says the order (or object) does not exist."""


class VenueAuthError(AuthenticationError, VenueError):
    """Bad key, bad signature, or a timestamp outside the receive window."""


class VenueRequestError(RpcPermanentError, VenueError):
    """The request was malformed in the venue's eyes."""


# a venue refusal that settles the outcome: the request did not execute and never will
DEFINITIVE = (Rejected, InsufficientFunds, AuthenticationError, RpcPermanentError, RateLimited)


def venue_error(cls: type[VenueError], code: int | None, message: str) -> VenueError:
    """An instance of ``cls`` with the venue's code and message attached."""
    error = cls(f"{message} (code {code})" if code is not None else message)
    error.code = code
    error.venue_message = message
    return error
