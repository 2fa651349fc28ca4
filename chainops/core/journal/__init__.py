"""The durable journal: the :class:`Journal` interface and the embedded SQLite store."""

from __future__ import annotations

from chainops.core.journal import base, sqlite
from chainops.core.journal.base import *  # noqa: F403
from chainops.core.journal.sqlite import *  # noqa: F403

__all__ = [*base.__all__, *sqlite.__all__]
