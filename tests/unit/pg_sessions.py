"""Worker sessions on one PostgreSQL schema, for the lease and claim store tests.

Imported only by tests that already skipped without psycopg.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

from pg_helpers import pg_url

from chainops.core.journal.leases_pg import PostgresLeases
from chainops.core.journal.postgres import PostgresJournal


class Session:
    """One worker's session: a journal and the lease and claim store on it."""

    def __init__(self, schema: str, expiry: float = 30.0) -> None:
        self.journal = PostgresJournal(pg_url(), schema=schema)
        self.store = PostgresLeases(self.journal, expiry=expiry)

    def close(self) -> None:
        self.journal.close()


S = TypeVar("S", bound=Session)
S_co = TypeVar("S_co", bound=Session, covariant=True)


class Spawn(Protocol[S_co]):
    def __call__(self, opened: list[Any], schema: str, expiry: float = 30.0) -> S_co: ...


def sessions() -> Iterator[list[Any]]:
    """A fixture body: the sessions a test opens, closed after it."""
    made: list[Session] = []
    yield made
    for s in made:
        s.close()


def opener(kind: Callable[[str, float], S]) -> Spawn[S]:
    """``spawn(opened, schema, expiry=30.0)``: a new session, closed with the test."""

    def spawn(opened: list[Any], schema: str, expiry: float = 30.0) -> S:
        s = kind(schema, expiry)
        opened.append(s)
        return s

    return spawn
