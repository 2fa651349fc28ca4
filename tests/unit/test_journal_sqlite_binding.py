"""The SQLite journal binds bytes and None without sqlite3's adapter search."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from chainops.core.journal import sqlite as sqlite_journal

_NONE = (type(None), sqlite3.PrepareProtocol)
_BYTES = (bytes, sqlite3.PrepareProtocol)


@pytest.fixture
def registry() -> Iterator[dict[object, object]]:
    saved = dict(sqlite3.adapters)
    try:
        yield sqlite3.adapters
    finally:
        sqlite3.adapters.clear()
        sqlite3.adapters.update(saved)


def test_bytes_and_none_are_stored_as_given(registry: dict[object, object]) -> None:
    sqlite3.adapters.pop(_NONE, None)
    sqlite3.adapters.pop(_BYTES, None)
    sqlite_journal.bind_without_adapting()
    assert _NONE in registry and _BYTES in registry
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (a, b)")
    conn.execute("INSERT INTO t VALUES (?, ?)", (None, b"\x00\xff"))
    assert conn.execute("SELECT a, typeof(a), b, typeof(b) FROM t").fetchall() == [
        (None, "null", b"\x00\xff", "blob")
    ]


def test_an_adapter_registered_before_is_kept(registry: dict[object, object]) -> None:
    def theirs(value: object) -> str:
        return "nothing"

    sqlite3.register_adapter(type(None), theirs)
    sqlite_journal.bind_without_adapting()
    assert registry[_NONE] is theirs
