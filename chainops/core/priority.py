"""How urgently an operation should execute: the fee urgency every chain prices."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Priority"]


class Priority(StrEnum):
    """How urgently a transaction should be included."""

    SLOW = "SLOW"
    NORMAL = "NORMAL"
    FAST = "FAST"
