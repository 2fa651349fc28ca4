"""The embedded journal: one SQLite file in WAL mode (see ``base.py`` for the interface)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from chainops.core.attempt import TxAttempt
from chainops.core.errors import JournalError
from chainops.core.history import HistoryEntry, now_us
from chainops.core.journal.base import Journal
from chainops.core.journal.listing import SqlListing
from chainops.core.journal.rows import (
    ATTEMPT_COLUMNS,
    ATTEMPT_STATE_COLUMNS,
    HISTORY_COLUMNS,
    V2_HISTORY_COLUMNS,
    ExecuteMany,
    RowWriter,
    Written,
    attempt_from_row,
    build_operations,
    decode_operation,
    runs_from_v2_rows,
    text_time,
)
from chainops.core.operation import Operation
from chainops.core.transaction import Transaction

__all__ = ["SqliteJournal"]

SCHEMA_VERSION = 3
_CLIENT_ID_BODY = 17  # time + tag characters of a ClientIdGenerator id
_STORED = "kind, version, venue_id, terminal"  # what _write needs of a stored copy

_SCHEMA = """
CREATE TABLE IF NOT EXISTS operations (
    client_id  TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    platform   TEXT NOT NULL,
    owner      TEXT NOT NULL,
    venue_id   TEXT,
    state      TEXT NOT NULL,
    terminal   INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS operations_venue ON operations (venue_id) WHERE venue_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS operations_open ON operations (created_at) WHERE terminal = 0;
CREATE INDEX IF NOT EXISTS operations_owner ON operations (owner, platform, created_at);
CREATE INDEX IF NOT EXISTS operations_platform ON operations (platform, created_at);
CREATE TABLE IF NOT EXISTS tx_attempts (
    client_id     TEXT NOT NULL REFERENCES operations (client_id) ON DELETE CASCADE,
    attempt_index INTEGER NOT NULL,
    hash          TEXT NOT NULL UNIQUE,
    raw           BLOB NOT NULL,
    nonce         INTEGER,
    fee           TEXT NOT NULL,
    kind          TEXT NOT NULL,
    blockhash     TEXT,
    last_valid_block_height INTEGER,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (client_id, attempt_index)
);
CREATE TABLE IF NOT EXISTS kv (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""

# Schema 2: history entries as rows; attempts keep the broadcast time they were signed with.
# Every listing by platform also names the owner (operations_owner serves it), and each
# index is one more page in every new operation's commit: the platform-only one goes.
_SCHEMA_2 = """
CREATE TABLE history (
    client_id   TEXT NOT NULL REFERENCES operations (client_id) ON DELETE CASCADE,
    entry_index INTEGER NOT NULL,
    at_us       INTEGER NOT NULL,
    change      TEXT NOT NULL,
    previous    TEXT,
    state       TEXT NOT NULL,
    ref         TEXT,
    reason      TEXT,
    update_seq  TEXT,
    PRIMARY KEY (client_id, entry_index)
) WITHOUT ROWID;
ALTER TABLE tx_attempts ADD COLUMN broadcast_at TEXT;
DROP INDEX IF EXISTS operations_platform
"""

_HAS_HASH = "SELECT 1 FROM tx_attempts WHERE hash = ?"
# Schema 3: a save's new history entries in one row (a run), not one row each.
_HISTORY_RUNS = """
CREATE TABLE IF NOT EXISTS history_runs (
    client_id   TEXT NOT NULL REFERENCES operations (client_id) ON DELETE CASCADE,
    first_index INTEGER NOT NULL,
    entries     BLOB NOT NULL,
    PRIMARY KEY (client_id, first_index)
) WITHOUT ROWID
"""

_ROWS = RowWriter("?", text_body=False, flag=int)


def _same(value: None) -> None:
    return value


def bind_without_adapting() -> None:
    """Let ``bytes`` and ``None`` parameters skip sqlite3's adapter search.

    sqlite3 binds an exact int, float or str directly, but looks for an adapter for
    every other parameter, and for ``bytes`` and ``None`` the search ends in two
    failed attribute lookups: an ``AttributeError`` built, formatted and dropped each
    time (about 15,000 instructions of a transfer's two saves, 8 % of their SQL work).
    A registered adapter is found at once; these return what they are given, so what
    is stored does not change. An adapter registered before this one is kept.
    """
    if (bytes, sqlite3.PrepareProtocol) not in sqlite3.adapters:
        sqlite3.register_adapter(bytes, bytes)  # bytes(b) is b itself
    if (type(None), sqlite3.PrepareProtocol) not in sqlite3.adapters:
        sqlite3.register_adapter(type(None), _same)


bind_without_adapting()


class SqliteJournal(SqlListing, Journal):
    """The journal in one SQLite file (WAL mode).

    Thread-safe: one connection behind a lock. From asyncio, call it
    directly: a write is one small transaction (microseconds, plus one fsync
    per commit with ``synchronous="FULL"``), cheaper than a thread hop; on a
    slow disk wrap calls in ``asyncio.to_thread``.

    ``synchronous="FULL"`` (default) fsyncs every commit, so a journalled
    attempt survives power loss before it is broadcast; ``"NORMAL"`` survives
    process crashes but may lose the last commits on power loss (fine for
    tests and throwaway devnets).
    """

    _MARK = "?"
    _OPEN = "terminal = 0"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        busy_timeout_ms: int = 5000,
    ) -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise JournalError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
        self.path = str(path)
        self._lock = threading.RLock()
        self._depth = 0
        self._closed = False
        self._files: tuple[tuple[int, int] | None, ...] | None = None
        # the live operations this journal wrote: their next saves append after that
        self._written = Written()
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,  # we issue BEGIN/COMMIT ourselves
                check_same_thread=False,  # guarded by self._lock
                timeout=busy_timeout_ms / 1000,
            )
        except (OSError, sqlite3.Error) as exc:
            raise JournalError(f"cannot open journal {self.path!r}: {exc}") from exc
        self._conn = conn
        try:
            # WAL: readers never block the writer and a crash mid-commit never corrupts
            conn.execute("PRAGMA journal_mode=WAL").fetchone()
            conn.execute(f"PRAGMA synchronous={synchronous}")
            # another process (e.g. the CLI) holding the write lock: wait, don't fail
            conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            conn.execute("PRAGMA foreign_keys=ON")  # attempts never outlive their tx
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise JournalError(
                    f"journal {self.path!r} has schema {version}, newer than {SCHEMA_VERSION}"
                )
            if version < SCHEMA_VERSION:
                with self.atomic():
                    # again under the write lock: another process may have just migrated
                    version = conn.execute("PRAGMA user_version").fetchone()[0]
                    if version < 1:
                        self._create_schema()  # one by one: executescript would COMMIT
                    if version < 2:
                        self._migrate_to_2()
                    if version < 3:
                        self._migrate_to_3()
                    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            # the files this connection writes; a commit into others would be lost
            self._files = self._file_ids() if self.path != ":memory:" else None
        except sqlite3.Error as exc:
            conn.close()
            raise JournalError(f"cannot use journal {self.path!r}: {exc}") from exc
        except JournalError:
            conn.close()
            raise

    def _create_schema(self) -> None:
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                self._conn.execute(statement)

    def _migrate_to_2(self) -> None:
        """Move schema-1 operations (whole JSON bodies) to state + history rows."""
        for statement in _SCHEMA_2.split(";"):
            self._conn.execute(statement)
        self._conn.execute(_HISTORY_RUNS)  # where today's writer puts the history
        old = self._conn.execute(
            "SELECT kind, version, venue_id, terminal, body FROM operations"
        ).fetchall()
        for *stored, body in old:
            self._write(decode_operation(body), stored)

    def _migrate_to_3(self) -> None:
        """Move schema-2 history rows (one per entry) into runs (one per operation)."""
        conn = self._conn
        conn.execute(_HISTORY_RUNS)
        old = conn.execute(
            f"SELECT client_id, {V2_HISTORY_COLUMNS} FROM history ORDER BY client_id, entry_index"
        )
        conn.executemany(_ROWS.insert_history, runs_from_v2_rows(old, text=False))
        conn.execute("DROP TABLE history")

    # -- plumbing ----------------------------------------------------------

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Group writes into one SQL transaction; an exception rolls all of it back."""
        with self._lock:
            self._check_open()
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            try:
                self._conn.execute("BEGIN IMMEDIATE")  # take the write lock up front
            except sqlite3.Error as exc:
                raise JournalError(f"journal {self.path!r}: cannot begin: {exc}") from exc
            self._depth = 1
            try:
                yield
            except BaseException as exc:
                self._depth = 0
                self._rollback()
                if isinstance(exc, sqlite3.Error):
                    raise JournalError(f"journal {self.path!r}: {exc}") from exc
                raise
            self._depth = 0
            try:
                self._check_files()
            except JournalError:
                self._rollback()
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise JournalError(f"journal {self.path!r}: commit failed: {exc}") from exc

    def _rollback(self) -> None:
        self._written.clear()  # rolled-back writes: the next saves rewrite whole copies
        # if SQLite already ended the transaction there is nothing to roll back
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("ROLLBACK")

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            self._check_open()
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise JournalError(f"journal {self.path!r}: {exc}") from exc

    def _file_ids(self) -> tuple[tuple[int, int] | None, ...]:
        return (_identity(self.path), _identity(self.path + "-wal"))

    def _check_files(self) -> None:
        """Refuse to commit when the database or WAL file is no longer the one opened.

        A ``-wal`` file deleted (or a database replaced) under a live connection takes
        every later commit with it: "journalled" writes that a restart never sees.
        """
        if self._files is None:
            return
        now = self._file_ids()
        if now[0] == self._files[0] and self._files[1] is None and now[1] is not None:
            self._files = now  # the WAL appeared with the first write: adopt it
        if now == self._files:
            return
        raise JournalError(
            f"journal {self.path!r}: its database or WAL file was deleted or replaced while "
            "open; refusing to write (nothing after this is sent). Restart the operator."
        )

    def _check_open(self) -> None:
        if self._closed:
            raise JournalError(f"journal {self.path!r} is closed")

    def _hydrate(self, rows: list[Any]) -> list[Operation[Any]]:
        """Operations from (client_id, kind, body) rows, with their history and attempts."""
        history: list[Any] = []
        attempts: list[Any] = []
        ids = [row[0] for row in rows]
        for chunk in range(0, len(ids), 500):  # SQLite binds at most 32,766 parameters
            part = tuple(ids[chunk : chunk + 500])
            marks = ", ".join("?" * len(part))
            history += self._read(
                f"SELECT client_id, {HISTORY_COLUMNS} FROM history_runs"
                f" WHERE client_id IN ({marks}) ORDER BY client_id, first_index",
                part,
            )
            attempts += self._read(
                f"SELECT client_id, {ATTEMPT_STATE_COLUMNS} FROM tx_attempts"
                f" WHERE client_id IN ({marks}) ORDER BY client_id, attempt_index",
                part,
            )
        return build_operations(rows, history, attempts)

    # -- writes ------------------------------------------------------------

    def save(self, operation: Operation[Any]) -> None:
        with self.atomic():
            self._save(operation, self._conn.executemany, {})

    def save_many(self, operations: Iterable[Operation[Any]]) -> None:
        """Save several operations in one transaction: the stored copies they replace
        read in one query, their history rows inserted in one executemany."""
        group = list(operations)
        with self.atomic():
            known = self._stored_copies(group)
            rows: list[Sequence[Any]] = []
            pending: set[str] = set()  # client ids whose history rows wait in ``rows``

            def defer(sql: str, more: Sequence[Sequence[Any]]) -> None:
                rows.extend(more)  # only ever the history insert (RowWriter's sole executemany)

            for operation in group:
                client_id = str(operation.client_id)
                if client_id in pending:  # a second copy: its rows must follow the first's
                    self._insert_history(rows)
                    pending.clear()
                pending.add(client_id)
                self._save(operation, defer, known)
                known.pop(client_id, None)  # written now: a later copy reads it again
            self._insert_history(rows)

    def _stored_copies(self, group: Sequence[Operation[Any]]) -> dict[str, Sequence[Any] | None]:
        """What :meth:`_write` needs of each operation this journal did not write last."""
        wanted = []
        for operation in group:
            mine = self._written.get(str(operation.client_id))
            if mine is None or mine() is not operation:
                wanted.append(str(operation.client_id))
        found: dict[str, Sequence[Any] | None] = dict.fromkeys(wanted)
        for start in range(0, len(wanted), 500):  # SQLite binds at most 32,766 parameters
            part = wanted[start : start + 500]
            marks = ", ".join("?" * len(part))
            query = f"SELECT client_id, {_STORED} FROM operations WHERE client_id IN ({marks})"
            for client_id, *stored in self._conn.execute(query, part):
                found[client_id] = stored
        return found

    def _insert_history(self, rows: list[Sequence[Any]]) -> None:
        if rows:
            self._conn.executemany(_ROWS.insert_history, rows)
            rows.clear()

    def _save(
        self, operation: Operation[Any], execute_many: ExecuteMany, known: dict[str, Any]
    ) -> None:
        """Save one operation; ``known``: stored copies read before (by client id)."""
        conn = self._conn
        entries = _ROWS.append(conn.execute, execute_many, operation, self._written)
        if entries is None:
            client_id = str(operation.client_id)
            if client_id in known:
                stored = known[client_id]
            else:
                query = f"SELECT {_STORED} FROM operations WHERE client_id = ?"
                stored = conn.execute(query, (client_id,)).fetchone()
            self._write(operation, stored, execute_many)
            return
        if isinstance(operation, Transaction):
            self._save_attempts(operation, entries, False)

    def _write(
        self,
        operation: Operation[Any],
        stored: Sequence[Any] | None,
        execute_many: ExecuteMany | None = None,
    ) -> None:
        """Write what changed since the stored copy (see :meth:`RowWriter.write`)."""
        conn = self._conn
        entries, everything = _ROWS.write(
            conn.execute, execute_many or conn.executemany, operation, stored, self._written
        )
        if isinstance(operation, Transaction):
            self._save_attempts(operation, entries, everything)
        _ROWS.remember(self._written, operation)

    def _save_attempts(
        self, tx: Transaction, entries: Sequence[HistoryEntry], everything: bool
    ) -> None:
        _ROWS.write_attempts(self._conn.execute, tx, entries, everything)

    def set_value(self, key: str, value: str) -> None:
        with self.atomic():
            self._conn.execute(
                "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at",
                (key, value, text_time(now_us())),
            )

    def set_max(self, key: str, value: int) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise JournalError(f"set_max needs an int, got {value!r}")
        with self.atomic():
            row = self._conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
            current = None if row is None else int(row[0])
            if current is not None and current >= value:
                return current
            self.set_value(key, str(value))
            return value

    # -- reads -------------------------------------------------------------

    def find_by_venue_id(self, venue_id: str, platform: str | None = None) -> Operation[Any] | None:
        ident = str(venue_id)
        candidates = {ident, ident.lower()} if ident.startswith("0x") else {ident}
        marks = ", ".join("?" * len(candidates))
        sql = (
            "SELECT client_id, kind, body FROM operations"
            f" WHERE (venue_id IN ({marks}) OR client_id IN (SELECT"
            f" client_id FROM tx_attempts WHERE hash IN ({marks})))"
        )
        params: tuple[Any, ...] = (*candidates, *candidates)
        if platform is not None:
            sql += " AND platform = ?"
            params += (platform.lower(),)
        rows = self._read(sql, params)
        if len(rows) > 1:
            raise JournalError(f"venue id {ident!r} is used on several platforms; pass platform")
        return self._hydrate(rows)[0] if rows else None

    def has_attempt_hash(self, tx_hash: str) -> bool:
        return bool(self._read(_HAS_HASH, (str(tx_hash),)))

    def attempts(self, client_id: str) -> list[TxAttempt]:
        rows = self._read(
            f"SELECT {ATTEMPT_COLUMNS} FROM tx_attempts WHERE client_id = ? ORDER BY attempt_index",
            (str(client_id),),
        )
        return [attempt_from_row(r) for r in rows]

    def last_client_id(self, prefix: str = "") -> str | None:
        rows = self._read(
            "SELECT max(client_id) FROM operations"
            " WHERE substr(client_id, 1, ?) = ? AND length(client_id) = ?",
            (len(prefix), prefix, len(prefix) + _CLIENT_ID_BODY),
        )
        value = rows[0][0] if rows else None
        return None if value is None else str(value)

    def get_value(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM kv WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()


def _identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of a file, None if it does not exist."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return (info.st_dev, info.st_ino)
