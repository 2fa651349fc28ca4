"""Journal writes: an attempt journalled before broadcast, against plain SQLite and schema 1.

Every round of ours is interleaved with a round of its baseline, so a busy machine
slows both alike:

* ``journal_write``: ``SqliteJournal.save`` of a signed transaction with its attempt
  (WAL, FULL sync), one commit per save, against default sqlite3 with a JSON blob;
* ``journal_write_vs_schema1``: the same against the schema-1 write path (the whole
  operation as JSON rewritten on every save), on the same pragmas;
* ``journal_lifecycle_vs_schema1``: a transfer's three saves (signed, broadcast,
  confirmed), each its own commit, against the schema-1 path.
* ``journal_group_commit_vs_schema1``: saves committed GROUP at a time, as the
  operators' group commit does within one event-loop turn, against the schema-1 path
  grouped the same way.

One commit per save at FULL sync is bound by the fsync and the pages it writes (about
a dozen per new transaction for either schema: the row, its indexes, the attempt and
its indexes); the cost of the save itself shows in the NORMAL and grouped figures.

``details.vs_issue_figure`` is ours against 3,150 writes/s, the FULL-sync figure
the schema-1 journal reached on the reference machine. ``details.disk_floor_writes_per_s``
is the disk's own ceiling for one commit per save, measured in the same rounds: the
bytes of a save's WAL pages appended to a file and fsynced, nothing else.

* ``journal_pg_group_commit``: ``PostgresJournal.save_many`` (the group's writes
  pipelined, two round trips per group) against the same saves made one by one in
  one transaction (the interface's default ``save_many``), GROUP per commit, on the
  PostgreSQL server of ``CHAINOPS_BENCH_POSTGRES_URL`` (skipped when none answers).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from eth_account import Account

from bench.harness import Result
from chainops.core.attempt import FeeParams, TxAttempt, TxReceipt
from chainops.core.ids import ClientIdGenerator, TxHash
from chainops.core.journal import Journal, SqliteJournal
from chainops.core.transaction import Transaction, TxState, TxUpdate

N = 300
ROUNDS = 10  # a multiple of the stores compared together (5, 2): each goes first as often
GROUP = 15  # saves per commit in the group-commit figure (N is a multiple)
ISSUE_FIGURE = 3150.0  # writes/s of the schema-1 journal at FULL sync on the reference machine
PAGE_FRAME = 4096 + 24  # a WAL frame: one page and its header
PG_URL = os.environ.get("CHAINOPS_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"

Writer = Callable[[Transaction], None]


def _signed_transactions(n: int) -> list[Transaction]:
    account = Account.from_key(KEY)
    ids = ClientIdGenerator(prefix="b")
    fees = FeeParams(max_fee_per_gas=2 * 10**9, max_priority_fee_per_gas=10**9)
    out = []
    for nonce in range(n):
        signed = account.sign_transaction(
            {
                "type": 2,
                "chainId": 31337,
                "nonce": nonce,
                "to": account.address,
                "value": 1,
                "gas": 21000,
                "maxFeePerGas": 2 * 10**9,
                "maxPriorityFeePerGas": 10**9,
            }
        )
        tx = Transaction(
            client_id=ids.next(),
            platform="anvil",
            sender=account.address,
            to=account.address,
            value=1,
            nonce=nonce,
            fee_params=fees,
        )
        tx.add_attempt(
            TxAttempt(
                index=0,
                hash=TxHash(bytes(signed.hash)),
                raw=bytes(signed.raw_transaction),
                nonce=nonce,
                fee=fees,
            )
        )
        out.append(tx)
    return out


def _lifecycle(write: Writer) -> Writer:
    """A writer journalling a transaction at its three moments: signed, broadcast, confirmed."""

    def three_saves(tx: Transaction) -> None:
        write(tx)
        tx.mark_broadcast(0)
        write(tx)
        attempt = tx.attempts[0]
        receipt = TxReceipt(transaction_hash=attempt.hash, block_number=1, status=1)
        tx.apply(TxUpdate(state=TxState.CONFIRMED, receipt=receipt, confirmations=1))
        write(tx)

    return three_saves


class SchemaOneJournal:
    """The schema-1 write path: the whole operation as JSON in one row, on every save."""

    def __init__(self, path: Path, synchronous: str = "FULL") -> None:
        # the same pragmas and schema-1 tables as the store it replaced
        self._conn = conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL").fetchone()
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        for statement in (
            "CREATE TABLE operations (client_id TEXT PRIMARY KEY, kind TEXT NOT NULL,"
            " platform TEXT NOT NULL, owner TEXT NOT NULL, venue_id TEXT, state TEXT NOT NULL,"
            " terminal INTEGER NOT NULL, version INTEGER NOT NULL, created_at TEXT NOT NULL,"
            " updated_at TEXT NOT NULL, body TEXT NOT NULL)",
            "CREATE INDEX operations_venue ON operations (venue_id) WHERE venue_id IS NOT NULL",
            "CREATE INDEX operations_open ON operations (created_at) WHERE terminal = 0",
            "CREATE INDEX operations_owner ON operations (owner, platform, created_at)",
            "CREATE INDEX operations_platform ON operations (platform, created_at)",
            "CREATE TABLE tx_attempts (client_id TEXT NOT NULL REFERENCES operations"
            " (client_id) ON DELETE CASCADE, attempt_index INTEGER NOT NULL,"
            " hash TEXT NOT NULL UNIQUE, raw BLOB NOT NULL, nonce INTEGER, fee TEXT NOT NULL,"
            " kind TEXT NOT NULL, blockhash TEXT, last_valid_block_height INTEGER,"
            " created_at TEXT NOT NULL, PRIMARY KEY (client_id, attempt_index))",
        ):
            conn.execute(statement)

    def save(self, tx: Transaction) -> None:
        self.save_many([tx])

    def save_many(self, txs: list[Transaction]) -> None:
        self._conn.execute("BEGIN IMMEDIATE")
        for tx in txs:
            self._save(tx)
        self._conn.execute("COMMIT")

    def _save(self, tx: Transaction) -> None:
        conn = self._conn
        body = tx.to_json()
        cid = str(tx.client_id)
        conn.execute("SELECT kind, version FROM operations WHERE client_id = ?", (cid,))
        conn.execute(
            "INSERT INTO operations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (client_id) DO UPDATE SET venue_id = excluded.venue_id,"
            " state = excluded.state, terminal = excluded.terminal, version = excluded.version,"
            " updated_at = excluded.updated_at, body = excluded.body",
            (
                cid,
                tx.kind,
                tx.platform,
                tx.owner,
                str(tx.venue_id),
                tx.state.name,
                int(tx.is_terminal),
                len(tx.history),
                tx.created_at.isoformat(timespec="microseconds"),
                tx.updated_at.isoformat(timespec="microseconds"),
                body,
            ),
        )
        known = dict(
            conn.execute(
                "SELECT attempt_index, hash FROM tx_attempts WHERE client_id = ?", (cid,)
            ).fetchall()
        )
        for a in tx.attempts:
            if a.index not in known:
                conn.execute(
                    "INSERT INTO tx_attempts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        cid,
                        a.index,
                        str(a.hash),
                        a.raw,
                        a.nonce,
                        json.dumps(a.fee.to_dict(), sort_keys=True),
                        a.kind.name,
                        a.blockhash,
                        a.last_valid_block_height,
                        a.created_at.isoformat(),
                    ),
                )

    def close(self) -> None:
        self._conn.close()


def _plain_sqlite(path: Path) -> tuple[Writer, Callable[[], None]]:
    # What a bot usually does: default SQLite (rollback journal, FULL sync), JSON blob.
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE ops (id TEXT PRIMARY KEY, body TEXT)")

    def write(tx: Transaction) -> None:
        conn.execute("BEGIN")
        conn.execute("INSERT OR REPLACE INTO ops VALUES (?, ?)", (tx.client_id, tx.to_json()))
        conn.execute("COMMIT")

    return write, conn.close


def _disk_floor(path: Path, pages: float) -> tuple[Writer, Callable[[], None]]:
    """One commit's floor: a save's WAL bytes appended to a file and fsynced, no database."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    frames = b"\0" * round(pages * PAGE_FRAME)

    def write(tx: Transaction) -> None:
        os.write(fd, frames)
        os.fsync(fd)

    return write, lambda: os.close(fd)


Store = Literal["ours", "ours_normal", "schema1", "plain", "floor", "ours_group", "schema1_group"]


def _in_groups(save_many: Callable[[list[Transaction]], None]) -> Writer:
    """A writer committing every GROUP saves together, as group commit does in a loop turn."""
    pending: list[Transaction] = []

    def write(tx: Transaction) -> None:
        pending.append(tx)
        if len(pending) == GROUP:
            save_many(pending)
            pending.clear()

    return write


@contextmanager
def _writer(store: Store, folder: Path, floor_pages: float = 10.0) -> Iterator[Writer]:
    if store == "floor":
        write, close = _disk_floor(folder / "floor.wal", floor_pages)
        yield write
        close()
    elif store in ("ours", "ours_normal", "ours_group"):
        sync: Literal["FULL", "NORMAL"] = "NORMAL" if store == "ours_normal" else "FULL"
        journal = SqliteJournal(folder / f"{store}.sqlite", synchronous=sync)
        yield _in_groups(journal.save_many) if store == "ours_group" else journal.save
        journal.close()
    elif store in ("schema1", "schema1_group"):
        old = SchemaOneJournal(folder / f"{store}.sqlite")
        yield _in_groups(old.save_many) if store == "schema1_group" else old.save
        old.close()
    else:
        write, close = _plain_sqlite(folder / "plain.sqlite")
        yield write
        close()


def _pages_per_save(store: Store, wrap: Callable[[Writer], Writer], per_item: int) -> float:
    """WAL pages each save commits (checkpoints off): what the fsync carries, load-independent."""
    # few enough saves to stay under the 1,000-page auto-checkpoint, which would reset the WAL
    count = 60 if per_item == 1 else 40
    txs = _signed_transactions(50 + count)
    with tempfile.TemporaryDirectory() as tmp, _writer(store, Path(tmp)) as save:
        wal = next(Path(tmp).glob("*.sqlite")).with_suffix(".sqlite-wal")
        write = wrap(save)
        for tx in txs[:50]:  # past the first pages of each table
            write(tx)
        sqlite3.connect(wal.with_suffix(".sqlite")).execute("PRAGMA wal_checkpoint(TRUNCATE)")
        before = wal.stat().st_size
        for tx in txs[50:]:
            write(tx)
        frames = (wal.stat().st_size - before) / PAGE_FRAME
    return round(frames / (count * per_item), 2)


def _interleaved(
    stores: tuple[Store, ...],
    batches: list[list[Transaction]],
    wrap: Callable[[Writer], Writer] = lambda w: w,
    per_item: int = 1,
    floor_pages: float = 10.0,
) -> tuple[dict[str, float], dict[str, float]]:
    """Median writes/s and CPU µs per write of each store, rounds interleaved, fresh operations.

    The CPU time (this process, user + system) leaves out the waits for the disk
    and for other processes, so it stays comparable on a busy machine.
    """
    rates: dict[str, list[float]] = {s: [] for s in stores}
    cpu: dict[str, list[float]] = {s: [] for s in stores}
    with tempfile.TemporaryDirectory() as tmp:
        writers = {}
        with contextlib.ExitStack() as stack:
            for store in stores:
                writer = _writer(store, Path(tmp), floor_pages)
                writers[store] = wrap(stack.enter_context(writer))
            for round_ in range(ROUNDS):
                # the order turns every round: going first or last must not favour a store
                order = stores[round_ % len(stores) :] + stores[: round_ % len(stores)]
                for store in order:
                    batch = batches[round_ * len(stores) + stores.index(store)]
                    write = writers[store]
                    began, began_cpu = time.perf_counter(), time.process_time()
                    for tx in batch:
                        write(tx)
                    writes = per_item * len(batch)
                    rates[store].append(writes / (time.perf_counter() - began))
                    cpu[store].append(1e6 * (time.process_time() - began_cpu) / writes)
    return (
        {s: statistics.median(r) for s, r in rates.items()},
        {s: round(statistics.median(c), 1) for s, c in cpu.items()},
    )


def _pg_group(batches: list[list[Transaction]]) -> dict[str, float] | None:
    """Saves/s of PostgreSQL group commits, pipelined against one by one; None without a server."""
    try:
        import psycopg

        from chainops.core.journal.postgres import PostgresJournal

        psycopg.connect(PG_URL, connect_timeout=3).close()
    except Exception:  # no driver or no server: the figure is left out
        return None
    names = {"pipelined": f"bench_pg_{os.getpid()}_a", "one_by_one": f"bench_pg_{os.getpid()}_b"}
    journals = {name: PostgresJournal(PG_URL, schema=schema) for name, schema in names.items()}
    writers = {
        "pipelined": _in_groups(journals["pipelined"].save_many),
        # the interface's default: each save in turn inside one transaction
        "one_by_one": _in_groups(lambda txs: Journal.save_many(journals["one_by_one"], txs)),
    }
    rates: dict[str, list[float]] = {name: [] for name in names}
    try:
        for round_ in range(ROUNDS):
            for name in list(names)[round_ % 2 :] + list(names)[: round_ % 2]:
                batch = batches[round_ * 2 + list(names).index(name)]
                began = time.perf_counter()
                for tx in batch:
                    writers[name](tx)
                rates[name].append(len(batch) / (time.perf_counter() - began))
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            for name, schema in names.items():
                journals[name].close()
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    return {name: statistics.median(r) for name, r in rates.items()}


def run() -> list[Result]:
    pages = {
        f"pages_per_save_{store}{'_lifecycle' if per_item == 3 else ''}": _pages_per_save(
            store, wrap, per_item
        )
        for store in ("ours", "schema1")
        for wrap, per_item in (((lambda w: w), 1), (_lifecycle, 3))
    }
    stores: tuple[Store, ...] = ("ours", "ours_normal", "schema1", "plain", "floor")
    txs = _signed_transactions(N * ROUNDS * len(stores))
    batches = [txs[i : i + N] for i in range(0, len(txs), N)]
    single, single_cpu = _interleaved(stores, batches, floor_pages=pages["pages_per_save_ours"])
    fresh = _signed_transactions(N // 3 * ROUNDS * 2)
    thirds = [fresh[i : i + N // 3] for i in range(0, len(fresh), N // 3)]
    lifecycle, lifecycle_cpu = _interleaved(("ours", "schema1"), thirds, _lifecycle, per_item=3)
    grouped, grouped_cpu = _interleaved(("ours_group", "schema1_group"), batches)
    postgres = _pg_group(batches)
    cpu = {
        "cpu_us_per_save_ours": single_cpu["ours"],
        "cpu_us_per_save_schema1": single_cpu["schema1"],
        "cpu_us_per_save_ours_grouped": grouped_cpu["ours_group"],
        "cpu_us_per_save_schema1_grouped": grouped_cpu["schema1_group"],
        "cpu_us_per_save_ours_lifecycle": lifecycle_cpu["ours"],
        "cpu_us_per_save_schema1_lifecycle": lifecycle_cpu["schema1"],
    }
    floor = {
        "disk_floor_writes_per_s": round(single["floor"]),
        "ours_vs_disk_floor": round(single["ours"] / single["floor"], 3),
    }
    vs_issue = single["ours"] / ISSUE_FIGURE
    print(
        f"journal FULL sync, one commit per save: {single['ours']:.0f} writes/s = "
        f"{vs_issue:.2f}x the issue's {ISSUE_FIGURE:.0f}, "
        f"{single['ours'] / single['schema1']:.2f}x the schema-1 path "
        f"({single['schema1']:.0f}) in this run; the disk's floor "
        f"(the same WAL bytes appended and fsynced, nothing else) {single['floor']:.0f}/s; "
        f"{GROUP} saves per commit: {grouped['ours_group']:.0f} saves/s "
        f"({grouped['ours_group'] / GROUP:.0f} commits/s) vs {grouped['schema1_group']:.0f}; "
        f"CPU per save {cpu['cpu_us_per_save_ours']} µs vs {cpu['cpu_us_per_save_schema1']} µs, "
        f"grouped {cpu['cpu_us_per_save_ours_grouped']} vs "
        f"{cpu['cpu_us_per_save_schema1_grouped']}; pages per save {pages}"
    )
    if postgres is not None:
        print(
            f"journal PostgreSQL, {GROUP} saves per commit: pipelined {postgres['pipelined']:.0f}"
            f" saves/s, one by one {postgres['one_by_one']:.0f} saves/s"
        )
    group_details = {
        "synchronous": "FULL",
        "saves_per_commit": GROUP,
        "durable": "each save when its group commits (one fsync per group)",
        "commits_per_s_ours": round(grouped["ours_group"] / GROUP),
        "commits_per_s_schema1": round(grouped["schema1_group"] / GROUP),
        # not the issue's measure (one commit per save): the same unit, for scale
        "saves_per_s_vs_issue_figure": round(grouped["ours_group"] / ISSUE_FIGURE, 2),
    }
    plain = "default sqlite3 (rollback journal, FULL sync), JSON blob per commit"
    schema1 = "schema-1 journal path (whole operation JSON per save), WAL, FULL sync"
    results = [
        Result(
            name="journal_write",
            unit="writes/s",
            ours=single["ours"],
            baseline=single["plain"],
            baseline_name=plain,
            higher_is_better=True,
            details={"synchronous": "FULL", "vs_issue_figure": vs_issue, **floor},
        ),
        Result(
            name="journal_write_normal_sync",
            unit="writes/s",
            ours=single["ours_normal"],
            baseline=single["plain"],
            baseline_name=plain,
            higher_is_better=True,
            details={"synchronous": "NORMAL"},
        ),
        Result(
            name="journal_write_vs_schema1",
            unit="writes/s",
            ours=single["ours"],
            baseline=single["schema1"],
            baseline_name=schema1,
            higher_is_better=True,
            details={
                "synchronous": "FULL",
                "vs_issue_figure": vs_issue,
                **floor,
                **pages,
                **cpu,
            },
        ),
        Result(
            name="journal_group_commit_vs_schema1",
            unit="writes/s",
            ours=grouped["ours_group"],
            baseline=grouped["schema1_group"],
            baseline_name=schema1 + f"; {GROUP} saves per commit",
            higher_is_better=True,
            details=group_details | cpu,
        ),
        Result(
            name="journal_lifecycle_vs_schema1",
            unit="writes/s",
            ours=lifecycle["ours"],
            baseline=lifecycle["schema1"],
            baseline_name=schema1 + "; signed, broadcast, confirmed saves",
            higher_is_better=True,
            details={"synchronous": "FULL", "saves_per_transaction": 3, **pages, **cpu},
        ),
    ]
    if postgres is not None:
        results.append(
            Result(
                name="journal_pg_group_commit",
                unit="writes/s",
                ours=postgres["pipelined"],
                baseline=postgres["one_by_one"],
                baseline_name=f"PostgresJournal saves one by one in one transaction; {GROUP} per"
                " commit (the interface's default save_many)",
                higher_is_better=True,
                details={
                    "saves_per_commit": GROUP,
                    "round_trips_per_group": "2 (3 with new attempts) against 2 per save",
                },
            )
        )
    return results
