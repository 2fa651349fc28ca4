"""Journal writes: an attempt journalled before broadcast, against a plain SQLite baseline."""

from __future__ import annotations

import itertools
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from eth_account import Account

from bench.harness import Result, per_second
from chainops.core.attempt import FeeParams, TxAttempt
from chainops.core.ids import ClientIdGenerator, TxHash
from chainops.core.journal import SqliteJournal
from chainops.core.transaction import Transaction

N = 300
KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"


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


Writer = Callable[[Transaction], None]


def _rate(make_writer: Callable[[Path], Writer], txs: list[Transaction]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        write = make_writer(Path(tmp))
        it = itertools.cycle(txs)
        return per_second(lambda: write(next(it)), N, repeats=3)


def run() -> list[Result]:
    txs = _signed_transactions(N * 3)

    def ours(folder: Path, synchronous: Literal["FULL", "NORMAL"] = "FULL") -> Writer:
        journal = SqliteJournal(folder / "j.sqlite", synchronous=synchronous)
        return journal.save

    def baseline(folder: Path) -> Writer:
        # What a bot usually does: default SQLite (rollback journal, FULL sync), JSON blob.
        conn = sqlite3.connect(folder / "b.sqlite", isolation_level=None)
        conn.execute("CREATE TABLE ops (id TEXT PRIMARY KEY, body TEXT)")

        def write(tx: Transaction) -> None:
            conn.execute("BEGIN")
            conn.execute("INSERT OR REPLACE INTO ops VALUES (?, ?)", (tx.client_id, tx.to_json()))
            conn.execute("COMMIT")

        return write

    base = _rate(baseline, txs)
    return [
        Result(
            name="journal_write",
            unit="writes/s",
            ours=_rate(ours, txs),
            baseline=base,
            baseline_name="default sqlite3 (rollback journal, FULL sync), JSON blob per commit",
            higher_is_better=True,
            details={"synchronous": "FULL"},
        ),
        Result(
            name="journal_write_normal_sync",
            unit="writes/s",
            ours=_rate(lambda folder: ours(folder, "NORMAL"), txs),
            baseline=base,
            baseline_name="default sqlite3 (rollback journal, FULL sync), JSON blob per commit",
            higher_is_better=True,
            details={"synchronous": "NORMAL"},
        ),
    ]
