"""The PostgreSQL journal beyond the shared contract: schema versions, faults, several writers.

Needs a server: ``CHAINOPS_TEST_POSTGRES_URL`` (default postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from core_factories import make_attempt, make_order, make_tx
from pg_helpers import pg_url, schema_fixture

from chainops.core.errors import (
    ConfigurationError,
    JournalError,
    JournalSchemaError,
    JournalUnavailable,
)
from chainops.core.journal import SqliteJournal, is_database_url, open_journal
from chainops.core.order import Order, OrderState

psycopg = pytest.importorskip("psycopg", reason="pip install -e '.[postgres]'")

from chainops.core.journal.postgres import SCHEMA_VERSION, PostgresJournal  # noqa: E402


@pytest.fixture
def schema() -> Iterator[str]:
    yield from schema_fixture()


def admin(schema: str, statement: str) -> None:
    with psycopg.connect(pg_url(), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute(statement)


class TestSchema:
    def test_created_at_current_version(self, schema: str) -> None:
        with PostgresJournal(pg_url(), schema=schema) as j:
            assert j.schema_version() == SCHEMA_VERSION
        with PostgresJournal(pg_url(), schema=schema) as j:  # reopening migrates nothing
            assert j.schema_version() == SCHEMA_VERSION

    def test_newer_schema_refused(self, schema: str) -> None:
        PostgresJournal(pg_url(), schema=schema).close()
        admin(schema, f"UPDATE schema_version SET version = {SCHEMA_VERSION + 1}")
        with pytest.raises(JournalSchemaError, match="newer than this chainops"):
            PostgresJournal(pg_url(), schema=schema)

    def test_schema_from_the_url_fragment(self, schema: str) -> None:
        with open_journal(f"{pg_url()}#{schema}") as j:
            assert isinstance(j, PostgresJournal) and j.schema == schema
            j.save(make_order())
        with PostgresJournal(pg_url(), schema=schema) as j:
            assert j.load("o1") is not None

    @pytest.mark.parametrize("bad", ["Upper", "has-dash", "x; DROP TABLE kv", "1starts"])
    def test_bad_schema_name(self, bad: str) -> None:
        with pytest.raises(JournalError, match="schema"):
            PostgresJournal(pg_url(), schema=bad)

    def test_several_processes_opening_at_once_migrate_once(self, schema: str) -> None:
        errors: list[BaseException] = []

        def open_one() -> None:
            try:
                PostgresJournal(pg_url(), schema=schema).close()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=open_one) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []


class TestSelection:
    def test_url_selects_postgres_and_path_sqlite(self, schema: str, tmp_path: Path) -> None:
        assert is_database_url("postgresql://h/db") and is_database_url("postgres://h/db")
        assert not is_database_url("journal.sqlite") and not is_database_url(tmp_path)
        with open_journal(pg_url(), schema=schema) as j:
            assert isinstance(j, PostgresJournal)
        with open_journal(tmp_path / "j.sqlite") as j:
            assert isinstance(j, SqliteJournal)
        with open_journal(None) as j:
            assert isinstance(j, SqliteJournal) and j.path == ":memory:"

    def test_other_urls_refused(self) -> None:
        with pytest.raises(ConfigurationError, match="postgresql://"):
            open_journal("mysql://h/db")


class TestFaults:
    def test_unreachable_at_start(self) -> None:
        # a port nothing listens on: a clear typed error, at once
        with pytest.raises(JournalUnavailable, match="cannot connect"):
            PostgresJournal("postgresql://postgres@127.0.0.1:9/test", connect_timeout=2)

    def test_password_not_in_messages(self) -> None:
        with pytest.raises(JournalUnavailable) as caught:
            PostgresJournal("postgresql://postgres:s3cret@127.0.0.1:9/test", connect_timeout=2)
        assert "s3cret" not in str(caught.value)

    def test_connection_lost_mid_run_then_resumes(self, schema: str) -> None:
        j = PostgresJournal(pg_url(), schema=schema)
        j.save(make_order("before"))
        assert j._conn is not None
        pid = j._conn.info.backend_pid
        with psycopg.connect(pg_url(), autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        # the write that found the connection gone fails: nothing after it may be sent
        with pytest.raises(JournalUnavailable):
            j.save(make_order("lost"))
        # the next call reconnects and the journal works again
        j.save(make_order("after"))
        assert {o.client_id for o in j.list_operations()} == {"before", "after"}
        assert j.load("lost") is None
        j.close()

    def test_connection_lost_inside_a_block_rolls_back_all(self, schema: str) -> None:
        j = PostgresJournal(pg_url(), schema=schema)
        assert j._conn is not None
        pid = j._conn.info.backend_pid
        with pytest.raises(JournalUnavailable), j.atomic():
            j.save(make_order("a"))
            with psycopg.connect(pg_url(), autocommit=True) as conn:
                conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
            j.save(make_order("b"))
        assert j.load("a") is None and j.load("b") is None
        j.close()


class TestSeveralWriters:
    def test_read_modify_write_is_serialised_across_connections(self, schema: str) -> None:
        """Like taking nonces: each writer reads the mark and raises it by one, in a block."""
        journals = [PostgresJournal(pg_url(), schema=schema) for _ in range(4)]
        taken: list[int] = []
        lock = threading.Lock()

        def take(j: PostgresJournal) -> None:
            for _ in range(50):
                with j.atomic():
                    stored = j.get_value("nonce:1:0xabc")
                    first = int(stored) if stored is not None else 0
                    j.set_value("nonce:1:0xabc", str(first + 1))
                with lock:
                    taken.append(first)

        threads = [threading.Thread(target=take, args=(j,)) for j in journals]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(taken) == list(range(200))  # none handed out twice, none skipped
        assert journals[0].get_value("nonce:1:0xabc") == "200"
        for j in journals:
            j.close()

    def test_set_max_from_several_connections(self, schema: str) -> None:
        journals = [PostgresJournal(pg_url(), schema=schema) for _ in range(3)]

        def raise_mark(j: PostgresJournal, offset: int) -> None:
            for i in range(40):
                j.set_max("hw", i * 3 + offset)

        threads = [threading.Thread(target=raise_mark, args=(j, n)) for n, j in enumerate(journals)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert journals[1].get_value("hw") == str(39 * 3 + 2)
        for j in journals:
            j.close()


def round_trips(journal: PostgresJournal, work: Callable[[], None], folder: Path) -> int:
    """How many times ``work`` waits for the server, read from libpq's protocol trace."""
    conn = journal._connection()
    with open(folder / "libpq.trace", "w+") as trace:
        conn.pgconn.trace(trace.fileno())
        conn.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            work()
        finally:
            conn.pgconn.untrace()
        trace.seek(0)
        directions = [line[0] for line in trace if line[:1] in ("F", "B")]
    # each run of messages sent that the server then answers is one wait
    return sum(1 for sent, got in itertools.pairwise(directions) if (sent, got) == ("F", "B"))


class TestGroupSaves:
    @pytest.mark.parametrize("size", [1, 40])
    def test_a_group_takes_two_round_trips_whatever_its_size(
        self, schema: str, tmp_path: Path, size: int
    ) -> None:
        """BEGIN with the locking read, then the pipelined writes with COMMIT."""
        with PostgresJournal(pg_url(), schema=schema) as journal:
            orders = [make_order(f"o{n}") for n in range(size)]
            assert round_trips(journal, lambda: journal.save_many(orders), tmp_path) == 2
            for order in orders:
                order.transition(OrderState.OPEN)
            assert round_trips(journal, lambda: journal.save_many(orders), tmp_path) == 2
            for order in orders:
                assert journal.load(order.client_id) == order

    @pytest.mark.parametrize("size", [1, 40])
    def test_new_attempts_add_one_round_trip(self, schema: str, tmp_path: Path, size: int) -> None:
        """Their upserts are checked before COMMIT: a reused hash refuses the group."""
        with PostgresJournal(pg_url(), schema=schema) as journal:
            txs = [make_tx(f"t{n}") for n in range(size)]
            for n, tx in enumerate(txs):
                tx.add_attempt(make_attempt(0, seed=n + 1))
            assert round_trips(journal, lambda: journal.save_many(txs), tmp_path) == 3
            for tx in txs:
                tx.mark_broadcast(0)  # no attempt row: its time is a history entry
            assert round_trips(journal, lambda: journal.save_many(txs), tmp_path) == 2
            for tx in txs:
                assert journal.load(tx.client_id) == tx

    def test_a_single_save_is_a_group_of_one(self, schema: str, tmp_path: Path) -> None:
        with PostgresJournal(pg_url(), schema=schema) as journal:
            order = make_order("o1")
            assert round_trips(journal, lambda: journal.save(order), tmp_path) == 2
            order.transition(OrderState.OPEN)
            assert round_trips(journal, lambda: journal.save(order), tmp_path) == 2
            with journal.atomic():  # inside a block: its BEGIN and COMMIT are the block's
                order.transition(OrderState.CANCELED)
                assert round_trips(journal, lambda: journal.save(order), tmp_path) == 2
            assert journal.load("o1") == order

    def test_a_repeated_operation_costs_one_more_round_trip(
        self, schema: str, tmp_path: Path
    ) -> None:
        with PostgresJournal(pg_url(), schema=schema) as journal:
            order = make_order("o1")
            journal.save(order)
            copy = journal.load("o1")
            assert isinstance(copy, Order)
            order.transition(OrderState.OPEN)
            copy.transition(OrderState.OPEN)
            copy.transition(OrderState.CANCELED)
            group = [order, make_order("o2"), copy]
            assert round_trips(journal, lambda: journal.save_many(group), tmp_path) == 3
            assert journal.load("o1") == copy and journal.load("o2") is not None

    def test_a_refused_group_leaves_nothing_and_the_journal_usable(self, schema: str) -> None:
        with PostgresJournal(pg_url(), schema=schema) as journal:
            journal.save(make_order("x"))
            clash = make_tx("x")
            with pytest.raises(JournalError, match="stored as a order"):
                journal.save_many([make_order("a"), clash])
            assert journal.load("a") is None
            journal.save_many([make_order("b")])
            assert journal.load("b") is not None

    def test_a_refusal_met_with_the_commit_rolls_the_group_back(self, schema: str) -> None:
        """Orders alone are not synced before COMMIT: a server-side refusal surfaces there."""
        with PostgresJournal(pg_url(), schema=schema) as journal:
            admin(schema, "ALTER TABLE operations ADD CONSTRAINT no_bad CHECK (client_id <> 'bad')")
            with pytest.raises(JournalError, match="no_bad"):
                journal.save_many([make_order("a"), make_order("bad")])
            assert journal.load("a") is None
            order = make_order("c")
            journal.save(order)
            order.transition(OrderState.OPEN)
            journal.save(order)
            assert journal.load("c") == order

    def test_a_failed_write_in_the_pipeline_rolls_the_group_back(self, schema: str) -> None:
        """A server-side refusal (a reused attempt hash) surfaces at the sync: nothing stays."""
        with PostgresJournal(pg_url(), schema=schema) as journal:
            first = make_tx("first")
            first.add_attempt(make_attempt(0))
            journal.save(first)
            second = make_tx("second")
            second.add_attempt(first.attempts[0])
            with pytest.raises(JournalError):
                journal.save_many([make_order("a"), second])
            assert journal.load("a") is None and journal.load("second") is None
            journal.save_many([make_order("c")])
            assert journal.load("c") is not None


KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"


class TestOperators:
    async def test_a_journal_url_gives_the_operator_a_postgres_journal(self, schema: str) -> None:
        import chainops.operators.evm  # noqa: F401  (registers the EVM operator)
        from chainops.operators.base import OperatorFactory

        url = f"{pg_url()}#{schema}"
        op = OperatorFactory.create(
            "devnet", cache=False, rpc_url="http://127.0.0.1:9", private_key=KEY, journal_path=url
        )
        assert op.config.journal_path == url  # kept as a URL, not mangled into a path
        assert isinstance(op.journal, PostgresJournal) and op.journal.schema == schema
        await op.close()
        assert op.journal._closed  # the operator closes the journal it opened

    def test_a_plain_string_is_still_a_path(self, tmp_path: Path) -> None:
        from chainops.operators.base import OperatorConfiguration

        config = OperatorConfiguration(platform="devnet", journal_path=str(tmp_path / "j.sqlite"))
        assert config.journal_path == tmp_path / "j.sqlite"

    def test_unreachable_database_fails_the_operator_before_any_send(self) -> None:
        import chainops.operators.evm  # noqa: F401
        from chainops.operators.base import OperatorFactory

        with pytest.raises(JournalUnavailable, match="cannot connect"):
            OperatorFactory.create(
                "devnet",
                cache=False,
                rpc_url="http://127.0.0.1:9",
                private_key=KEY,
                journal_path="postgresql://postgres@127.0.0.1:9/test",
            )


class TestConfiguration:
    def test_env_url_selects_postgres_for_the_cli(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        from chainops.cli.runtime import Runtime, Venue

        monkeypatch.setenv("CHAINOPS_HOME", str(tmp_path))
        monkeypatch.setenv("CHAINOPS_CONFIG", str(tmp_path / "none.toml"))
        monkeypatch.setenv("CHAINOPS_JOURNAL", "postgresql://db-host/chainops#workers")
        rt = Runtime(venue=Venue.EVM)
        assert rt.journal_file() == "postgresql://db-host/chainops#workers"
        assert isinstance(rt.journal_file("solana"), Path)  # only the EVM journal moves
        # --journal beats the environment
        flag = Runtime(venue=Venue.EVM, journal=tmp_path / "j.sqlite")
        assert flag.journal_file() == tmp_path / "j.sqlite"

    def test_config_file_url_and_plain_env_path(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        from chainops.cli.runtime import Runtime, Venue

        config = tmp_path / "config.toml"
        config.write_text('journal = "postgresql://db-host/chainops"\n')
        monkeypatch.setenv("CHAINOPS_HOME", str(tmp_path))
        monkeypatch.delenv("CHAINOPS_JOURNAL", raising=False)
        rt = Runtime(venue=Venue.EVM, config=config)
        assert rt.journal_file() == "postgresql://db-host/chainops"
        monkeypatch.setenv("CHAINOPS_JOURNAL", str(tmp_path / "mine.sqlite"))
        assert Runtime(venue=Venue.EVM).journal_file() == tmp_path / "mine.sqlite"
