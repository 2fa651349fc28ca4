"""Resident memory of a long-running operator: after 1,000 and after N finished transfers.

The real ``SolanaOperator`` (sender, monitor, waiters, group-committed SQLite journal
file at FULL sync) sends rounds of 1,000 concurrent transfers on the in-process SVM
and waits for each to be *confirmed*. A finished transfer must leave nothing behind in
the operator (the journal keeps it on disk), so resident memory after N transfers
should stay within 10 % of that after the first 1,000.

The simulated cluster keeps every landed transaction, as a ledger does: that growth is
the cluster's, not the operator's, so each round runs on a fresh ``LocalChain`` handed
to the same transport (the old one released first), and only the operator's memory
accumulates. The blockhash is therefore never shared across rounds (``blockhash_ttl=0``).

CHAINOPS_BENCH_MEM_N sets N (a multiple of 1,000). The default is 100,000, the figure
the target is set for (about a minute on a quiet 2-core machine, three on a busy one).
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from bench.harness import Result
from chainops.devnet.solana import LiteSvmTransport, LocalChain
from chainops.operators.solana import SolanaConfiguration, SolanaOperator, SolanaSigner

N = int(os.environ.get("CHAINOPS_BENCH_MEM_N", "100000"))
ROUND = 1_000
# 50 ms slots: a blockhash lives 7.5 s, far longer than a round of 1,000 transfers.
SLOT_TIME = 0.05


def resident_mb() -> float:
    """This process's resident set size now (Linux), else its peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fresh_chain(payer: SolanaSigner) -> LocalChain:
    chain = LocalChain(slot_time=SLOT_TIME)
    chain.airdrop(str(payer.pubkey), 10**15)
    return chain


async def _measure(n: int) -> dict[str, float]:
    folder = tempfile.mkdtemp(prefix="chainops-bench-mem-")
    signer = SolanaSigner.generate()
    transport = LiteSvmTransport(_fresh_chain(signer))
    config = SolanaConfiguration(
        platform="solana-local",
        journal_path=Path(folder) / "journal.sqlite",
        track_finality=False,
        blockhash_ttl=0,
    )
    to = str(SolanaSigner.generate().pubkey)
    figures: dict[str, float] = {}
    async with SolanaOperator(config, signer, transport) as op:

        async def one() -> None:
            tx = await op.transfer(to, Decimal("0.001"))
            await tx.wait(timeout=120)

        start = time.perf_counter()
        for done in range(ROUND, n + 1, ROUND):
            if done > ROUND:
                # The old cluster goes first: two alive at once would grow the heap once
                # by a cluster's size, and that step is the bench's, not the operator's.
                del transport.chain
                gc.collect()
                transport.chain = _fresh_chain(signer)
            await asyncio.gather(*(one() for _ in range(ROUND)))
            await op.commits.drain()
            if done in (ROUND, 10 * ROUND, n // 2, n):
                gc.collect()
                figures[f"rss_mb_after_{done}"] = resident_mb()
        figures["seconds"] = time.perf_counter() - start
        figures["live_after"] = len(op.monitor.live)
    return figures


def run() -> list[Result]:
    n = max(ROUND, N - N % ROUND)
    figures = asyncio.run(_measure(n))
    first, last = figures[f"rss_mb_after_{ROUND}"], figures[f"rss_mb_after_{n}"]
    points = sorted(int(k.rsplit("_", 1)[1]) for k in figures if k.startswith("rss_mb_after_"))
    steps = ", ".join(f"{figures[f'rss_mb_after_{p}']:.1f} MB after {p:,}" for p in points)
    later = [figures[f"rss_mb_after_{p}"] for p in points if p >= 10 * ROUND]
    spread = f"; from 10,000 on within {100 * (max(later) / min(later) - 1):.1f} %" if later else ""
    print(
        f"  resident memory of the operator's process: {steps} finished transfers "
        f"({100 * (last / first - 1):+.1f} % from the first {ROUND:,}; target within 10 %"
        f"{spread}), {figures['seconds']:.0f} s"
    )
    return [
        Result(
            f"memory_rss_after_{n // 1000}k_transfers",
            "MB",
            last,
            first,
            f"resident memory after the first {ROUND:,} (ratio >= 0.91: within 10 %)",
            False,
            {"n": n, **figures},
        )
    ]
