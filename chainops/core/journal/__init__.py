"""The durable journal: the :class:`Journal` interface, the embedded SQLite store, and
:func:`open_journal` (a path or a ``postgresql://`` URL; ``postgres.py`` needs the extra)."""

from __future__ import annotations

from chainops.core.journal import base, leases, opening, sqlite
from chainops.core.journal.base import *  # noqa: F403
from chainops.core.journal.leases import *  # noqa: F403
from chainops.core.journal.opening import *  # noqa: F403
from chainops.core.journal.sqlite import *  # noqa: F403

__all__ = [*base.__all__, *leases.__all__, *sqlite.__all__, *opening.__all__]

# Importable from here, but only on use: they need an optional dependency.
OPTIONAL = {
    "PostgresJournal": "chainops.core.journal.postgres",
    "PostgresLeases": "chainops.core.journal.leases_pg",
}


def __getattr__(name: str) -> object:
    if name in OPTIONAL:
        import importlib

        return getattr(importlib.import_module(OPTIONAL[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
