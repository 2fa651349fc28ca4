"""Solana transfers per second, each side by side with its baseline in the same run.

1. ``SolanaOperator`` on the in-process SVM (``LiteSvmTransport``): N concurrent
   transfers, each simulated, priced, signed, journalled (SQLite file, FULL sync)
   and sent, then every one waited to *confirmed*; against raw LiteSVM sends of N
   transfers pre-signed outside the timing (the SVM's own limit).
2. ``SolanaOperator`` over the loopback JSON-RPC server (``RpcTransport``: one
   JSON-RPC batch of simulations and one of sends per loop turn, solana-py
   ``AsyncClient`` for the rest), N/4 concurrent transfers to *confirmed*;
   against solana-py used the plain way, one transfer after another: ``get_latest_blockhash``,
   ``send_transaction`` (preflight on), ``confirm_transaction`` at *confirmed*.

``details`` also holds the floor the operator's guarantees set on the same SVM:
the native steps alone, one after another, for every transfer (build the message,
simulate it, sign it, send it through ``LocalChain``; no journal, no events, no
wait), as ``floor_tx_per_s`` and ``floor_ratio_vs_raw``; and the process CPU per
transfer of both (``*_cpu_us_per_tx``, steadier than speeds on a shared machine)
with the garbage-collector passes of the operator run (``litesvm_operator_gc_passes``).

Beside them, ``bound_*``: a bare operator with the same guarantees and nothing else
(``bench/solana_bound.py``: journalled before the send, waited to *confirmed*), which
shows how much of the gap to the floor the guarantees themselves take.

The floor, the operator and the operator through ``eventloop.run`` run one after
another in each of ``CHAINOPS_BENCH_SOL_ROUNDS`` rounds (default 3): a ratio is
taken within its round (both sides on the same machine load) and the figures are
the medians over the rounds (``details`` keeps every round's).

CHAINOPS_BENCH_SOL_N sets N (default 2000).
"""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from solders.hash import Hash
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.system_program import TransferParams
from solders.system_program import transfer as system_transfer
from solders.transaction import Transaction, VersionedTransaction

from bench.harness import Result
from bench.solana_bound import run_bound
from chainops.devnet.solana import LiteSvmTransport, LocalChain
from chainops.operators import eventloop
from chainops.operators.solana import (
    SolanaConfiguration,
    SolanaOperator,
    SolanaSigner,
    programs,
)
from chainops.operators.solana.messages import build_message, sign_message, unsigned_bytes
from chainops.operators.solana.transport import SolanaTransport

N = int(os.environ.get("CHAINOPS_BENCH_SOL_N", "2000"))
ROUNDS = int(os.environ.get("CHAINOPS_BENCH_SOL_ROUNDS", "3"))
NAIVE_N = 20
# Fast local slots: "confirmed" is one slot away, and a blockhash lives 150 slots (3 s).
# The operator admits a burst in waves, each with a fresh blockhash, so 2,000 concurrent
# transfers no longer outlive the first one's (they did on a loaded machine).
SLOT_TIME = 0.02
AMOUNT = Decimal("0.001")


def _raw_litesvm(n: int) -> float:
    svm = LiteSVM()
    payer = Keypair()
    svm.airdrop(payer.pubkey(), 10**13)
    to = Keypair().pubkey()
    blockhash = svm.latest_blockhash()
    txs = [
        Transaction(
            [payer],
            Message.new_with_blockhash(
                [
                    system_transfer(
                        TransferParams(
                            from_pubkey=payer.pubkey(), to_pubkey=to, lamports=1_000_000 + i
                        )
                    )
                ],
                payer.pubkey(),
                blockhash,
            ),
            blockhash,
        )
        for i in range(n)
    ]
    start = time.perf_counter()
    for tx in txs:
        svm.send_transaction(tx)
    elapsed = time.perf_counter() - start
    assert svm.get_balance(to) == sum(1_000_000 + i for i in range(n))
    return n / elapsed


def _guarantee_floor(n: int) -> tuple[float, float]:
    """(transfers/s, CPU µs per transfer) of the native work every operator transfer does:
    build, simulate, sign, send."""
    chain = LocalChain(slot_time=None)
    payer = SolanaSigner.generate()
    chain.airdrop(str(payer.pubkey), 10**13)
    to = SolanaSigner.generate().solders_pubkey
    blockhash, _ = chain.latest_blockhash()
    gc.collect()  # each timed section starts from a collected heap (see bench/README.md)
    cpu = time.process_time()
    start = time.perf_counter()
    for i in range(n):
        body = [
            programs.transfer(payer.solders_pubkey, to, 1_000_000),
            programs.memo(f"floor-{i}"),  # the operator's unique memo
        ]
        limit = programs.MAX_COMPUTE_UNIT_LIMIT
        trial = build_message(
            payer.solders_pubkey,
            [programs.set_compute_unit_limit(limit), programs.set_compute_unit_price(0), *body],
            blockhash,
        )
        units = chain.simulate(unsigned_bytes(trial)).units_consumed
        final = [programs.set_compute_unit_limit(units + 1_000), programs.set_compute_unit_price(0)]
        message = build_message(payer.solders_pubkey, [*final, *body], blockhash)
        chain.send(sign_message(message, [payer]).raw)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    assert chain.balance(str(to)) == n * 1_000_000
    return n / elapsed, 1e6 * cpu / n


async def _operator(transport: SolanaTransport, chain: LocalChain, n: int) -> dict[str, float]:
    folder = tempfile.mkdtemp(prefix="chainops-bench-sol-")
    signer = SolanaSigner.generate()
    chain.airdrop(str(signer.pubkey), 10**13)
    config = SolanaConfiguration(
        platform="solana-local",
        journal_path=Path(folder) / "journal.sqlite",
        track_finality=False,
    )
    to = str(SolanaSigner.generate().pubkey)
    latencies: list[float] = []
    async with SolanaOperator(config, signer, transport) as op:

        async def one() -> None:
            began = time.perf_counter()
            tx = await op.transfer(to, AMOUNT)
            await tx.wait(timeout=300)
            latencies.append(time.perf_counter() - began)

        gc.collect()  # as before the floor: no burst pays for what the run before it left
        passes = sum(g["collections"] for g in gc.get_stats())
        cpu = time.process_time()
        start = time.perf_counter()
        await asyncio.gather(*[one() for _ in range(n)])
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu
        passes = sum(g["collections"] for g in gc.get_stats()) - passes
    shutil.rmtree(folder, ignore_errors=True)  # a 2,000-transfer journal is about 8 MB
    assert chain.balance(to) == n * 1_000_000
    latencies.sort()
    return {
        "tx_per_s": n / elapsed,
        "cpu_us_per_tx": 1e6 * cpu / n,
        "gc_passes": passes,
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
    }


async def _naive_solana_py(url: str, chain: LocalChain, n: int) -> float:
    from solana.rpc.async_api import AsyncClient
    from solana.rpc.commitment import Confirmed

    payer = Keypair()
    chain.airdrop(str(payer.pubkey()), 10**12)
    to = Keypair().pubkey()
    async with AsyncClient(url, http2=False) as client:
        start = time.perf_counter()
        for i in range(n):
            blockhash = (await client.get_latest_blockhash(Confirmed)).value.blockhash
            message = Message.new_with_blockhash(
                [
                    system_transfer(
                        TransferParams(
                            from_pubkey=payer.pubkey(), to_pubkey=to, lamports=1_000_000 + i
                        )
                    )
                ],
                payer.pubkey(),
                Hash.from_string(str(blockhash)),
            )
            tx = VersionedTransaction.from_legacy(Transaction([payer], message, blockhash))
            signature = (await client.send_transaction(tx)).value
            await client.confirm_transaction(signature, Confirmed)
        return n / (time.perf_counter() - start)


def _round() -> dict[str, float]:
    """The floor, the operator and the operator as a service, one after another."""
    floor, floor_cpu = _guarantee_floor(N)
    chain = LocalChain(slot_time=SLOT_TIME)
    plain = asyncio.run(_operator(LiteSvmTransport(chain), chain, N))
    chain = LocalChain(slot_time=SLOT_TIME)
    # the same as a long-running service runs it: uvloop when installed, startup heap frozen
    service = eventloop.run(
        _operator(LiteSvmTransport(chain), chain, N), loop="auto", freeze_heap=True
    )
    bound, bound_cpu = run_bound(N, SLOT_TIME)
    return {
        "floor_tx_per_s": floor,
        "floor_cpu_us_per_tx": floor_cpu,
        **plain,
        "ratio_vs_floor": plain["tx_per_s"] / floor,
        "cpu_ratio_vs_floor": floor_cpu / plain["cpu_us_per_tx"],
        "service_tx_per_s": service["tx_per_s"],
        "service_cpu_us_per_tx": service["cpu_us_per_tx"],
        "service_ratio_vs_floor": service["tx_per_s"] / floor,
        "bound_tx_per_s": bound,
        "bound_cpu_us_per_tx": bound_cpu,
        "bound_ratio_vs_floor": bound / floor,
    }


def run() -> list[Result]:
    raw = _raw_litesvm(N)
    rounds = [_round() for _ in range(max(1, ROUNDS))]
    med = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    floor, floor_cpu = med["floor_tx_per_s"], med["floor_cpu_us_per_tx"]
    in_process = {key: med[key] for key in ("tx_per_s", "cpu_us_per_tx", "gc_passes", "p50_ms")}
    in_process["p95_ms"] = med["p95_ms"]
    as_service = {
        "tx_per_s": med["service_tx_per_s"],
        "cpu_us_per_tx": med["service_cpu_us_per_tx"],
    }
    ratio, service_ratio = med["ratio_vs_floor"], med["service_ratio_vs_floor"]
    rpc_n = max(1, N // 4)
    # Imported only now: the in-process rows above run without the RPC stack on their heap,
    # as an in-process user's would (every full collection walks what is imported).
    from chainops.devnet.solana import SolanaRpcServer
    from chainops.operators.solana.rpc_transport import RpcTransport

    with SolanaRpcServer(slot_time=SLOT_TIME) as server:
        over_rpc = asyncio.run(_operator(RpcTransport(server.url), server.chain, rpc_n))
        naive = asyncio.run(_naive_solana_py(server.url, server.chain, NAIVE_N))
    details = {
        "n": N,
        "rounds": len(rounds),
        "per_round": rounds,
        "rpc_n": rpc_n,
        "naive_n": NAIVE_N,
        "slot_time_s": SLOT_TIME,
        "litesvm_operator_p50_ms": in_process["p50_ms"],
        "litesvm_operator_p95_ms": in_process["p95_ms"],
        "rpc_operator_p50_ms": over_rpc["p50_ms"],
        "rpc_operator_p95_ms": over_rpc["p95_ms"],
        "target_ratio_vs_raw": 0.25,
        "target_ratio_vs_floor": 0.7,
        "floor_tx_per_s": floor,
        "floor_cpu_us_per_tx": floor_cpu,
        "litesvm_operator_cpu_us_per_tx": in_process["cpu_us_per_tx"],
        "operator_cpu_ratio_vs_floor": med["cpu_ratio_vs_floor"],
        "litesvm_operator_gc_passes": in_process["gc_passes"],
        "floor_ratio_vs_raw": floor / raw,
        "operator_ratio_vs_floor": ratio,
        "operator_ratio_vs_floor_per_round": [r["ratio_vs_floor"] for r in rounds],
        "service_tx_per_s": as_service["tx_per_s"],
        "service_cpu_us_per_tx": as_service["cpu_us_per_tx"],
        "service_ratio_vs_floor": service_ratio,
        "service_ratio_vs_floor_per_round": [r["service_ratio_vs_floor"] for r in rounds],
        "service_loop": eventloop.choose_loop("auto"),
        "bound_ratio_vs_floor": med["bound_ratio_vs_floor"],
        "bound_cpu_us_per_tx": med["bound_cpu_us_per_tx"],
        "bound_ratio_vs_raw": med["bound_tx_per_s"] / raw,
    }
    per_round = ", ".join(f"{r['ratio_vs_floor']:.2f}x" for r in rounds)
    service_rounds = ", ".join(f"{r['service_ratio_vs_floor']:.2f}x" for r in rounds)
    print(
        f"  Solana operator, {N:,} transfers on the in-process SVM: "
        f"{in_process['tx_per_s']:,.0f} tx/s, {in_process['tx_per_s'] / raw:.2f}x raw LiteSVM "
        f"(target >= 0.25x; the floor itself is {floor / raw:.2f}x), "
        f"{ratio:.2f}x the native floor of {floor:,.0f} tx/s "
        f"(build+simulate+sign+send; target >= 0.7x; per round {per_round}); "
        f"p50 {in_process['p50_ms']:,.0f} ms, p95 {in_process['p95_ms']:,.0f} ms; "
        f"CPU {in_process['cpu_us_per_tx']:,.0f} µs per transfer against the floor's "
        f"{floor_cpu:,.0f} µs ({med['cpu_ratio_vs_floor']:.2f}x)"
    )
    print(
        f"  the same through eventloop.run (startup heap frozen): {as_service['tx_per_s']:,.0f} "
        f"tx/s, {service_ratio:.2f}x the floor (per round {service_rounds}), "
        f"CPU {as_service['cpu_us_per_tx']:,.0f} µs per transfer"
    )
    print(
        f"  a bare operator with the same guarantees and nothing else (bench/solana_bound.py): "
        f"{med['bound_ratio_vs_floor']:.2f}x the floor ({med['bound_tx_per_s'] / raw:.2f}x raw "
        f"LiteSVM), CPU {med['bound_cpu_us_per_tx']:,.0f} µs "
        "per transfer: the rest of the gap is the operator's own model"
    )
    return [
        Result(
            "solana_operator_vs_raw_litesvm",
            "tx/s",
            in_process["tx_per_s"],
            raw,
            "raw LiteSVM send_transaction of pre-signed transfers (no wait, no journal)",
            True,
            details,
        ),
        Result(
            "solana_operator_vs_native_floor",
            "tx/s",
            in_process["tx_per_s"],
            floor,
            "the native work alone, one transfer after another: build, simulate, sign, send",
            True,
            details,
        ),
        Result(
            "solana_operator_vs_native_floor_eventloop_run",
            "tx/s",
            as_service["tx_per_s"],
            floor,
            "the native floor; the operator through eventloop.run (freeze_heap=True)",
            True,
            details,
        ),
        Result(
            "solana_rpc_operator_vs_solana_py",
            "tx/s",
            over_rpc["tx_per_s"],
            naive,
            "solana-py plain: get_latest_blockhash, send_transaction, confirm_transaction",
            True,
            details,
        ),
    ]
