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

import json
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from chainops.core.attempt import TxAttempt
from chainops.core.errors import JournalError, JournalSchemaError, JournalUnavailable
from chainops.core.history import utcnow
from chainops.core.journal.base import ATTEMPT_COLUMNS, Journal, attempt_from_row
from chainops.core.journal.leases_pg import LEASE_MIGRATION
from chainops.core.journal.sqlite import _ts
from chainops.core.operation import Operation
from chainops.core.transaction import Transaction

__all__ = ["PostgresJournal"]

DEFAULT_SCHEMA = "chainops"
_CLIENT_ID_BODY = 17  # time + tag characters of a ClientIdGenerator id
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

# One tuple of statements per version; never edit a released one, append a new one.
# COLLATE "C": ids and timestamps sort bytewise, as in SQLite, whatever the server locale.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
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
    # 2: nonce leases shared by every worker process (see leases_pg.py)
    LEASE_MIGRATION,
)
SCHEMA_VERSION = len(_MIGRATIONS)


def split_url(url: str) -> tuple[str, str | None]:
    """``postgresql://host/db#schema`` -> (connection URL, schema or None)."""
    base, _, fragment = url.partition("#")
    return base, fragment or None


class PostgresJournal(Journal):
    """The journal in a PostgreSQL schema shared by every process that opens it.

    Thread-safe: one connection behind a lock, like the SQLite store. Every
    write commits on the server before the call returns (PostgreSQL's
    ``synchronous_commit`` decides what "durable" means there).

    ``schema`` (default ``chainops``, or the URL's ``#fragment``) namespaces
    the tables: workers that share an account must share the schema.
    """

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
                for statements in _MIGRATIONS[current:]:
                    for statement in statements:
                        conn.execute(statement)
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
            except psycopg.Error as exc:
                raise self._wrap(exc) from exc
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

    @staticmethod
    def _decode(body: str) -> Operation[Any]:
        try:
            return Operation.from_json(body)
        except (ValueError, KeyError, TypeError) as exc:
            raise JournalError(f"unreadable operation in journal: {exc}") from exc

    # -- writes ------------------------------------------------------------

    def save(self, operation: Operation[Any]) -> None:
        row = (
            str(operation.client_id),
            operation.kind,
            operation.platform,
            operation.owner,
            None if operation.venue_id is None else str(operation.venue_id),
            operation.state.name,
            operation.is_terminal,
            len(operation.history),
            _ts(operation.created_at),
            _ts(operation.updated_at),
            operation.to_json(),
        )
        with self.atomic():
            # FOR UPDATE: a concurrent writer of the same operation waits for our verdict
            stored = self._exec(
                "SELECT kind, version FROM operations WHERE client_id = %s FOR UPDATE", (row[0],)
            )
            if stored:
                kind, version = stored[0]
                if kind != operation.kind:
                    raise JournalError(f"{row[0]} is stored as a {kind}, not a {row[1]}")
                if version > row[7]:
                    raise JournalError(
                        f"{row[0]}: refusing to overwrite a newer copy "
                        f"({version} history entries) with an older one ({row[7]})"
                    )
            self._exec(
                "INSERT INTO operations (client_id, kind, platform, owner, venue_id, state,"
                " terminal, version, created_at, updated_at, body)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (client_id) DO UPDATE SET platform = excluded.platform,"
                " owner = excluded.owner, venue_id = excluded.venue_id, state = excluded.state,"
                " terminal = excluded.terminal, version = excluded.version,"
                " updated_at = excluded.updated_at, body = excluded.body",
                row,
            )
            if isinstance(operation, Transaction):
                self._save_attempts(operation)

    def _save_attempts(self, tx: Transaction) -> None:
        known = dict(
            self._exec(
                "SELECT attempt_index, hash FROM tx_attempts WHERE client_id = %s",
                (str(tx.client_id),),
            )
        )
        for attempt in tx.attempts:
            if attempt.index in known:
                if known[attempt.index] != str(attempt.hash):
                    raise JournalError(
                        f"{tx.client_id}: attempt {attempt.index} is journalled with another hash"
                    )
                continue
            self._exec(
                "INSERT INTO tx_attempts (client_id, attempt_index, hash, raw, nonce, fee, kind,"
                " blockhash, last_valid_block_height, created_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    str(tx.client_id),
                    attempt.index,
                    str(attempt.hash),
                    attempt.raw,
                    attempt.nonce,
                    json.dumps(attempt.fee.to_dict(), sort_keys=True),
                    attempt.kind.name,
                    attempt.blockhash,
                    attempt.last_valid_block_height,
                    attempt.created_at.isoformat(),
                ),
            )

    def set_value(self, key: str, value: str) -> None:
        self._exec(
            "INSERT INTO kv (key, value, updated_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            (key, value, _ts(utcnow())),
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

    def _load(self, client_id: str) -> Operation[Any] | None:
        rows = self._read("SELECT body FROM operations WHERE client_id = %s", (str(client_id),))
        return self._decode(rows[0][0]) if rows else None

    def find_by_venue_id(self, venue_id: str, platform: str | None = None) -> Operation[Any] | None:
        ident = str(venue_id)
        candidates = sorted({ident, ident.lower()} if ident.startswith("0x") else {ident})
        query = (
            "SELECT body FROM operations WHERE (venue_id = ANY(%s) OR client_id IN"
            " (SELECT client_id FROM tx_attempts WHERE hash = ANY(%s)))"
        )
        params: tuple[Any, ...] = (candidates, candidates)
        if platform is not None:
            query += " AND platform = %s"
            params += (platform.lower(),)
        rows = self._read(query, params)
        if len(rows) > 1:
            raise JournalError(f"venue id {ident!r} is used on several platforms; pass platform")
        return self._decode(rows[0][0]) if rows else None

    def _select(self, where: list[str], params: list[Any], limit: int | None) -> list[Any]:
        query = "SELECT body FROM operations"
        if where:
            query += " WHERE " + " AND ".join(where)
        query += " ORDER BY created_at, client_id"
        if limit is not None:
            query += " LIMIT %s"
            params.append(int(limit))
        return [self._decode(row[0]) for row in self._read(query, tuple(params))]

    @staticmethod
    def _filters(**columns: str | None) -> tuple[list[str], list[Any]]:
        where, params = [], []
        for column, value in columns.items():
            if value is not None:
                where.append(f"{column} = %s")
                params.append(value)
        return where, params

    def non_terminal(
        self, *, kind: str | None = None, platform: str | None = None, owner: str | None = None
    ) -> list[Operation[Any]]:
        where, params = self._filters(
            kind=kind, platform=None if platform is None else platform.lower(), owner=owner
        )
        return self._select(["NOT terminal", *where], params, None)

    def list_operations(
        self,
        *,
        owner: str | None = None,
        platform: str | None = None,
        kind: str | None = None,
        state: str | None = None,
        limit: int | None = None,
    ) -> list[Operation[Any]]:
        where, params = self._filters(
            owner=owner,
            platform=None if platform is None else platform.lower(),
            kind=kind,
            state=None if state is None else str(state).upper(),
        )
        return self._select(where, params, limit)

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


def _redact(conninfo: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", conninfo)
