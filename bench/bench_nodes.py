"""Concurrent transfers on each local node: Anvil, Hardhat Network, Ganache (automine).

A side figure per node: ``EvmOperator`` sends N transfers concurrently from one key and
waits for every one, next to the naive web3.py flow on the same node in the same run
(per transfer: nonce, estimate, sign, send, ``wait_for_transaction_receipt``).
Set CHAINOPS_BENCH_NODES_N to change N (default 200; the naive flow runs N/10).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

from bench.harness import Result
from chainops.devnet.node import DEFAULT_MNEMONIC, LocalNode
from chainops.operators.base import OperatorFactory
from chainops.operators.evm import EvmOperator
from chainops.testing.nodes import NODE_KINDS, start_node

N = int(os.environ.get("CHAINOPS_BENCH_NODES_N", "200"))
VALUE_WEI = 10**12
Account.enable_unaudited_hdwallet_features()


def _key(index: int) -> str:
    account = Account.from_mnemonic(DEFAULT_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
    return "0x" + bytes(account.key).hex()


def _naive(node: LocalNode[Any], n: int) -> float:
    account = Account.from_key(_key(1))
    to = Account.from_key(_key(9)).address
    w3 = Web3(Web3.HTTPProvider(node.url))
    start = time.perf_counter()
    for _ in range(n):
        tx: dict[str, Any] = {
            "to": to,
            "value": VALUE_WEI,
            "from": account.address,
            "nonce": w3.eth.get_transaction_count(account.address),
            "chainId": 31337,
        }
        tx["gas"] = w3.eth.estimate_gas(tx)  # type: ignore[arg-type]
        base = w3.eth.get_block("latest")["baseFeePerGas"]
        tx.update(maxFeePerGas=2 * base + 10**9, maxPriorityFeePerGas=10**9)
        del tx["from"]
        signed = account.sign_transaction(tx)
        w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
    return n / (time.perf_counter() - start)


async def _operator(node: LocalNode[Any], n: int) -> float:
    folder = tempfile.mkdtemp(prefix="chainops-bench-nodes-")
    evm = OperatorFactory.create(
        "devnet",
        cache=False,
        rpc_url=node.url,
        private_key=_key(2),
        max_in_flight=n,
        journal_path=Path(folder) / "journal.sqlite",
    )
    assert isinstance(evm, EvmOperator)
    to = Account.from_key(_key(9)).address
    try:
        async with evm:
            start = time.perf_counter()
            txs = await asyncio.gather(
                *(evm.send(to=to, value=Decimal(VALUE_WEI) / 10**18) for _ in range(n))
            )
            await asyncio.gather(*(tx.wait(timeout=300) for tx in txs))
            return n / (time.perf_counter() - start)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run() -> list[Result]:
    results: list[Result] = []
    for kind in NODE_KINDS:
        node = start_node(kind)
        try:
            naive = _naive(node, max(10, N // 10))
            ours = asyncio.run(_operator(node, N))
        finally:
            node.stop()
        results.append(
            Result(
                f"node_{kind}_concurrent_transfers",
                "tx/s",
                ours,
                naive,
                f"web3.py naive flow on {node.label} (nonce, estimate, sign, send, wait)",
                True,
                {"n": N, "naive_n": max(10, N // 10), "node": node.label},
            )
        )
    return results
