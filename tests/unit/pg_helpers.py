"""A PostgreSQL server for the journal tests: its URL, and a fresh schema per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

ENV = "CHAINOPS_TEST_POSTGRES_URL"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def pg_url() -> str:
    return os.environ.get(ENV, DEFAULT_URL)


def pg_reason() -> str | None:
    """Why PostgreSQL tests cannot run here, or None when the server answers."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed: pip install -e '.[postgres]'"
    try:
        psycopg.connect(pg_url(), connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"no PostgreSQL at {pg_url()} ({exc}); set {ENV} to a server's URL"
    return None


def require_pg() -> None:
    reason = pg_reason()
    if reason is not None:
        pytest.skip(reason)


def new_schema() -> str:
    """A schema name no other test run uses."""
    return f"t_{os.getpid()}_{uuid.uuid4().hex[:10]}"


def drop_schema(schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(pg_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def schema_fixture() -> Iterator[str]:
    """Body of a fixture: a fresh schema, dropped afterwards."""
    require_pg()
    schema = new_schema()
    try:
        yield schema
    finally:
        drop_schema(schema)
