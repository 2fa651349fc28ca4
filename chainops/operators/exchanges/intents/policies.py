"""What the reconciler does with an open order that no intent wants."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["OrphanPolicy"]


class OrphanPolicy(StrEnum):
    CANCEL = "cancel"  # cancel it at the venue
    ADOPT = "adopt"  # make it an intent of its own, kept live from then on
    REPORT = "report"  # leave it, count it and publish an event
