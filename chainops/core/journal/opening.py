"""Open a journal from what the user wrote: a file path (SQLite) or a URL (PostgreSQL)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from chainops.core.errors import ConfigurationError
from chainops.core.journal.base import Journal
from chainops.core.journal.sqlite import SqliteJournal

__all__ = ["is_database_url", "open_journal"]

_URL_SCHEMES = ("postgresql://", "postgres://")


def is_database_url(target: object) -> bool:
    """True for a ``postgresql://`` (or ``postgres://``) URL, which selects PostgreSQL."""
    return isinstance(target, str) and target.lower().startswith(_URL_SCHEMES)


def open_journal(target: str | os.PathLike[str] | None, **options: Any) -> Journal:
    """A PostgreSQL journal for a URL, a SQLite one for a path, in memory for None.

    ``options`` go to the store's constructor (``synchronous=`` for SQLite,
    ``schema=`` / ``connect_timeout=`` for PostgreSQL).
    """
    if target is None:
        return SqliteJournal(":memory:", **options)
    if is_database_url(target):
        try:
            from chainops.core.journal.postgres import PostgresJournal
        except ImportError as exc:  # the optional dependency is missing
            raise ConfigurationError(
                f"a PostgreSQL journal needs psycopg: pip install 'chainops[postgres]' ({exc})"
            ) from exc
        return PostgresJournal(str(target), **options)
    text = os.fspath(target)
    if "://" in str(text):
        raise ConfigurationError(
            f"journal {text!r}: only postgresql:// URLs or file paths are supported"
        )
    return SqliteJournal(Path(text), **options)
