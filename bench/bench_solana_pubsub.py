"""Solana confirmation through the PubSub websocket, against polling, on the loopback cluster.

1. ``solana_confirm_subscription_vs_polling``: send -> *confirmed* latency of
   ``SolanaOperator`` over RPC, one transfer at a time on mainnet-like 400 ms slots,
   polling at the public-cluster default (400 ms) in both runs: once woken by its
   signature subscriptions, once by polling alone (``subscribe=False``).
2. ``solana_rpc_operator_vs_solana_py_ws`` / ``..._short_poll``: the operator over RPC,
   N/4 concurrent transfers to *confirmed* on fast (20 ms) slots, against solana-py
   one transfer after another confirming the way a careful script does: by
   ``signatureSubscribe`` on the websocket, or by ``confirm_transaction`` with a
   50 ms poll instead of its 0.5 s default (which measures solana-py's sleep, not a cluster).

CHAINOPS_BENCH_SOL_N sets N (default 2000); CHAINOPS_BENCH_SOL_LATENCY_N the
sequential transfers of the latency rows (default 8).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solana.rpc.websocket_api import SolanaWsClient
from solders.keypair import Keypair
from solders.message import Message
from solders.transaction import VersionedTransaction

from bench.harness import Result
from chainops.devnet.solana import LocalChain, SolanaRpcServer
from chainops.operators.solana import SolanaConfiguration, SolanaOperator, SolanaSigner, programs
from chainops.operators.solana.rpc_transport import RpcTransport

N = int(os.environ.get("CHAINOPS_BENCH_SOL_N", "2000"))
LATENCY_N = int(os.environ.get("CHAINOPS_BENCH_SOL_LATENCY_N", "8"))
BASELINE_N = 20
MAINNET_SLOT = 0.4
FAST_SLOT = 0.02
PUBLIC_POLL = 0.4  # the operator's poll interval on public clusters
SHORT_POLL = 0.05
AMOUNT = Decimal("0.001")


def _config(folder: str, **settings: Any) -> SolanaConfiguration:
    return SolanaConfiguration(
        platform="solana-local",
        journal_path=Path(folder) / "journal.sqlite",
        track_finality=False,
        **settings,
    )


async def _operator_latencies(server: SolanaRpcServer, subscribe: bool) -> list[float]:
    signer = SolanaSigner.generate()
    server.chain.airdrop(str(signer.pubkey), 10**12)
    server.chain.advance(1)
    config = _config(
        tempfile.mkdtemp(prefix="chainops-bench-sol-ws-"),
        subscribe=subscribe,
        poll_interval=PUBLIC_POLL,
    )
    to = str(SolanaSigner.generate().pubkey)
    latencies: list[float] = []
    async with SolanaOperator(config, signer, RpcTransport(server.url)) as op:
        assert (op.subscriber is not None) is subscribe
        for _ in range(LATENCY_N):
            began = time.perf_counter()
            tx = await op.transfer(to, AMOUNT)
            await tx.wait(timeout=60)
            latencies.append(time.perf_counter() - began)
    return latencies


async def _operator_throughput(server: SolanaRpcServer, n: int) -> float:
    signer = SolanaSigner.generate()
    server.chain.airdrop(str(signer.pubkey), 10**13)
    config = _config(tempfile.mkdtemp(prefix="chainops-bench-sol-ws-"))
    to = str(SolanaSigner.generate().pubkey)
    async with SolanaOperator(config, signer, RpcTransport(server.url)) as op:

        async def one() -> None:
            tx = await op.transfer(to, AMOUNT)
            await tx.wait(timeout=300)

        start = time.perf_counter()
        await asyncio.gather(*[one() for _ in range(n)])
        elapsed = time.perf_counter() - start
    assert server.chain.balance(to) == n * 1_000_000
    return n / elapsed


async def _solana_py(server: SolanaRpcServer, chain: LocalChain, by: str) -> float:
    """Sequential solana-py transfers/s, confirmed by subscription ("ws") or a short poll."""
    payer = Keypair()
    chain.airdrop(str(payer.pubkey()), 10**12)
    chain.advance(1)
    to = Keypair().pubkey()
    async with AsyncClient(server.url, http2=False) as client, SolanaWsClient(server.ws_url) as ws:
        start = time.perf_counter()
        for i in range(BASELINE_N):
            blockhash = (await client.get_latest_blockhash(Confirmed)).value.blockhash
            ix = programs.transfer(payer.pubkey(), to, 1_000_000 + i)
            message = Message.new_with_blockhash([ix], payer.pubkey(), blockhash)
            tx = VersionedTransaction(message, [payer])
            if by == "ws":
                await ws.signature_subscribe(signature=tx.signatures[0], commitment=Confirmed)
                await client.send_raw_transaction(bytes(tx))
                await asyncio.wait_for(ws.recv(), 30)
            else:
                signature = (await client.send_raw_transaction(bytes(tx))).value
                await client.confirm_transaction(signature, Confirmed, sleep_seconds=SHORT_POLL)
        elapsed = time.perf_counter() - start
    assert chain.balance(str(to)) == sum(1_000_000 + i for i in range(BASELINE_N))
    return BASELINE_N / elapsed


def run() -> list[Result]:
    with SolanaRpcServer(slot_time=MAINNET_SLOT) as server:
        by_subscription = asyncio.run(_operator_latencies(server, subscribe=True))
        by_polling = asyncio.run(_operator_latencies(server, subscribe=False))
    rpc_n = max(1, N // 4)
    with SolanaRpcServer(slot_time=FAST_SLOT) as server:
        operator = asyncio.run(_operator_throughput(server, rpc_n))
        ws = asyncio.run(_solana_py(server, server.chain, "ws"))
        short_poll = asyncio.run(_solana_py(server, server.chain, "poll"))
    latency = {
        "transfers": LATENCY_N,
        "slot_time_s": MAINNET_SLOT,
        "poll_interval_s": PUBLIC_POLL,
        "subscription_p50_ms": 1000 * statistics.median(by_subscription),
        "subscription_max_ms": 1000 * max(by_subscription),
        "polling_p50_ms": 1000 * statistics.median(by_polling),
        "polling_max_ms": 1000 * max(by_polling),
    }
    throughput = {
        "rpc_n": rpc_n,
        "baseline_n": BASELINE_N,
        "slot_time_s": FAST_SLOT,
        "solana_py_ws_tx_per_s": ws,
        "solana_py_short_poll_tx_per_s": short_poll,
        "short_poll_s": SHORT_POLL,
    }
    return [
        Result(
            "solana_confirm_subscription_vs_polling",
            "ms",
            latency["subscription_p50_ms"],
            latency["polling_p50_ms"],
            "the same operator confirming by polling alone (400 ms, public default)",
            False,
            latency,
        ),
        Result(
            "solana_rpc_operator_vs_solana_py_ws",
            "tx/s",
            operator,
            ws,
            "solana-py sequential, confirmed by signatureSubscribe on the websocket",
            True,
            throughput,
        ),
        Result(
            "solana_rpc_operator_vs_solana_py_short_poll",
            "tx/s",
            operator,
            short_poll,
            "solana-py sequential, confirm_transaction polling every 50 ms",
            True,
            throughput,
        ),
    ]
