"""The journal once it holds many transfers: what a long-running operator's saves cost.

A fresh journal is small: its indexes fit in a few pages, and each group commit
writes few of them. A journal holding tens of thousands of transfers pays more
for the same saves: the attempt-hash index is keyed by hashes, which arrive in no
order, so once that index has more pages than a commit has inserts every insert
dirties a page of its own, and each commit (and each checkpoint after it) writes
more pages.

The same ``MEASURED`` transfers (each saved signed, then confirmed, ``GROUP`` saves
per commit as the operators' group commit makes them) are timed in a journal
already holding ``GROWN`` transfers (ours) and in a fresh one (the baseline). The
figure is the CPU per transfer of the thread that saves (an operator's event-loop
thread); ``details`` has the longest single group commit of each: how long one save
can hold that thread. It is a measure of growth, not a target.

CHAINOPS_BENCH_JOURNAL_GROWN sets GROWN (default 20,000).
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.harness import Result
from chainops.core.attempt import FeeParams, TxAttempt, TxReceipt
from chainops.core.ids import ClientIdGenerator, TxHash
from chainops.core.journal import SqliteJournal
from chainops.core.keccak import keccak256
from chainops.core.transaction import Transaction, TxState, TxUpdate

GROWN = int(os.environ.get("CHAINOPS_BENCH_JOURNAL_GROWN", "20000"))
MEASURED = 2000
GROUP = 250
ROUNDS = 3
SENDER = "0x" + "ab" * 20
FEES = FeeParams(max_fee_per_gas=2 * 10**9, max_priority_fee_per_gas=10**9)


def _transfers(n: int, ids: ClientIdGenerator, first_nonce: int) -> list[Transaction]:
    """Signed transfers with unique attempt hashes (the bytes need not be a valid tx)."""
    out = []
    for nonce in range(first_nonce, first_nonce + n):
        raw = os.urandom(110)
        tx = Transaction(
            client_id=ids.next(),
            platform="anvil",
            sender=SENDER,
            to=SENDER,
            value=1,
            nonce=nonce,
            fee_params=FEES,
        )
        tx.add_attempt(
            TxAttempt(index=0, hash=TxHash(keccak256(raw)), raw=raw, nonce=nonce, fee=FEES)
        )
        out.append(tx)
    return out


def _confirm(tx: Transaction) -> None:
    tx.mark_broadcast(0)
    receipt = TxReceipt(transaction_hash=tx.attempts[0].hash, block_number=1, status=1)
    tx.apply(TxUpdate(state=TxState.CONFIRMED, receipt=receipt, confirmations=1))


def _save_lifecycles(journal: SqliteJournal, txs: list[Transaction]) -> list[float]:
    """Each group saved signed, then confirmed: the wall time of every group commit."""
    stalls = []
    for start in range(0, len(txs), GROUP):
        group = txs[start : start + GROUP]
        began = time.perf_counter()
        journal.save_many(group)
        stalls.append(time.perf_counter() - began)
        for tx in group:
            _confirm(tx)
        began = time.perf_counter()
        journal.save_many(group)
        stalls.append(time.perf_counter() - began)
    return stalls


def _one(grown: int) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="chainops-bench-steady-"))
    ids = ClientIdGenerator(prefix="s")
    journal = SqliteJournal(folder / "journal.sqlite")
    try:
        _save_lifecycles(journal, _transfers(grown, ids, 0))
        measured = _transfers(MEASURED, ids, grown)
        thread = time.thread_time()
        stalls = _save_lifecycles(journal, measured)
        thread = time.thread_time() - thread
    finally:
        journal.close()
        shutil.rmtree(folder, ignore_errors=True)
    return {"thread_cpu_us": 1e6 * thread / MEASURED, "longest_commit_ms": 1000 * max(stalls)}


def run() -> list[Result]:
    rounds = []
    for i in range(ROUNDS):
        order = (GROWN, 0) if i % 2 == 0 else (0, GROWN)  # each goes first as often
        rounds.append({size: _one(size) for size in order})
    grown = {k: statistics.median(r[GROWN][k] for r in rounds) for k in rounds[0][GROWN]}
    fresh = {k: statistics.median(r[0][k] for r in rounds) for k in rounds[0][0]}
    print(
        f"  the same {MEASURED:,} transfers (signed + confirmed, {GROUP} per commit) in a "
        f"journal holding {GROWN:,}: {grown['thread_cpu_us']:.1f} µs of the saving thread's "
        f"CPU per transfer, longest group commit {grown['longest_commit_ms']:.1f} ms; in a "
        f"fresh journal {fresh['thread_cpu_us']:.1f} µs, {fresh['longest_commit_ms']:.1f} ms"
    )
    return [
        Result(
            name="journal_grown_vs_fresh_thread_cpu",
            unit="us/transfer",
            ours=grown["thread_cpu_us"],
            baseline=fresh["thread_cpu_us"],
            baseline_name="the same saves in a fresh journal",
            higher_is_better=False,
            details={
                "grown_to": GROWN,
                "measured": MEASURED,
                "saves_per_commit": GROUP,
                "rounds": [{"grown": r[GROWN], "fresh": r[0]} for r in rounds],
                "longest_commit_ms_grown": grown["longest_commit_ms"],
                "longest_commit_ms_fresh": fresh["longest_commit_ms"],
            },
        )
    ]
