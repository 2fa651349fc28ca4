from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from core_factories import (
    at,
    make_attempt,
    make_fill,
    make_order,
    make_receipt,
    make_tx,
    solana_attempt,
)

from chainops.core.errors import JournalError
from chainops.core.ids import ClientIdGenerator
from chainops.core.journal import Journal, SqliteJournal
from chainops.core.order import Order, OrderState, OrderUpdate
from chainops.core.transaction import Transaction, TxState, TxUpdate

Opener = Callable[[], Journal]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite"


@pytest.fixture(params=["sqlite", "postgres"])
def opener(request: pytest.FixtureRequest, path: Path) -> Iterator[Opener]:
    """Opens the journal under test again and again on one store (file or schema)."""
    if request.param == "sqlite":
        yield lambda: SqliteJournal(path, synchronous="NORMAL")
        return
    from pg_helpers import drop_schema, new_schema, pg_url, require_pg

    require_pg()
    from chainops.core.journal.postgres import PostgresJournal

    schema = new_schema()
    try:
        yield lambda: PostgresJournal(pg_url(), schema=schema)
    finally:
        drop_schema(schema)


@pytest.fixture
def journal(opener: Opener) -> Iterator[Journal]:
    with opener() as j:
        yield j


def broadcast_tx(client_id: str = "tx1", attempts: int = 1) -> Transaction:
    tx = make_tx(client_id)
    for i in range(attempts):
        tx.add_attempt(make_attempt(i, seed=hash(client_id) % 10_000 * 10 + i))
        tx.mark_broadcast(i, at=at(10 + i))
    return tx


def strip_broadcast(tx: Transaction) -> list[Any]:
    return [dataclasses.replace(a, broadcast_at=None, error=None) for a in tx.attempts]


class TestRoundTrip:
    def test_order(self, journal: Journal) -> None:
        order = make_order()
        order.apply(OrderUpdate(state=OrderState.OPEN, venue_id="123", fills=(make_fill(1),)))
        journal.save(order)
        loaded = journal.load("o1")
        assert loaded == order and isinstance(loaded, Order)
        assert journal.load("o1", Order) == order
        assert loaded.filled_base == Decimal("0.25")

    def test_transaction_and_attempts(self, journal: Journal) -> None:
        tx = broadcast_tx(attempts=2)
        journal.record_attempt(tx)
        loaded = journal.load("tx1", Transaction)
        assert loaded == tx and loaded is not None
        assert loaded.attempts[1].raw == tx.attempts[1].raw
        assert journal.attempts("tx1") == strip_broadcast(tx)

    def test_solana_attempts(self, journal: Journal) -> None:
        from core_factories import SOL_SENDER

        tx = Transaction(client_id="s1", platform="solana-local", sender=SOL_SENDER)
        tx.add_attempt(solana_attempt(0))
        journal.save(tx)
        assert journal.attempts("s1") == list(tx.attempts)
        assert journal.find_by_venue_id(str(tx.attempts[0].hash)) == tx

    def test_missing_and_wrong_kind(self, journal: Journal) -> None:
        assert journal.load("nope") is None
        journal.save(make_order())
        with pytest.raises(JournalError, match="not a Transaction"):
            journal.load("o1", Transaction)

    def test_update_in_place(self, journal: Journal) -> None:
        order = make_order()
        journal.save(order)
        order.transition(OrderState.OPEN)
        journal.save(order)
        journal.save(order)  # same version again is fine
        assert journal.load("o1", Order).state is OrderState.OPEN  # type: ignore[union-attr]
        assert len(journal.list_operations()) == 1

    def test_memory(self) -> None:
        with SqliteJournal(":memory:") as j:
            j.save(make_order())
            assert j.load("o1") is not None


class TestRestart:
    def test_reopen_keeps_everything(self, opener: Opener) -> None:
        first = opener()
        order = make_order()
        tx = broadcast_tx()
        first.save(order)
        first.record_attempt(tx)
        first.set_value("nonce:anvil:0x11", "8")
        first.close()
        first.close()  # idempotent
        with pytest.raises(JournalError, match="closed"):
            first.load("o1")

        second = opener()
        assert second.load("o1") == order
        assert second.load("tx1") == tx
        assert second.get_value("nonce:anvil:0x11") == "8"
        assert [op.client_id for op in second.non_terminal()] == ["o1", "tx1"]
        second.close()

    def test_client_ids_resume_after_restart(self, opener: Opener) -> None:
        gen = ClientIdGenerator("bot")
        with opener() as j:
            issued = [gen.next() for _ in range(3)]
            for cid in issued:
                j.save(make_order(cid))
            j.save(make_order("bot-handmade"))  # not a generated id: ignored
        with opener() as j:
            last = j.last_client_id("bot")
            assert last == issued[-1]
            assert j.last_client_id("other") is None
            # a restarted generator whose clock is far behind still continues above
            restarted = ClientIdGenerator("bot", last_issued=last, clock=lambda: 0)
            assert restarted.next() > issued[-1]


class TestQueries:
    def test_non_terminal(self, journal: Journal) -> None:
        open_order = make_order("a", created_at=at(1))
        open_order.transition(OrderState.OPEN)
        done = make_order("b", created_at=at(2))
        done.transition(OrderState.CANCELED)
        unknown = make_order("c", created_at=at(3), platform="kraken")
        unknown.transition(OrderState.UNKNOWN)
        tx = broadcast_tx("t")
        journal.save_many([open_order, done, unknown, tx])
        assert [op.client_id for op in journal.non_terminal()] == ["t", "a", "c"]
        assert [op.client_id for op in journal.non_terminal(kind="order")] == ["a", "c"]
        assert [op.client_id for op in journal.non_terminal(platform="KRAKEN")] == ["c"]
        assert [op.client_id for op in journal.non_terminal(owner=str(tx.owner))] == ["t"]
        # once terminal, it leaves the list
        done_tx = journal.load("t", Transaction)
        assert done_tx is not None
        done_tx.apply(TxUpdate(state=TxState.DROPPED))
        journal.save(done_tx)
        assert [op.client_id for op in journal.non_terminal()] == ["a", "c"]

    def test_list_operations(self, journal: Journal) -> None:
        for i in range(5):
            order = make_order(f"o{i}", owner="alice" if i % 2 else "bob", created_at=at(i))
            journal.save(order)
        journal.save(broadcast_tx())
        assert [o.client_id for o in journal.list_operations(owner="alice")] == ["o1", "o3"]
        assert len(journal.list_operations(platform="binance")) == 5
        assert len(journal.list_operations(kind="transaction")) == 1
        assert len(journal.list_operations(state="broadcast")) == 1
        assert [o.client_id for o in journal.list_operations(limit=2)] == ["o0", "tx1"]

    def test_find_by_venue_id(self, journal: Journal) -> None:
        order = make_order()
        order.venue_id = "555"  # type: ignore[assignment]
        tx = broadcast_tx(attempts=2)
        journal.save_many([order, tx])
        assert journal.find_by_venue_id("555") == order
        assert journal.find_by_venue_id(str(tx.venue_id)) == tx
        # a speed-up's hash finds the same transaction, in any hex case
        assert journal.find_by_venue_id(str(tx.attempts[1].hash).upper().replace("X", "x")) == tx
        assert journal.find_by_venue_id("0x" + "00" * 32) is None

    def test_venue_id_ambiguity(self, journal: Journal) -> None:
        a = make_order("a", platform="binance")
        b = make_order("b", platform="kraken")
        a.venue_id = b.venue_id = "1"  # type: ignore[assignment]
        journal.save_many([a, b])
        with pytest.raises(JournalError, match="several platforms"):
            journal.find_by_venue_id("1")
        assert journal.find_by_venue_id("1", platform="kraken") == b


class TestSafety:
    def test_stale_copy_never_overwrites(self, journal: Journal) -> None:
        tx = broadcast_tx()
        stale = Transaction.from_json(tx.to_json())
        a0 = tx.attempts[0]
        tx.apply(TxUpdate(state=TxState.INCLUDED, receipt=make_receipt(a0)))
        journal.save(tx)
        with pytest.raises(JournalError, match="newer copy"):
            journal.save(stale)
        assert journal.load("tx1") == tx

    def test_kind_clash(self, journal: Journal) -> None:
        journal.save(make_order("same"))
        with pytest.raises(JournalError, match="stored as a order"):
            journal.save(make_tx("same"))

    def test_attempt_hash_is_immutable(self, journal: Journal) -> None:
        tx = broadcast_tx()
        journal.save(tx)
        forged = make_tx("tx1")
        forged.add_attempt(make_attempt(0, seed=424242))
        forged.mark_broadcast(0)
        forged.mark_broadcast(0)
        while len(forged.history) < len(tx.history) + 1:
            forged.attempt_failed(0, JournalError(str(len(forged.history))))
        with pytest.raises(JournalError, match="another hash"):
            journal.save(forged)
        assert journal.load("tx1") == tx

    def test_record_attempt_needs_attempt_on_tx(self, journal: Journal) -> None:
        with pytest.raises(JournalError, match="add the attempt"):
            journal.record_attempt(make_tx())
        with pytest.raises(JournalError):
            journal.record_attempt(broadcast_tx(), make_attempt(3))


class TestAtomicity:
    def test_failed_write_leaves_nothing(self, journal: Journal) -> None:
        first = broadcast_tx("first")
        journal.save(first)
        # a second tx claiming the same attempt hash violates the unique index
        clash = make_tx("second")
        clash.add_attempt(first.attempts[0])
        with pytest.raises(JournalError):
            journal.save(clash)
        assert journal.load("second") is None
        assert journal.attempts("second") == []

    def test_error_mid_write_rolls_back(
        self, journal: Journal, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def explode(tx: Transaction, *rest: object) -> None:
            raise RuntimeError("disk yanked")

        monkeypatch.setattr(journal, "_save_attempts", explode)
        with pytest.raises(RuntimeError):
            journal.save(broadcast_tx())
        monkeypatch.undo()
        assert journal.load("tx1") is None
        journal.save(make_order())  # the journal is still usable
        assert journal.load("o1") is not None

    def test_save_many_all_or_nothing(self, journal: Journal) -> None:
        journal.save(make_tx("x"))
        with pytest.raises(JournalError):
            journal.save_many([make_order("a"), make_order("x"), make_order("c")])
        assert journal.load("a") is None and journal.load("c") is None

    def test_atomic_block(self, journal: Journal) -> None:
        with pytest.raises(ValueError), journal.atomic():
            journal.save(make_order("a"))
            journal.set_value("k", "v")
            with journal.atomic():
                journal.save(make_order("b"))
            raise ValueError("abort")
        assert journal.load("a") is None and journal.load("b") is None
        assert journal.get_value("k") is None
        with journal.atomic():
            journal.save(make_order("a"))
            journal.set_max("nonce", 3)
        assert journal.load("a") is not None and journal.get_value("nonce") == "3"


class TestKeyValue:
    def test_values(self, journal: Journal) -> None:
        assert journal.get_value("x") is None
        journal.set_value("x", "1")
        journal.set_value("x", "2")
        assert journal.get_value("x") == "2"

    def test_set_max_never_lowers(self, journal: Journal) -> None:
        assert journal.set_max("hw", 5) == 5
        assert journal.set_max("hw", 3) == 5
        assert journal.set_max("hw", 9) == 9
        assert journal.get_value("hw") == "9"
        with pytest.raises(JournalError):
            journal.set_max("hw", True)


class TestConcurrency:
    def test_threads_share_one_journal(self, journal: Journal) -> None:
        errors: list[BaseException] = []

        def writer(n: int) -> None:
            try:
                for i in range(25):
                    order = make_order(f"w{n}-{i}")
                    journal.save(order)
                    order.transition(OrderState.OPEN)
                    journal.save(order)
                    journal.set_max("hw", n * 100 + i)
                    assert journal.load(order.client_id) == order
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(journal.list_operations()) == 200
        assert journal.get_value("hw") == "724"

    def test_two_connections_same_store(self, opener: Opener) -> None:
        a = opener()
        b = opener()

        def write(j: Journal, tag: str) -> None:
            for i in range(30):
                j.save(make_order(f"{tag}{i}"))

        threads = [
            threading.Thread(target=write, args=(a, "a")),
            threading.Thread(target=write, args=(b, "b")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(a.list_operations()) == 60 == len(b.list_operations())
        a.close()
        b.close()

    async def test_usable_from_asyncio(self, journal: Journal) -> None:
        journal.save(make_order())
        assert journal.load("o1") is not None


class TestOpening:
    def test_pragmas(self, path: Path) -> None:
        with SqliteJournal(path) as j:
            assert j._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert j._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
            assert j._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
            assert j._conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
        with SqliteJournal(path, synchronous="NORMAL") as j:
            assert j._conn.execute("PRAGMA synchronous").fetchone()[0] == 1
        with pytest.raises(JournalError):
            SqliteJournal(path, synchronous="OFF")  # type: ignore[arg-type]

    def test_creates_parent_directory(self, tmp_path: Path) -> None:
        with SqliteJournal(tmp_path / "a" / "b" / "j.sqlite") as j:
            j.save(make_order())

    def test_corrupt_file(self, path: Path) -> None:
        path.write_bytes(b"this is not a database at all" * 100)
        with pytest.raises(JournalError, match="journal"):
            SqliteJournal(path)

    def test_directory_path(self, tmp_path: Path) -> None:
        with pytest.raises(JournalError):
            SqliteJournal(tmp_path)

    def test_parent_is_a_file(self, tmp_path: Path) -> None:
        blocker = tmp_path / "file"
        blocker.write_text("x")
        with pytest.raises(JournalError, match="cannot open"):
            SqliteJournal(blocker / "j.sqlite")

    def test_newer_schema_refused(self, path: Path) -> None:
        SqliteJournal(path).close()
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA user_version=99")
        conn.close()
        with pytest.raises(JournalError, match="newer"):
            SqliteJournal(path)

    def test_unreadable_row(self, path: Path) -> None:
        with SqliteJournal(path) as j:
            j.save(make_order())
        conn = sqlite3.connect(path)
        conn.execute('UPDATE operations SET body = \'{"kind": "order"}\'')
        conn.commit()
        conn.close()
        with SqliteJournal(path) as j, pytest.raises(JournalError, match="unreadable"):
            j.load("o1")

    def test_is_a_journal(self, journal: Journal) -> None:
        assert isinstance(journal, Journal)
