"""Soak: thousands of transfers from four accounts through failing RPC, drops and reorgs.

At the end every transaction is final, every intended transfer happened exactly
once (the recipients' balances prove it) and no nonce gap remains.
CHAINOPS_SOAK_N sets the total (default 2000).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from decimal import Decimal
from typing import Any

import pytest
from eth_account import Account

from chainops.core.errors import UnknownOutcome
from chainops.core.transaction import Transaction, TxState
from chainops.devnet.rpc_proxy import FaultRule, RpcProxy
from chainops.devnet.world import World
from chainops.operators.base import OperatorFactory
from chainops.operators.evm import EvmOperator

pytestmark = pytest.mark.integration
TOTAL = int(os.environ.get("CHAINOPS_SOAK_N", "2000"))
VALUE = Decimal("0.0001")
SENDERS = (3, 4, 5, 6)


async def test_soak_faults_drops_and_reorgs(devnet_fresh: World) -> None:
    world = devnet_fresh
    rng = random.Random(11)
    per_sender = TOTAL // len(SENDERS)
    recipients = {i: Account.create().address for i in SENDERS}
    fork_block = world.anvil.block_number()  # reorgs need local blocks above the fork point
    world.anvil.rpc("evm_setIntervalMining", [1])  # blocks of many txs: drops can hit
    world.anvil.rpc("evm_setAutomine", [False])
    async with RpcProxy(world.rpc_url, seed=5) as proxy:
        proxy.add(FaultRule("*", action="fail", probability=0.05))
        operators: list[EvmOperator] = []
        for index in SENDERS:
            op = OperatorFactory.create(
                "devnet",
                cache=False,
                rpc_url=proxy.url,
                private_key=world.book.accounts[index].private_key,
                max_in_flight=64,
                rebroadcast_after=0.5,
                bump_after_blocks=None,
                close_timeout=5.0,
            )
            assert isinstance(op, EvmOperator)
            operators.append(op)
        started = time.monotonic()
        sent: dict[int, list[Transaction]] = {i: [] for i in SENDERS}

        async def pump(index: int, evm: EvmOperator) -> None:
            for _ in range(per_sender):
                try:
                    tx = await evm.send(to=recipients[index], value=VALUE, gas_limit=21_000)
                except UnknownOutcome as unknown:
                    tx = unknown.transaction  # type: ignore[attr-defined]
                sent[index].append(tx)

        async def chaos() -> dict[str, int]:
            done = {"injected_drops": 0, "injected_reorgs": 0}
            while done["injected_reorgs"] < 2 or done["injected_drops"] < 10:
                await asyncio.sleep(0.3)
                pending = [
                    t for op in operators for t in op.monitor.live if t.state is TxState.BROADCAST
                ]
                for tx in rng.sample(pending, min(3, len(pending))):
                    world.anvil.rpc("anvil_dropTransaction", [str(tx.hash)])
                    done["injected_drops"] += 1
                enough = done["injected_drops"] >= 6 and done["injected_reorgs"] < 2
                if enough and world.anvil.block_number() > fork_block + 2:
                    world.anvil.rpc("anvil_reorg", [1, []])
                    done["injected_reorgs"] += 1
            return done

        for op in operators:
            await op.start()
        try:
            chaos_task = asyncio.ensure_future(chaos())
            await asyncio.gather(*(pump(i, op) for i, op in zip(SENDERS, operators, strict=True)))
            injected = await asyncio.wait_for(chaos_task, 60)
            everything = [tx for txs in sent.values() for tx in txs]
            await asyncio.gather(*(tx.wait(timeout=120) for tx in everything))
            elapsed = time.monotonic() - started
        finally:
            for op in operators:
                await op.close()
        metrics: dict[str, Any] = {
            "transactions": len(everything),
            "seconds": round(elapsed, 1),
            "faults": sum(proxy.faults.values()),
            **injected,
            **{
                k: sum(getattr(op.metrics, k) for op in operators)
                for k in ("bumps", "drops", "rebroadcasts", "reorgs", "replacements")
            },
        }
        print("soak:", metrics)
    for index, evm in zip(SENDERS, operators, strict=True):
        txs = sent[index]
        assert all(tx.state in (TxState.CONFIRMED, TxState.FINALIZED) for tx in txs)
        raw_balance = int(world.anvil.rpc("eth_getBalance", [recipients[index], "latest"]), 16)
        assert raw_balance == per_sender * int(VALUE * 10**18)  # each transfer exactly once
        count = int(world.anvil.rpc("eth_getTransactionCount", [evm.owner, "latest"]), 16)
        assert sorted(tx.nonce for tx in txs) == list(range(count))  # no gap, no extra
    assert metrics["faults"] > 0 and metrics["injected_reorgs"] == 2
