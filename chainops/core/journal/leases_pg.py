"""Nonce leases and operation claims in the PostgreSQL journal (interfaces in ``leases.py``).

Tables beside the journal's: ``lease_holders`` (one row per worker: its
database session and the heartbeat's expiry), ``nonce_leases`` (one row per
leased nonce) and ``operation_claims`` (one row per claimed operation). A
holder is dead when its heartbeat expired or when no session with its backend
pid is left (``pg_stat_activity``: a killed process's session
ends with its socket, long before the expiry). Every statement runs on the
journal's own connection, so a worker cut from the database cannot confirm a
lease, and therefore cannot broadcast, until it is back.

Taking nonces, stepping back and taking over read the high-water mark under the
journal's key lock: they are serialised per account across every process; taking
claims over holds the same kind of lock on the claims' scope.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

from chainops.core.errors import ValidationError
from chainops.core.journal.leases import (
    DEFAULT_LEASE_EXPIRY,
    LeaseState,
    NonceLeases,
    OperationClaims,
    TakenClaim,
    TakenLease,
)

if TYPE_CHECKING:
    from chainops.core.journal.postgres import PostgresJournal

__all__ = ["PostgresLeases"]

LEASE_MIGRATION: tuple[str, ...] = (
    """CREATE TABLE lease_holders (
        holder      TEXT PRIMARY KEY,
        host        TEXT NOT NULL,
        pid         INTEGER NOT NULL,
        backend_pid INTEGER NOT NULL,
        expires_at  TIMESTAMPTZ NOT NULL,
        started_at  TIMESTAMPTZ NOT NULL DEFAULT now()
    )""",
    """CREATE TABLE nonce_leases (
        chain_id BIGINT NOT NULL,
        address  TEXT NOT NULL,
        nonce    BIGINT NOT NULL,
        holder   TEXT NOT NULL,
        state    TEXT NOT NULL CHECK (state IN ('reserved', 'sent')),
        taken_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (chain_id, address, nonce)
    )""",
    "CREATE INDEX nonce_leases_holder ON nonce_leases (holder)",
)

CLAIM_MIGRATION: tuple[str, ...] = (
    """CREATE TABLE operation_claims (
        client_id TEXT COLLATE "C" PRIMARY KEY,
        scope     TEXT NOT NULL,
        holder    TEXT NOT NULL,
        state     TEXT NOT NULL CHECK (state IN ('reserved', 'sent')),
        taken_at  TIMESTAMPTZ NOT NULL DEFAULT now()
    )""",
    "CREATE INDEX operation_claims_scope ON operation_claims (scope, holder)",
)

# A holder row that is missing, expired, or whose session is gone.
_DEAD = (
    "(h.holder IS NULL OR h.expires_at < clock_timestamp()"
    " OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = h.backend_pid))"
)


class PostgresLeases(NonceLeases, OperationClaims):
    """One worker's nonce leases and operation claims, in a :class:`PostgresJournal`'s schema."""

    def __init__(
        self,
        journal: PostgresJournal,
        *,
        expiry: float = DEFAULT_LEASE_EXPIRY,
        holder: str | None = None,
    ) -> None:
        if not expiry > 0:
            raise ValidationError(f"lease expiry must be > 0 seconds, got {expiry}")
        self.journal = journal
        self.expiry = float(expiry)
        self.holder = holder or f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._beat_at = 0.0
        self._beat_conn: object = None
        self.heartbeat()

    def _fresh_beat(self) -> None:
        """Renew before leasing when the last beat is old or was on another session (a
        reconnect): the leases must live by the session that takes them."""
        stale = time.monotonic() - self._beat_at > self.expiry / 4
        if stale or self.journal._conn is not self._beat_conn:
            self.heartbeat()

    def heartbeat(self) -> None:
        self.journal._exec(
            "INSERT INTO lease_holders (holder, host, pid, backend_pid, expires_at)"
            " VALUES (%s, %s, %s, pg_backend_pid(), clock_timestamp() + make_interval(secs => %s))"
            " ON CONFLICT (holder) DO UPDATE SET backend_pid = excluded.backend_pid,"
            " expires_at = excluded.expires_at",
            (self.holder, socket.gethostname()[:200], os.getpid(), self.expiry),
        )
        self._beat_at = time.monotonic()
        self._beat_conn = self.journal._conn

    def take(
        self, chain_id: int, address: str, key: str, floor: int, count: int, window: int
    ) -> list[int]:
        j = self.journal
        with j.atomic():
            stored = j.get_value(key)  # the account's lock until commit
            rows = j._exec(
                "SELECT count(*) FROM nonce_leases WHERE chain_id = %s AND address = %s",
                (chain_id, address),
            )
            room = max(0, min(count, window - int(rows[0][0])))
            if not room:
                return []
            first = max(floor, int(stored) if stored is not None else 0)
            nonces = list(range(first, first + room))
            self._fresh_beat()
            self._insert(chain_id, address, nonces, LeaseState.RESERVED)
            j.set_value(key, str(first + room))
        return nonces

    def _insert(
        self, chain_id: int, address: str, nonces: list[int], state: LeaseState
    ) -> set[int]:
        """Lease ``nonces`` unless another holder (live or dead) has them; those now ours."""
        rows = self.journal._exec(
            "INSERT INTO nonce_leases (chain_id, address, nonce, holder, state)"
            " SELECT %s, %s, n, %s, %s FROM unnest(%s::bigint[]) AS n"
            " ON CONFLICT (chain_id, address, nonce) DO UPDATE SET state = excluded.state"
            " WHERE nonce_leases.holder = excluded.holder RETURNING nonce",
            (chain_id, address, self.holder, state.value, nonces),
        )
        return {int(r[0]) for r in rows}

    def hold(
        self, chain_id: int, address: str, nonces: Iterable[int], state: LeaseState
    ) -> set[int]:
        wanted = sorted(set(nonces))
        return self._insert(chain_id, address, wanted, state) if wanted else set()

    def confirm(self, chain_id: int, address: str, nonces: Iterable[int]) -> set[int]:
        wanted = sorted(set(nonces))
        if not wanted:
            return set()
        with self.journal.atomic():
            self._fresh_beat()
            rows = self.journal._exec(
                "UPDATE nonce_leases SET state = 'sent' WHERE chain_id = %s AND address = %s"
                " AND nonce = ANY(%s::bigint[]) AND holder = %s RETURNING nonce",
                (chain_id, address, wanted, self.holder),
            )
        return {int(r[0]) for r in rows}

    def drop(self, chain_id: int, address: str, nonces: Iterable[int]) -> None:
        wanted = sorted(set(nonces))
        if wanted:
            self.journal._exec(
                "DELETE FROM nonce_leases WHERE chain_id = %s AND address = %s"
                " AND nonce = ANY(%s::bigint[]) AND holder = %s",
                (chain_id, address, wanted, self.holder),
            )

    def step_back(self, chain_id: int, address: str, key: str, nonce: int) -> bool:
        j = self.journal
        with j.atomic():
            stored = j.get_value(key)
            if stored is None or int(stored) != nonce + 1:
                return False
            gone = j._exec(
                "DELETE FROM nonce_leases WHERE chain_id = %s AND address = %s AND nonce = %s"
                " AND holder = %s RETURNING nonce",
                (chain_id, address, nonce, self.holder),
            )
            if not gone:
                return False
            j.set_value(key, str(nonce))
        return True

    def has_dead(self, chain_id: int, address: str) -> bool:
        rows = self.journal._exec(
            "SELECT EXISTS (SELECT 1 FROM nonce_leases l"
            " LEFT JOIN lease_holders h ON h.holder = l.holder"
            f" WHERE l.chain_id = %s AND l.address = %s AND {_DEAD})",
            (chain_id, address),
        )
        return bool(rows[0][0])

    def take_over(self, chain_id: int, address: str, key: str) -> list[TakenLease]:
        j = self.journal
        with j.atomic():
            j.get_value(key)  # the account's lock: no other taker moves these rows meanwhile
            self.heartbeat()
            rows = j._exec(
                "UPDATE nonce_leases l SET holder = %s, taken_at = now()"
                " FROM nonce_leases o LEFT JOIN lease_holders h ON h.holder = o.holder"
                " WHERE l.chain_id = o.chain_id AND l.address = o.address AND l.nonce = o.nonce"
                f" AND l.holder = o.holder"
                f" AND o.chain_id = %s AND o.address = %s AND o.holder <> %s AND {_DEAD}"
                " RETURNING l.nonce, l.state, o.holder",
                (self.holder, chain_id, address, self.holder),
            )
        return sorted(
            (TakenLease(int(r[0]), LeaseState(r[1]), str(r[2])) for r in rows),
            key=lambda t: t.nonce,
        )

    def leased(self, chain_id: int, address: str) -> dict[int, str]:
        rows = self.journal._exec(
            "SELECT nonce, holder FROM nonce_leases WHERE chain_id = %s AND address = %s",
            (chain_id, address),
        )
        return {int(r[0]): str(r[1]) for r in rows}

    # -- claims on operations ----------------------------------------------------------------

    def claim(self, scope: str, client_ids: Iterable[str], state: LeaseState) -> set[str]:
        wanted = sorted(set(client_ids))
        if not wanted:
            return set()
        with self.journal.atomic():
            self._fresh_beat()
            rows = self.journal._exec(
                "INSERT INTO operation_claims (client_id, scope, holder, state)"
                " SELECT c, %s, %s, %s FROM unnest(%s::text[]) AS c"
                " ON CONFLICT (client_id) DO UPDATE SET state = excluded.state"
                " WHERE operation_claims.holder = excluded.holder"
                " AND operation_claims.state = excluded.state RETURNING client_id",
                (scope, self.holder, state.value, wanted),
            )
        return {str(r[0]) for r in rows}

    def confirm_claims(self, client_ids: Iterable[str]) -> set[str]:
        wanted = sorted(set(client_ids))
        if not wanted:
            return set()
        with self.journal.atomic():
            self._fresh_beat()
            rows = self.journal._exec(
                "UPDATE operation_claims SET state = 'sent'"
                " WHERE client_id = ANY(%s::text[]) AND holder = %s RETURNING client_id",
                (wanted, self.holder),
            )
        return {str(r[0]) for r in rows}

    def release(self, client_ids: Iterable[str]) -> None:
        wanted = sorted(set(client_ids))
        if wanted:
            self.journal._exec(
                "DELETE FROM operation_claims WHERE client_id = ANY(%s::text[]) AND holder = %s",
                (wanted, self.holder),
            )

    def has_dead_claims(self, scope: str) -> bool:
        rows = self.journal._exec(
            "SELECT EXISTS (SELECT 1 FROM operation_claims l"
            " LEFT JOIN lease_holders h ON h.holder = l.holder"
            f" WHERE l.scope = %s AND l.holder <> %s AND {_DEAD})",
            (scope, self.holder),
        )
        return bool(rows[0][0])

    def take_over_claims(self, scope: str) -> list[TakenClaim]:
        j = self.journal
        with j.atomic():
            j.get_value(f"claims:{scope}")  # the scope's lock: one taker moves these rows
            self.heartbeat()
            rows = j._exec(
                "UPDATE operation_claims l SET holder = %s, taken_at = now()"
                " FROM operation_claims o LEFT JOIN lease_holders h ON h.holder = o.holder"
                " WHERE l.client_id = o.client_id AND l.holder = o.holder"
                f" AND o.scope = %s AND o.holder <> %s AND {_DEAD}"
                " RETURNING l.client_id, l.state, o.holder",
                (self.holder, scope, self.holder),
            )
        return sorted(
            (TakenClaim(str(r[0]), LeaseState(r[1]), str(r[2])) for r in rows),
            key=lambda t: t.client_id,
        )

    def retire(self) -> None:
        self.journal._exec(
            "UPDATE lease_holders SET expires_at = clock_timestamp() - interval '1 second'"
            " WHERE holder = %s",
            (self.holder,),
        )
