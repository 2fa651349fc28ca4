"""Durations callers give (deadlines, timeouts): seconds as finite numbers, checked alike."""

from __future__ import annotations

import math
from decimal import Decimal

from chainops.core.errors import ValidationError

__all__ = ["check_seconds"]


def check_seconds(value: object, what: str, *, zero_ok: bool = False) -> float:
    """``value`` seconds as a float: a finite int, float or Decimal, above zero (or at
    least zero with ``zero_ok``); anything else (a bool, a string, NaN) is a ValidationError."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValidationError(
            f"{what} must be a number of seconds, not {type(value).__name__} {value!r}"
        )
    seconds = float(value)
    if not math.isfinite(seconds):
        raise ValidationError(f"{what} must be finite, got {value!r}")
    if seconds < 0 or (seconds == 0 and not zero_ok):
        raise ValidationError(f"{what} must be {'>= 0' if zero_ok else 'positive'}, got {value!r}")
    return seconds
