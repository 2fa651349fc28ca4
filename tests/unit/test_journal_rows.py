"""Journal schema 2: incremental saves, exact round trips, and schema-1 journals still load.

Both stores; the PostgreSQL cases skip without a server (``CHAINOPS_TEST_POSTGRES_URL``).
"""

from __future__ import annotations

import contextlib
import gc
import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from core_factories import ETH, at, make_attempt, make_order, make_receipt, make_tx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainops.core.assets import Fee
from chainops.core.errors import InvalidTransition, JournalError, ValidationError
from chainops.core.history import ErrorInfo, from_us
from chainops.core.journal import Journal, SqliteJournal
from chainops.core.journal.rows import text_time
from chainops.core.operation import Operation
from chainops.core.order import Fill, OrderState, OrderUpdate
from chainops.core.transaction import TxState, TxUpdate

Step = tuple[Any, ...]
OpenPair = Callable[[], tuple[Journal, Journal]]

# the schema-1 tables, exactly as released
V1_SCHEMA = """
CREATE TABLE operations (
    client_id TEXT PRIMARY KEY, kind TEXT NOT NULL, platform TEXT NOT NULL,
    owner TEXT NOT NULL, venue_id TEXT, state TEXT NOT NULL, terminal INTEGER NOT NULL,
    version INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    body TEXT NOT NULL);
CREATE INDEX operations_venue ON operations (venue_id) WHERE venue_id IS NOT NULL;
CREATE INDEX operations_open ON operations (created_at) WHERE terminal = 0;
CREATE INDEX operations_owner ON operations (owner, platform, created_at);
CREATE INDEX operations_platform ON operations (platform, created_at);
CREATE TABLE tx_attempts (
    client_id TEXT NOT NULL REFERENCES operations (client_id) ON DELETE CASCADE,
    attempt_index INTEGER NOT NULL, hash TEXT NOT NULL UNIQUE, raw BLOB NOT NULL,
    nonce INTEGER, fee TEXT NOT NULL, kind TEXT NOT NULL, blockhash TEXT,
    last_valid_block_height INTEGER, created_at TEXT NOT NULL,
    PRIMARY KEY (client_id, attempt_index));
CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL)
"""

PLUS_2 = timezone(timedelta(hours=2))
sequences = st.none() | st.integers(0, 2**70)  # beyond 64 bits: exchange ids are arbitrary


# ---------------------------------------------------------------- step scripts

tx_steps = st.one_of(
    st.tuples(st.just("attempt")),
    st.tuples(st.just("broadcast"), st.integers(0, 3), st.booleans()),
    st.tuples(st.just("fail"), st.integers(0, 3), st.sampled_from(["underpriced", "too low"])),
    st.tuples(
        st.just("mine"),
        st.integers(0, 3),
        st.sampled_from([TxState.INCLUDED, TxState.CONFIRMED, TxState.REVERTED]),
        st.integers(0, 64),
        sequences,
    ),
    st.tuples(st.just("state"), st.sampled_from(list(TxState)), sequences),
)
order_steps = st.one_of(
    st.tuples(st.just("fill"), st.integers(0, 5), st.sampled_from(["0.1", "0.25", "1"])),
    st.tuples(st.just("state"), st.sampled_from(list(OrderState)), sequences),
    st.tuples(st.just("venue")),
    st.tuples(st.just("fee"), st.sampled_from(["0.001", "0.002"])),
)


def apply_tx_step(tx: Any, step: Step, n: int) -> None:
    kind = step[0]
    when = at(100 + n).astimezone(PLUS_2) if n % 2 else at(100 + n)
    if kind == "attempt":
        index = len(tx.attempts)
        tx.add_attempt(make_attempt(index, seed=hash(str(tx.client_id)) % 10**6 * 10 + index))
    elif kind == "broadcast" and step[1] < len(tx.attempts):
        tx.mark_broadcast(step[1], at=when if step[2] else None)
    elif kind == "fail" and step[1] < len(tx.attempts):
        tx.attempt_failed(step[1], ErrorInfo("NodeError", step[2]), at=when)
    elif kind == "mine" and step[1] < len(tx.attempts):
        status = 0 if step[2] is TxState.REVERTED else 1
        receipt = make_receipt(tx.attempts[step[1]], block=step[4] or 1, status=status)
        fee = Fee(ETH, Decimal("0.000021"))
        update = TxUpdate(
            state=step[2], receipt=receipt, confirmations=step[3], sequence=step[4], fee=fee
        )
        tx.apply(update)
    elif kind == "state":
        tx.apply(TxUpdate(state=step[1], sequence=step[2], reason=f"step {n}", timestamp=when))


def apply_order_step(order: Any, step: Step, n: int) -> None:
    kind = step[0]
    when = at(100 + n).astimezone(PLUS_2) if n % 2 else at(100 + n)
    if kind == "fill":
        base = Decimal(step[2])
        fill = Fill(
            fill_id=f"f{step[1]}", price=Decimal(2000), base_amount=base, quote_amount=base * 2000
        )
        order.apply(OrderUpdate(fills=(fill,), timestamp=when))
    elif kind == "state":
        order.apply(OrderUpdate(state=step[1], sequence=step[2], reason="r", timestamp=when))
    elif kind == "venue":
        order.apply(OrderUpdate(venue_id="v-1", timestamp=when))
    elif kind == "fee":
        order.apply(OrderUpdate(network_fee=Fee(ETH, Decimal(step[1]))))


def play(op: Operation[Any], steps: list[tuple[Step, bool]], journal: Journal) -> None:
    """Apply each step, saving after those flagged: the incremental writes under test."""
    apply = apply_order_step if op.kind == "order" else apply_tx_step
    journal.save(op)
    for n, (step, save) in enumerate(steps):
        with contextlib.suppress(InvalidTransition, ValidationError):
            apply(op, step, n)
        if save:
            journal.save(op)
    journal.save(op)


def rows(journal: Journal, client_id: str) -> tuple[Any, ...]:
    """Every stored row of one operation, in a store-neutral form."""
    mark = "?" if isinstance(journal, SqliteJournal) else "%s"
    read = journal._read  # type: ignore[attr-defined]
    op = read(
        "SELECT kind, platform, owner, venue_id, state, version, created_at, updated_at, body"
        f" FROM operations WHERE client_id = {mark}",
        (client_id,),
    )
    history = read(f"SELECT * FROM history_runs WHERE client_id = {mark} ORDER BY 2", (client_id,))
    attempts = read(f"SELECT * FROM tx_attempts WHERE client_id = {mark} ORDER BY 2", (client_id,))
    normal = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in op]
    # each run (JSON: BLOB in SQLite, TEXT in PostgreSQL) as its entries, numbered from its
    # first index: how the history was split into runs (one per save) does not show here
    entries = [
        (cid, first + i, entry)
        for cid, first, run in history
        for i, entry in enumerate(json.loads(run))
    ]
    return normal, entries, [tuple(r) for r in attempts]


def stored_entries(journal: Journal, client_id: str) -> int:
    """How many history entries the runs of one operation hold (a repeated one counts twice)."""
    return len(rows(journal, client_id)[1])


# ---------------------------------------------------------------- stores


@contextlib.contextmanager
def two_writers(store: str, folder: Path) -> Iterator[tuple[Journal, Journal]]:
    """Two journals on one store, as two processes would open it."""
    if store == "sqlite":
        with SqliteJournal(folder / "j.sqlite") as a, SqliteJournal(folder / "j.sqlite") as b:
            yield a, b
        return
    from pg_helpers import drop_schema, new_schema, pg_url, require_pg

    require_pg()
    from chainops.core.journal.postgres import PostgresJournal

    schema = new_schema()
    try:
        with (
            PostgresJournal(pg_url(), schema=schema) as a,
            PostgresJournal(pg_url(), schema=schema) as b,
        ):
            yield a, b
    finally:
        drop_schema(schema)


@contextlib.contextmanager
def sqlite_pair() -> Iterator[tuple[Journal, Journal]]:
    with SqliteJournal(":memory:") as a, SqliteJournal(":memory:") as b:
        yield a, b


@pytest.fixture(scope="module")
def pg_pair() -> Iterator[Callable[[], contextlib.AbstractContextManager[tuple[Journal, Journal]]]]:
    from pg_helpers import drop_schema, new_schema, pg_url, require_pg

    require_pg()
    from chainops.core.journal.postgres import PostgresJournal

    names = (new_schema(), new_schema())
    journals = [PostgresJournal(pg_url(), schema=name) for name in names]

    @contextlib.contextmanager
    def fresh() -> Iterator[tuple[Journal, Journal]]:
        for journal in journals:
            journal._exec("DELETE FROM operations")  # cascades to history and attempts
        yield journals[0], journals[1]

    try:
        yield fresh
    finally:
        for journal, name in zip(journals, names, strict=True):
            journal.close()
            drop_schema(name)


@pytest.fixture(params=["sqlite", "postgres"])
def stores(
    request: pytest.FixtureRequest,
) -> Callable[[], contextlib.AbstractContextManager[tuple[Journal, Journal]]]:
    if request.param == "sqlite":
        return sqlite_pair
    result: Callable[[], contextlib.AbstractContextManager[tuple[Journal, Journal]]]
    result = request.getfixturevalue("pg_pair")
    return result


_hypothesis = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
scripts = st.lists(st.tuples(tx_steps, st.booleans()), max_size=12)


class TestIncremental:
    @_hypothesis
    @given(steps=scripts)
    def test_transaction(self, stores: Any, steps: list[tuple[Step, bool]]) -> None:
        with stores() as (incremental, whole):
            tx = make_tx("tx1", created_at=at(0).astimezone(PLUS_2))
            play(tx, steps, incremental)
            whole.save(tx)
            assert incremental.load("tx1") == tx == whole.load("tx1")
            loaded = incremental.load("tx1")
            assert loaded is not None and loaded.history == tx.history
            assert loaded.attempts == tx.attempts
            assert rows(incremental, "tx1") == rows(whole, "tx1")

    @_hypothesis
    @given(steps=st.lists(st.tuples(order_steps, st.booleans()), max_size=12))
    def test_order(self, stores: Any, steps: list[tuple[Step, bool]]) -> None:
        with stores() as (incremental, whole):
            order = make_order("o1")
            play(order, steps, incremental)
            whole.save(order)
            assert incremental.load("o1") == order == whole.load("o1")
            assert rows(incremental, "o1") == rows(whole, "o1")

    @pytest.mark.parametrize("store", ["sqlite", "postgres"])
    def test_another_writer_in_between_rewrites_whole(self, store: str, tmp_path: Path) -> None:
        """A copy this journal did not write last is rewritten, never appended onto."""
        with two_writers(store, tmp_path) as (first, second):
            order = make_order()
            first.save(order)
            order.apply(OrderUpdate(state=OrderState.OPEN, venue_id="9"))
            second.save(order)
            fill = Fill(
                fill_id="t1", price=Decimal(2000), base_amount=Decimal("0.5"), quote_amount=1000
            )
            order.apply(OrderUpdate(fills=(fill,)))  # PARTIALLY_FILLED: still live
            first.save(order)  # the stored version moved under it: whole rewrite
            assert first.load("o1") == order == second.load("o1")
            assert stored_entries(first, "o1") == len(order.history)  # no entry twice
            order.apply(OrderUpdate(state=OrderState.CANCELED))
            second.save(order)
            assert first.load("o1") == order

    def test_an_operation_let_go_of_leaves_the_journals_memory(self, stores: Any) -> None:
        """A live (not final) operation nobody holds any more is forgotten by the journal
        that wrote it: a long-running operator's CONFIRMED transfers do not accumulate."""
        with stores() as (journal, _):
            written: dict[str, Any] = journal._written  # type: ignore[attr-defined]
            kept = make_order("kept")
            others = [make_order(f"o{i}") for i in range(50)]
            journal.save_many([kept, *others])
            assert len(written) == 51
            del others
            gc.collect()
            assert list(written) == ["kept"]
            kept.transition(OrderState.OPEN)
            journal.save(kept)  # still appended onto: its entry is the one it wrote
            assert list(written) == ["kept"]
            again = journal.load("o7")
            assert again is not None
            again.transition(OrderState.OPEN)
            journal.save(again)  # a fresh copy of a forgotten one: rewritten whole
            assert journal.load("o7") == again and journal.load("kept") == kept
            del again
            gc.collect()
            assert list(written) == ["kept"]
            kept.transition(OrderState.CANCELED)
            journal.save(kept)  # appended, and final: nothing more will be appended
            assert not written and journal.load("kept") == kept

    def test_rolled_back_save_is_rewritten_next_time(self, tmp_path: Path) -> None:
        with SqliteJournal(tmp_path / "j.sqlite") as journal:
            order = make_order()
            journal.save(order)
            order.transition(OrderState.OPEN)
            with pytest.raises(RuntimeError), journal.atomic():
                journal.save(order)
                raise RuntimeError("abort")
            order.transition(OrderState.CANCELED)
            journal.save(order)
            assert journal.load("o1") == order


# ---------------------------------------------------------------- schema 1


def old_operations() -> list[Operation[Any]]:
    tx = make_tx("tx-old")
    tx.add_attempt(make_attempt(0, seed=901))
    tx.mark_broadcast(0, at=at(5).astimezone(PLUS_2))
    tx.add_attempt(make_attempt(1, seed=902))
    tx.attempt_failed(1, ErrorInfo("NodeError", "replacement underpriced"), at=at(6))
    tx.apply(TxUpdate(state=TxState.CONFIRMED, receipt=make_receipt(tx.attempts[0]), sequence=3))
    order = make_order("o-old")
    order.apply(OrderUpdate(state=OrderState.OPEN, venue_id="77", sequence=2**80))
    return [tx, order, make_order("o-new")]


def write_v1(insert: Callable[[str, tuple[Any, ...]], object], mark: str, ops: Any) -> None:
    """Rows exactly as schema 1 wrote them: the whole operation as JSON in the body."""
    for op in ops:
        data = op.to_dict()
        insert(
            "INSERT INTO operations VALUES ("
            + ", ".join([mark] * 11)
            + ")",
            (
                str(op.client_id), op.kind, op.platform, op.owner, data["venue_id"],
                op.state.name, op.is_terminal, len(op.history),
                op.created_at.isoformat(), op.updated_at.isoformat(), op.to_json(),
            ),
        )  # fmt: skip
        for a in getattr(op, "attempts", ()):
            insert(
                "INSERT INTO tx_attempts VALUES (" + ", ".join([mark] * 10) + ")",
                (
                    str(op.client_id), a.index, str(a.hash), a.raw, a.nonce,
                    json.dumps(a.fee.to_dict(), sort_keys=True),
                    a.kind.name, a.blockhash, a.last_valid_block_height, a.created_at.isoformat(),
                ),
            )  # fmt: skip


def check_migrated(journal: Journal, ops: list[Operation[Any]]) -> None:
    for op in ops:
        loaded = journal.load(str(op.client_id))
        assert loaded == op and loaded is not None and loaded.history == op.history
    assert [str(o.client_id) for o in journal.list_operations()] == sorted(
        str(o.client_id) for o in ops
    )
    # and it keeps going incrementally from there
    tx = journal.load("tx-old")
    order = journal.load("o-old")
    assert order is not None and tx is not None
    order.apply(OrderUpdate(state=OrderState.CANCELED, sequence=2**80 + 1))  # type: ignore[attr-defined]
    journal.save(order)
    assert journal.load("o-old") == order
    assert journal.find_by_venue_id(str(tx.attempts[1].hash)) == tx  # type: ignore[attr-defined]


@contextlib.contextmanager
def pg_schema_at(version: int) -> Iterator[tuple[Any, str]]:
    """A fresh PostgreSQL schema as the migrations up to ``version`` left it, and an
    autocommit connection to it (dropped afterwards)."""
    from pg_helpers import drop_schema, new_schema, pg_url, require_pg

    require_pg()
    import psycopg

    from chainops.core.journal import postgres

    schema = new_schema()
    try:
        with psycopg.connect(pg_url(), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
            conn.execute(f"SET search_path TO {schema}")
            for steps in postgres._MIGRATIONS[:version]:
                for step in steps:
                    if isinstance(step, str):
                        conn.execute(step)  # type: ignore[arg-type]
                    else:
                        step(conn)
            conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            conn.execute("INSERT INTO schema_version VALUES (%s)", (version,))
            yield conn, schema
    finally:
        drop_schema(schema)


def migrates_from(version: int, write: Callable[..., None]) -> None:
    """Operations written at schema ``version`` by ``write`` open migrated, whole."""
    from pg_helpers import pg_url

    from chainops.core.journal import postgres

    with pg_schema_at(version) as (conn, schema):
        if version >= 2:
            conn.execute("DROP TABLE history_runs")  # schema 2 to 4 had one row per entry
        ops = old_operations()
        write(lambda q, p: conn.execute(q, p), "%s", ops)
        with postgres.PostgresJournal(pg_url(), schema=schema) as journal:
            assert journal.schema_version() == postgres.SCHEMA_VERSION == 5
            check_migrated(journal, ops)


def sqlite_migrated(
    path: Path, version: int, schema: str, write: Callable[..., None], ops: Any
) -> sqlite3.Connection:
    """A file at schema ``version`` holding ``ops`` as ``write`` stores them, opened (and
    so migrated) by the journal; then a plain connection to it for a look inside."""
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in schema.split(";"):
        if statement.strip():
            conn.execute(statement)
    write(lambda q, p: conn.execute(q, p), "?", ops)
    conn.execute(f"PRAGMA user_version={version}")
    conn.close()
    with SqliteJournal(path) as journal:
        check_migrated(journal, ops)
    return sqlite3.connect(path)


class TestSchemaOne:
    def test_sqlite_file_migrates_on_open(self, tmp_path: Path) -> None:
        path = tmp_path / "old.sqlite"
        ops = old_operations()
        conn = sqlite_migrated(path, 1, V1_SCHEMA, write_v1, ops)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
        runs = conn.execute("SELECT entries FROM history_runs").fetchall()
        stored = sum(len(json.loads(run)) for (run,) in runs)
        assert stored == sum(len(op.history) for op in ops) + 1  # + the CANCELED after it
        body = conn.execute("SELECT body FROM operations WHERE client_id = 'o-new'").fetchone()
        assert b'"history"' not in bytes(body[0])  # rewritten in the new form
        conn.close()
        SqliteJournal(path).close()  # reopening changes nothing
        conn = sqlite3.connect(path)
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert "operations_platform" not in indexes and "operations_owner" in indexes
        conn.close()

    def test_sqlite_newer_schema_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "new.sqlite"
        SqliteJournal(path).close()
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA user_version=4")
        conn.close()
        with pytest.raises(Exception, match="newer than 3"):
            SqliteJournal(path)

    def test_postgres_schema_migrates_on_open(self) -> None:
        migrates_from(1, write_v1)


def write_v2(insert: Callable[[str, tuple[Any, ...]], object], mark: str, ops: Any) -> None:
    """Rows as schema 2 wrote them: the state in the body, one history row per entry."""
    from chainops.core.journal.rows import attempt_row, encode_state

    for op in ops:
        body = encode_state(op).decode()
        insert(
            "INSERT INTO operations (client_id, kind, platform, owner, venue_id, state, terminal,"
            f" version, created_at, updated_at, body) VALUES ({', '.join([mark] * 11)})",
            (
                str(op.client_id), op.kind, op.platform, op.owner, None, op.state.name,
                op.is_terminal, len(op.history), text_time(op.created_us),
                text_time(op.updated_us), body,
            ),
        )  # fmt: skip
        for i, e in enumerate(op.history):
            insert(
                f"INSERT INTO history VALUES ({', '.join([mark] * 9)})",
                (
                    str(op.client_id), i, e.at_us, e.change.name, e.previous, e.state,
                    None if e.ref is None else str(e.ref), e.reason,
                    None if e.sequence is None else str(e.sequence),
                ),
            )  # fmt: skip
        for a in getattr(op, "attempts", ()):
            insert(
                f"INSERT INTO tx_attempts VALUES ({', '.join([mark] * 11)})",
                attempt_row(str(op.client_id), a),
            )


class TestSchemaTwo:
    """History rows (one per entry) become runs (one per operation) on open."""

    def test_sqlite_file_migrates_on_open(self, tmp_path: Path) -> None:
        from chainops.core.journal import sqlite as sqlite_journal

        path = tmp_path / "v2.sqlite"
        ops = old_operations()
        conn = sqlite_migrated(path, 2, V1_SCHEMA + ";" + sqlite_journal._SCHEMA_2, write_v2, ops)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "history" not in tables
        runs = conn.execute("SELECT client_id, first_index FROM history_runs").fetchall()
        # one run per operation (the CANCELED saved after it from a loaded copy rewrote one)
        assert sorted(runs) == sorted((str(op.client_id), 0) for op in ops)
        conn.close()

    def test_postgres_schema_migrates_on_open(self) -> None:
        migrates_from(4, write_v2)


def test_a_history_with_a_gap_is_refused() -> None:
    """Runs that do not follow one another mean a damaged journal: say so, never guess."""
    from chainops.core.journal.rows import entries_from_runs, history_rows

    tx = make_tx("tx1")
    tx.add_attempt(make_attempt(0))
    (_, _, first), (_, _, later) = (
        history_rows("tx1", tx.history[:1], 0)[0],
        history_rows("tx1", tx.history[1:], 1)[0],
    )
    assert entries_from_runs("tx1", [(0, first), (1, later)]) == list(tx.history)
    with pytest.raises(JournalError, match="gap at entry 1"):
        entries_from_runs("tx1", [(0, first), (2, later)])
    with pytest.raises(JournalError, match="unreadable"):
        entries_from_runs("tx1", [(0, b"[{")])


def test_a_run_leaves_out_unset_fields_and_reads_runs_that_carry_them() -> None:
    """Unset ref, reason and sequence are not written (most entries have none of them);
    a run written with every field, as earlier versions did, reads back the same."""
    from chainops.core.journal.rows import entries_from_runs, history_rows

    tx = make_tx("tx1")
    tx.add_attempt(make_attempt(0))
    (_, _, run) = history_rows("tx1", tx.history, 0)[0]
    stored = json.loads(run)
    created = stored[0]
    assert created["change"] == "CREATED" and created["previous"] is None
    assert not {"ref", "reason", "sequence"} & created.keys()
    assert any("ref" in entry for entry in stored)  # a set field is still written
    full = [entry.to_dict() | {"at_us": entry.at_us} for entry in tx.history]
    for entry in full:
        del entry["at"]
    assert entries_from_runs("tx1", [(0, json.dumps(full).encode())]) == list(tx.history)


def test_history_entry_keeps_the_public_shape() -> None:
    """Built from a datetime, read back as one (UTC); integer time underneath."""
    from chainops.core.history import Change, HistoryEntry

    when = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=PLUS_2)
    entry = HistoryEntry(at=when, change=Change.FILL, previous="OPEN", state="OPEN", ref="t1")
    assert entry.at == when and entry.at.tzinfo is UTC
    assert entry.at_us == 1714557600123456
    assert HistoryEntry.from_dict(entry.to_dict()) == entry
    with pytest.raises(AttributeError):
        entry.state = "FILLED"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        HistoryEntry(at=datetime(2024, 1, 1), change=Change.FILL, previous=None, state="OPEN")


@given(st.integers(min_value=-(10**15), max_value=4 * 10**15), st.integers(0, 3))
def test_text_time_is_the_isoformat_of_the_time(value: int, later: int) -> None:
    """Its once-a-second prefix cache gives the same text as formatting each time."""
    for us in (value, value + later, value + later * 1_000_000, value - 1):
        assert text_time(us) == from_us(us).isoformat(timespec="microseconds")


class TestSaveMany:
    """A group's history rows go in one insert; the stored rows are those of single saves."""

    @_hypothesis
    @given(steps=st.lists(st.tuples(tx_steps, st.booleans()), min_size=1, max_size=8))
    def test_group_stores_what_single_saves_store(
        self, stores: Any, steps: list[tuple[Step, bool]]
    ) -> None:
        with stores() as (grouped, single):
            txs = [make_tx(f"tx{i}", created_at=at(i)) for i in range(3)]
            for k, (step, _) in enumerate(steps):
                for n, tx in enumerate(txs):
                    with contextlib.suppress(InvalidTransition, ValidationError):
                        apply_tx_step(tx, step, k * 3 + n)
                grouped.save_many(txs)
                for tx in txs:
                    single.save(tx)
            for tx in txs:
                cid = str(tx.client_id)
                assert grouped.load(cid) == tx
                assert rows(grouped, cid) == rows(single, cid)

    def test_a_second_copy_in_the_group_follows_the_first(self, stores: Any) -> None:
        """Another object of the same operation: the first's rows are in before it rewrites."""
        with stores() as (journal, _):
            tx = make_tx("tx1", created_at=at(0))
            journal.save(tx)
            copy = journal.load("tx1")
            assert isinstance(copy, type(tx))
            tx.add_attempt(make_attempt(0), at=at(1))  # appended by the group, deferred
            copy.add_attempt(make_attempt(0), at=at(1))
            copy.mark_broadcast(0, at=at(2))  # longer: the copy rewrites the whole history
            journal.save_many([tx, copy])
            assert journal.load("tx1") == copy
            assert stored_entries(journal, "tx1") == len(copy.history)

    def test_an_older_copy_after_the_newer_one_is_refused(self, stores: Any) -> None:
        """The group reads a copy written earlier in it again: the stale read cannot hide it."""
        with stores() as (journal, _):
            tx = make_tx("tx1", created_at=at(0))
            journal.save(tx)
            older = journal.load("tx1")
            assert older is not None
            tx.add_attempt(make_attempt(0), at=at(1))
            with pytest.raises(JournalError, match="refusing to overwrite a newer copy"):
                journal.save_many([tx, older])
            stored = journal.load("tx1")
            assert stored is not None and stored.history == older.history  # all rolled back


def test_has_attempt_hash_finds_exactly_the_journalled_attempts(stores: Any) -> None:
    """The signing step's collision check: one index probe, in every store."""
    with stores() as (journal, _):
        tx = make_tx("tx1", created_at=at(0))
        attempt = make_attempt(0)
        tx.add_attempt(attempt, at=at(1))
        assert not journal.has_attempt_hash(str(attempt.hash))  # not journalled yet
        journal.save(tx)
        assert journal.has_attempt_hash(str(attempt.hash))
        assert not journal.has_attempt_hash(str(make_attempt(1).hash))
        assert not journal.has_attempt_hash(str(tx.client_id))  # an id is not a hash


def test_attempts_keep_their_own_fees_through_the_fee_text_cache(stores: Any) -> None:
    """Fee column text is built once per FeeParams: equal fees share it, others do not."""
    with stores() as (journal, _):
        first, second = make_tx("tx1", created_at=at(0)), make_tx("tx2", created_at=at(0))
        first.add_attempt(make_attempt(0), at=at(1))
        first.add_attempt(make_attempt(1), at=at(2))  # a speed-up: higher fees
        second.add_attempt(make_attempt(0, seed=9), at=at(1))  # the first attempt's fees again
        journal.save_many([first, second])
        fees = [a.fee for tx in ("tx1", "tx2") for a in journal.attempts(tx)]
        assert fees == [make_attempt(0).fee, make_attempt(1).fee, make_attempt(0).fee]
        assert fees[0] != fees[1]
