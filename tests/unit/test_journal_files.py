"""The journal writes only into the files it opened; operators close the files they open."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

import chainops.operators.chain as chain_module
from chainops.core.errors import JournalError
from chainops.core.journal import SqliteJournal
from chainops.operators.base import OperatorFactory

KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"


def test_a_deleted_wal_file_stops_every_commit(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = SqliteJournal(path)
    journal.set_value("k", "1")
    wal = Path(f"{path}-wal")
    assert wal.exists()
    wal.unlink()
    with pytest.raises(JournalError, match="deleted or replaced"):
        journal.set_value("k", "2")
    journal.close()
    assert SqliteJournal(path).get_value("k") != "2"  # nothing was half-written


def test_a_replaced_database_file_stops_every_commit(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = SqliteJournal(path)
    other = SqliteJournal(tmp_path / "other.sqlite")
    other.close()
    os.replace(tmp_path / "other.sqlite", path)
    with pytest.raises(JournalError, match="deleted or replaced"):
        journal.set_value("k", "1")
    journal.close()


def test_an_unchanged_journal_commits(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "journal.sqlite")
    for value in range(3):
        journal.set_value("k", str(value))
    assert journal.get_value("k") == "2"
    journal.close()


def _open_fds(path: Path) -> int:
    fd_dir = Path("/proc/self/fd")
    count = 0
    for fd in fd_dir.iterdir():
        try:
            if os.readlink(fd).startswith(str(path)):
                count += 1
        except OSError:
            continue
    return count


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
async def test_operators_close_the_journal_file_they_open(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    for _ in range(20):
        op = OperatorFactory.create(
            "devnet", rpc_url="http://127.0.0.1:9", private_key=KEY, journal_path=path
        )
        await op.close()
    assert _open_fds(path) == 0
    SqliteJournal(path).close()  # reopening in the same process works


def test_an_operator_without_a_journal_file_warns_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(chain_module, "_warned_not_durable", False)
    with caplog.at_level(logging.WARNING, logger="chainops.operators"):
        for _ in range(3):
            OperatorFactory.create("devnet", rpc_url="http://127.0.0.1:9", private_key=KEY)
    warnings = [r for r in caplog.records if "journals in memory" in r.getMessage()]
    assert len(warnings) == 1
