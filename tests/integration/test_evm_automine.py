"""A local automining node that leaves an executable transaction unmined gets one block."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from chainops.core.transaction import TxState
from chainops.devnet.world import World
from chainops.operators.base import OperatorFactory
from chainops.operators.evm import EvmOperator
from chainops.operators.evm.automine import automining, mine_if_automining

pytestmark = pytest.mark.integration


def operator(world: World, tmp_path: Path, **options: Any) -> EvmOperator:
    op = OperatorFactory.create(
        "devnet",
        cache=False,
        rpc_url=world.rpc_url,
        private_key=world.book.accounts[7].private_key,
        journal_path=tmp_path / "journal.sqlite",
        track_finality=False,
        **options,
    )
    assert isinstance(op, EvmOperator)
    return op


async def test_a_block_only_when_the_node_automines(devnet: World, tmp_path: Path) -> None:
    async with operator(devnet, tmp_path) as evm:
        head = int(devnet.anvil.rpc("eth_blockNumber", []), 16)
        assert await automining(evm.batcher)
        assert await mine_if_automining(evm.batcher, "a test")
        assert int(devnet.anvil.rpc("eth_blockNumber", []), 16) == head + 1
        devnet.anvil.set_mining("manual")
        try:
            assert not await automining(evm.batcher)
            assert not await mine_if_automining(evm.batcher, "a test")
            assert int(devnet.anvil.rpc("eth_blockNumber", []), 16) == head + 1
        finally:
            devnet.anvil.set_mining("auto")


async def test_the_watchdog_leaves_a_stopped_miner_alone(devnet: World, tmp_path: Path) -> None:
    """Pooled and executable for many looks with the miner stopped: still pending, no block."""
    devnet.anvil.set_mining("manual")
    try:
        async with operator(devnet, tmp_path, rebroadcast_after=0.1, bump_after_blocks=None) as evm:
            head = int(devnet.anvil.rpc("eth_blockNumber", []), 16)
            tx = await evm.send(to=devnet.book.accounts[1].address, value=Decimal("0.001"))
            await asyncio.sleep(1.0)  # ten looks of the watchdog
            assert tx.state is TxState.BROADCAST
            assert int(devnet.anvil.rpc("eth_blockNumber", []), 16) == head
            devnet.anvil.set_mining("auto")
            devnet.anvil.mine(1)
            await tx.wait(timeout=10)
            assert tx.state is TxState.CONFIRMED
    finally:
        devnet.anvil.set_mining("auto")
