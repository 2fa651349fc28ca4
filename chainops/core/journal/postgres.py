"""The shared journal: PostgreSQL, for several processes on several hosts (see ``base.py``).

Same interface and guarantees as the SQLite store, plus what several writers
need: inside ``atomic()`` a read of a value (:meth:`get_value`, and so
:meth:`set_max`) locks that key until the block ends, so a read-modify-write
such as taking the next nonce is serialised across every process sharing the
database. The schema carries a version; migrations run on open under an
advisory lock, and a schema newer than this code is refused.

A lost connection raises :class:`JournalUnavailable` (nothing is sent without
its write); the next call reconnects, so work resumes once the server answers.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from chainops.core.attempt import TxAttempt
from chainops.core.errors import JournalError, JournalSchemaError, JournalUnavailable
from chainops.core.history import HistoryEntry, now_us
from chainops.core.journal.base import Journal
from chainops.core.journal.leases_pg import CLAIM_MIGRATION, LEASE_MIGRATION
from chainops.core.journal.listing import SqlListing
from chainops.core.journal.rows import (
    ATTEMPT_COLUMNS,
    ATTEMPT_STATE_COLUMNS,
    HISTORY_COLUMNS,
    V2_HISTORY_COLUMNS,
    RowWriter,
    Written,
    attempt_from_row,
    attempt_rows,
    build_operations,
    decode_operation,
    runs_from_v2_rows,
    text_time,
)
from chainops.core.operation import Operation
from chainops.core.transaction import Transaction

__all__ = ["PostgresJournal"]

DEFAULT_SCHEMA = "chainops"
_CLIENT_ID_BODY = 17  # time + tag characters of a ClientIdGenerator id
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

Step = str | Callable[[psycopg.Connection[Any]], None]


_HISTORY_RUNS = """CREATE TABLE IF NOT EXISTS history_runs (
    client_id   TEXT COLLATE "C" NOT NULL REFERENCES operations (client_id) ON DELETE CASCADE,
    first_index INTEGER NOT NULL,
    entries     TEXT NOT NULL,
    PRIMARY KEY (client_id, first_index)
)"""


def _convert_whole_bodies(conn: psycopg.Connection[Any]) -> None:
    """Schema 2: split the schema-1 bodies (whole operations) into state and rows."""
    conn.execute(_HISTORY_RUNS)  # where today's writer puts the history
    old = conn.execute("SELECT kind, version, venue_id, terminal, body FROM operations")
    for *stored, body in old.fetchall():
        operation = decode_operation(body)
        entries, _ = _write(conn, operation, stored, Written())
        if isinstance(operation, Transaction):
            _ROWS.write_attempts(conn.execute, operation, entries, True)


def _history_into_runs(conn: psycopg.Connection[Any]) -> None:
    """Schema 5: the schema-2 history rows (one per entry) as runs (one per operation)."""
    old = conn.execute(
        f"SELECT client_id, {V2_HISTORY_COLUMNS} FROM history ORDER BY client_id, entry_index"
    ).fetchall()
    runs = runs_from_v2_rows(old, text=True)
    if runs:
        with conn.cursor() as cur:
            cur.executemany(_ROWS.insert_history, runs)


# One tuple of steps (SQL, or a function of the connection) per version; never edit a
# released one, append a new one.
# COLLATE "C": ids and timestamps sort bytewise, as in SQLite, whatever the server locale.
_MIGRATIONS: tuple[tuple[Step, ...], ...] = (
    (
        """CREATE TABLE operations (
            client_id  TEXT COLLATE "C" PRIMARY KEY,
            kind       TEXT NOT NULL,
            platform   TEXT NOT NULL,
            owner      TEXT NOT NULL,
            venue_id   TEXT,
            state      TEXT NOT NULL,
            terminal   BOOLEAN NOT NULL,
            version    INTEGER NOT NULL,
            created_at TEXT COLLATE "C" NOT NULL,
            updated_at TEXT NOT NULL,
            body       TEXT NOT NULL
        )""",
        "CREATE INDEX operations_venue ON operations (venue_id) WHERE venue_id IS NOT NULL",
        "CREATE INDEX operations_open ON operations (created_at) WHERE NOT terminal",
        "CREATE INDEX operations_owner ON operations (owner, platform, created_at)",
        "CREATE INDEX operations_platform ON operations (platform, created_at)",
        """CREATE TABLE tx_attempts (
            client_id     TEXT COLLATE "C" NOT NULL
                          REFERENCES operations (client_id) ON DELETE CASCADE,
            attempt_index INTEGER NOT NULL,
            hash          TEXT NOT NULL UNIQUE,
            raw           BYTEA NOT NULL,
            nonce         BIGINT,
            fee           TEXT NOT NULL,
            kind          TEXT NOT NULL,
            blockhash     TEXT,
            last_valid_block_height BIGINT,
            created_at    TEXT NOT NULL,
            PRIMARY KEY (client_id, attempt_index)
        )""",
        """CREATE TABLE kv (
            key        TEXT PRIMARY KEY,
            value      TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
    ),
    # 2: history entries as rows; attempts keep the broadcast time they were signed with
    (
        """CREATE TABLE history (
            client_id   TEXT COLLATE "C" NOT NULL
                        REFERENCES operations (client_id) ON DELETE CASCADE,
            entry_index INTEGER NOT NULL,
            at_us       BIGINT NOT NULL,
            change      TEXT NOT NULL,
            previous    TEXT,
            state       TEXT NOT NULL,
            ref         TEXT,
            reason      TEXT,
            update_seq  TEXT,
            PRIMARY KEY (client_id, entry_index)
        )""",
        "ALTER TABLE tx_attempts ADD COLUMN broadcast_at TEXT",
        # listings by platform also name the owner (operations_owner serves them)
        "DROP INDEX IF EXISTS operations_platform",
        _convert_whole_bodies,
    ),
    # 3: nonce leases shared by every worker process (see leases_pg.py)
    LEASE_MIGRATION,
    # 4: claims on operations, for chains without nonces (see leases_pg.py)
    CLAIM_MIGRATION,
    # 5: a save's new history entries in one row (a run), not one row each
    (_HISTORY_RUNS, _history_into_runs, "DROP TABLE history"),
)
SCHEMA_VERSION = len(_MIGRATIONS)


def split_url(url: str) -> tuple[str, str | None]:
    """``postgresql://host/db#schema`` -> (connection URL, schema or None)."""
    base, _, fragment = url.partition("#")
    return base, fragment or None


class PostgresJournal(SqlListing, Journal):
    """The journal in a PostgreSQL schema shared by every process that opens it.

    Thread-safe: one connection behind a lock, like the SQLite store. Every
    write commits on the server before the call returns (PostgreSQL's
    ``synchronous_commit`` decides what "durable" means there).

    ``schema`` (default ``chainops``, or the URL's ``#fragment``) namespaces
    the tables: workers that share an account must share the schema.
    """

    _MARK = "%s"
    _OPEN = "NOT terminal"

    def __init__(
        self, url: str, *, schema: str | None = None, connect_timeout: float = 5.0
    ) -> None:
        conninfo, from_url = split_url(url)
        self.schema = schema or from_url or DEFAULT_SCHEMA
        if not _SCHEMA_NAME.fullmatch(self.schema):
            raise JournalError(
                f"journal schema {self.schema!r}: use lower-case letters, digits and _"
            )
        self._conninfo = conninfo
        self._timeout = max(1, round(connect_timeout))  # libpq takes whole seconds
        self._lock = threading.RLock()
        self._depth = 0
        self._closed = False
        self._conn: psycopg.Connection[Any] | None = None
        # the live operations this journal wrote: their next saves append after that
        self._written = Written()
        self.url = _redact(conninfo)
        self.path = f"{self.url}#{self.schema}"  # where it lives, for messages (no password)
        with self._lock:
            self._migrate(self._connection())

    # -- connection and schema ---------------------------------------------

    def _connection(self) -> psycopg.Connection[Any]:
        self._check_open()
        if self._conn is not None and not self._conn.closed:
            return self._conn
        if self._depth:
            # a new connection would run the rest of the block outside its transaction
            raise JournalUnavailable(f"journal {self.url}: connection lost mid-transaction")
        try:
            self._conn = psycopg.connect(
                self._conninfo,
                autocommit=True,  # transactions are exactly our atomic() blocks
                connect_timeout=self._timeout,
                options=f"-c search_path={self.schema}",
            )
        except psycopg.Error as exc:
            raise JournalUnavailable(f"journal {self.url}: cannot connect: {exc}") from exc
        return self._conn

    def _migrate(self, conn: psycopg.Connection[Any]) -> None:
        try:
            with conn.transaction():
                # one process migrates at a time; the others then see the new version
                conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                    (f"chainops-schema:{self.schema}",),
                )
                conn.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema))
                )
                conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
                current = int(row[0]) if row and row[0] is not None else 0
                if current > SCHEMA_VERSION:
                    raise JournalSchemaError(
                        f"journal {self.url} schema {self.schema!r} is at version {current}, "
                        f"newer than this chainops ({SCHEMA_VERSION}): upgrade chainops"
                    )
                for steps in _MIGRATIONS[current:]:
                    for step in steps:
                        if isinstance(step, str):
                            conn.execute(step)
                        else:
                            step(conn)
                if current < SCHEMA_VERSION:
                    conn.execute("DELETE FROM schema_version")
                    conn.execute("INSERT INTO schema_version VALUES (%s)", (SCHEMA_VERSION,))
        except JournalError:
            conn.close()
            raise
        except psycopg.Error as exc:
            conn.close()
            raise self._wrap(exc, "cannot prepare schema") from exc

    def schema_version(self) -> int:
        """The version of the schema in the database."""
        rows = self._read("SELECT max(version) FROM schema_version")
        return int(rows[0][0])

    def _wrap(self, exc: psycopg.Error, what: str = "") -> JournalError:
        """A psycopg error as ours; a dead connection is dropped so the next call reconnects."""
        prefix = f"journal {self.url}: {what + ': ' if what else ''}"
        if isinstance(exc, psycopg.OperationalError) or (
            self._conn is not None and self._conn.closed
        ):
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            return JournalUnavailable(f"{prefix}database unreachable: {exc}")
        return JournalError(f"{prefix}{exc}")

    def _check_open(self) -> None:
        if self._closed:
            raise JournalError(f"journal {self.url} is closed")

    # -- plumbing ----------------------------------------------------------

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Group writes into one SQL transaction; an exception rolls all of it back."""
        with self._lock:
            if self._depth:
                self._check_open()
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            conn = self._connection()
            self._depth = 1
            try:
                with conn.transaction():
                    yield
            except BaseException as exc:
                self._written.clear()  # rolled back: the next saves rewrite whole copies
                if isinstance(exc, psycopg.Error):
                    raise self._wrap(exc) from exc
                raise
            finally:
                self._depth = 0

    def _exec(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run one statement (in the current atomic block, if any); its rows."""
        with self._lock:
            conn = self._connection()
            try:
                cur = conn.execute(query, params)
                return cur.fetchall() if cur.description is not None else []
            except psycopg.Error as exc:
                raise self._wrap(exc) from exc

    _read = _exec

    def _hydrate(self, rows: list[Any]) -> list[Operation[Any]]:
        """Operations from (client_id, kind, body) rows, with their history and attempts."""
        ids = [row[0] for row in rows]
        history = self._read(
            f"SELECT client_id, {HISTORY_COLUMNS} FROM history_runs"
            " WHERE client_id = ANY(%s) ORDER BY client_id, first_index",
            (ids,),
        )
        attempts = self._read(
            f"SELECT client_id, {ATTEMPT_STATE_COLUMNS} FROM tx_attempts"
            " WHERE client_id = ANY(%s) ORDER BY client_id, attempt_index",
            (ids,),
        )
        return build_operations(rows, history, attempts)

    # -- writes ------------------------------------------------------------

    def save(self, operation: Operation[Any]) -> None:
        self.save_many((operation,))  # two round trips, as for any group

    def save_many(self, operations: Iterable[Operation[Any]]) -> None:
        """Save several operations in one transaction, in round trips that do not grow with it.

        BEGIN and a read locking the group's stored copies go in one round trip;
        every write (the history rows of the whole group in one ``executemany``)
        and COMMIT in the next, pipelined. A group that inserts attempts waits
        for the writes before COMMIT (an attempt journalled with another hash
        must refuse the group): three round trips. An operation given twice
        splits the group there, so its second copy is checked against the first.
        """
        group = list(operations)
        if not group:
            return
        with self._lock:
            conn = self._connection()
            if self._depth:  # inside an atomic() block: its transaction, its rollback
                with conn.pipeline() as pipeline:
                    for part in _distinct_runs(group):
                        self._save_run(conn, pipeline, part)
                return
            self._depth = 1
            try:
                with conn.pipeline() as pipeline:
                    # BEGIN and COMMIT are ours: psycopg's transaction() syncs at both ends
                    conn.execute("BEGIN")
                    for part in _distinct_runs(group):
                        self._save_run(conn, pipeline, part)
                    conn.execute("COMMIT")  # sent, and awaited, as the pipeline closes
            except BaseException as exc:
                self._written.clear()  # rolled back: the next saves rewrite whole copies
                self._abandon(conn)
                if isinstance(exc, psycopg.Error):
                    raise self._wrap(exc) from exc
                raise
            finally:
                self._depth = 0

    def _abandon(self, conn: psycopg.Connection[Any]) -> None:
        """Roll back a transaction a failed pipeline left open (nothing of it commits)."""
        if conn.closed or conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            return
        try:
            conn.execute("ROLLBACK")
        except psycopg.Error:
            conn.close()  # unusable: the next call reconnects

    def _save_run(
        self,
        conn: psycopg.Connection[Any],
        pipeline: psycopg.Pipeline,
        group: Sequence[Operation[Any]],
    ) -> None:
        """Queue the writes of operations with distinct client ids after one locking read."""
        ids = [str(operation.client_id) for operation in group]
        # FOR UPDATE: a concurrent writer of the same operations waits for our verdict;
        # locked in client id order, so two groups sharing operations cannot deadlock
        found = conn.execute(
            "SELECT client_id, kind, version, venue_id, terminal FROM operations"
            " WHERE client_id = ANY(%s) ORDER BY client_id FOR UPDATE",
            (ids,),
        ).fetchall()
        stored = {row[0]: row[1:] for row in found}
        history: list[Sequence[Any]] = []

        def defer(query: str, rows: Sequence[Sequence[Any]]) -> None:
            history.extend(rows)  # only ever the history insert (RowWriter's sole executemany)

        upserts: list[tuple[tuple[Any, ...], psycopg.Cursor[Any]]] = []
        for operation, client_id in zip(group, ids, strict=True):
            entries, everything = _ROWS.write(
                conn.execute, defer, operation, stored.get(client_id), self._written
            )
            if isinstance(operation, Transaction):
                upserts += self._save_attempts(operation, entries, everything)
            _ROWS.remember(self._written, operation)
        if history:
            with conn.cursor() as cur:
                cur.executemany(_ROWS.insert_history, history)
        if not upserts:
            return
        pipeline.sync()  # an upsert that changed nothing met another hash: refuse the group
        for row, cur in upserts:
            if cur.rowcount != 1:
                raise JournalError(f"{row[0]}: attempt {row[1]} is journalled with another hash")

    def _save_attempts(
        self, tx: Transaction, entries: Sequence[HistoryEntry], everything: bool
    ) -> list[tuple[tuple[Any, ...], psycopg.Cursor[Any]]]:
        """Queue the upserts of the attempts a save writes, each with its cursor to check."""
        conn = self._connection()
        rows = attempt_rows(tx, entries, everything)
        return [(row, conn.execute(_ROWS.upsert_attempt, row)) for row in rows]

    def set_value(self, key: str, value: str) -> None:
        self._exec(
            "INSERT INTO kv (key, value, updated_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            (key, value, text_time(now_us())),
        )

    def set_max(self, key: str, value: int) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise JournalError(f"set_max needs an int, got {value!r}")
        with self.atomic():
            stored = self.get_value(key)  # locks the key until the block commits
            current = None if stored is None else int(stored)
            if current is not None and current >= value:
                return current
            self.set_value(key, str(value))
            return value

    # -- reads -------------------------------------------------------------

    def find_by_venue_id(self, venue_id: str, platform: str | None = None) -> Operation[Any] | None:
        ident = str(venue_id)
        candidates = sorted({ident, ident.lower()} if ident.startswith("0x") else {ident})
        query = (
            "SELECT client_id, kind, body FROM operations WHERE (venue_id = ANY(%s) OR client_id IN"
            " (SELECT client_id FROM tx_attempts WHERE hash = ANY(%s)))"
        )
        params: tuple[Any, ...] = (candidates, candidates)
        if platform is not None:
            query += " AND platform = %s"
            params += (platform.lower(),)
        rows = self._read(query, params)
        if len(rows) > 1:
            raise JournalError(f"venue id {ident!r} is used on several platforms; pass platform")
        return self._hydrate(rows)[0] if rows else None

    def has_attempt_hash(self, tx_hash: str) -> bool:
        return bool(self._read("SELECT 1 FROM tx_attempts WHERE hash = %s", (str(tx_hash),)))

    def attempts(self, client_id: str) -> list[TxAttempt]:
        rows = self._read(
            f"SELECT {ATTEMPT_COLUMNS} FROM tx_attempts"
            " WHERE client_id = %s ORDER BY attempt_index",
            (str(client_id),),
        )
        return [attempt_from_row(r) for r in rows]

    def last_client_id(self, prefix: str = "") -> str | None:
        rows = self._read(
            "SELECT max(client_id) FROM operations"
            " WHERE left(client_id, %s) = %s AND length(client_id) = %s",
            (len(prefix), prefix, len(prefix) + _CLIENT_ID_BODY),
        )
        value = rows[0][0] if rows else None
        return None if value is None else str(value)

    def get_value(self, key: str) -> str | None:
        """A stored value; inside ``atomic()`` the key stays locked until the block ends."""
        with self._lock:
            if self._depth:
                # a statement of its own: READ COMMITTED then reads after the lock is ours
                self._exec(
                    "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                    (f"chainops-kv:{self.schema}:{key}",),
                )
            rows = self._read("SELECT value FROM kv WHERE key = %s", (key,))
        return str(rows[0][0]) if rows else None

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None


_ROWS = RowWriter("%s", text_body=True, flag=bool)


def _write(
    conn: psycopg.Connection[Any],
    operation: Operation[Any],
    stored: Sequence[Any] | None,
    written: Written,
) -> tuple[Sequence[HistoryEntry], bool]:
    """The operation row and new history rows (see :meth:`RowWriter.write`)."""
    return _ROWS.write(conn.execute, _many(conn), operation, stored, written)


def _distinct_runs(group: Sequence[Operation[Any]]) -> Iterator[Sequence[Operation[Any]]]:
    """The group cut into runs without a repeated client id (order kept)."""
    start = 0
    seen: set[str] = set()
    for n, operation in enumerate(group):
        client_id = str(operation.client_id)
        if client_id in seen:
            yield group[start:n]
            start, seen = n, set()
        seen.add(client_id)
    yield group[start:]


def _many(conn: psycopg.Connection[Any]) -> Callable[[str, Sequence[Sequence[Any]]], None]:
    """``executemany`` on a connection (psycopg has it on cursors only)."""

    def execute_many(query: str, rows: Sequence[Sequence[Any]]) -> None:
        with conn.cursor() as cur:
            cur.executemany(query, rows)

    return execute_many


def _redact(conninfo: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", conninfo)
