"""How urgently an operation should execute: the fee urgency every chain prices."""

from __future__ import annotations

from chainops.core.history import LabelEnum

__all__ = ["Priority"]


class Priority(LabelEnum):
    """How urgently a transaction should be included (by name, any case)."""

    SLOW = "SLOW"
    NORMAL = "NORMAL"
    FAST = "FAST"
