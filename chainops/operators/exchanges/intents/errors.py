"""Typed errors of the intents layer, raised before anything is sent."""

from __future__ import annotations

from chainops.core.errors import ValidationError

__all__ = ["InconsistentGroup", "IntentError", "IntentFinished", "UnknownIntent"]


class IntentError(ValidationError):
    """An intent request that cannot be honoured."""


class UnknownIntent(IntentError):
    """No intent has this id."""


class IntentFinished(IntentError):
    """The intent is already FILLED, CANCELED or FAILED: it cannot be modified."""


class InconsistentGroup(IntentError):
    """The legs of an order group do not fit together (pair, side, amount, prices)."""
