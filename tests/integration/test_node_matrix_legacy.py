"""Legacy (pre-London) chains on every local node: detected, priced by gasPrice, bumped.

Each node runs hardfork "berlin" (one start per node for the module). Hardhat refuses
``eth_feeHistory`` there ("eth_feeHistory is disabled ..."), Ganache reports a null base
fee and refuses type-2 transactions ("EIP 1559 is not activated."): either way the fee
oracle switches to ``eth_gasPrice`` before anything is signed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from node_matrix_helpers import TRANSFER, dev_address, operator, receipt

from chainops.core.transaction import TxState
from chainops.devnet.node import LocalNode
from chainops.testing.nodes import NODE_KINDS, start_node

pytestmark = pytest.mark.integration
SINK = dev_address(9)


@pytest.fixture(scope="module", params=NODE_KINDS)
def berlin(request: pytest.FixtureRequest) -> Iterator[LocalNode[Any]]:
    node = start_node(str(request.param), hardfork="berlin")
    try:
        yield node
    finally:
        node.stop()


async def test_legacy_chain_is_detected_and_priced_by_gas_price(
    berlin: LocalNode[Any], tmp_path: Path
) -> None:
    async with operator(berlin, 1, tmp_path / "j.sqlite") as evm:
        tx = await evm.send(to=SINK, value=TRANSFER)
        await tx.wait()
        assert evm.fees.legacy
        assert tx.state in (TxState.CONFIRMED, TxState.FINALIZED)
        fees = tx.attempts[0].fee
        assert fees.gas_price is not None and fees.max_fee_per_gas is None
        on_chain = berlin.rpc("eth_getTransactionByHash", [str(tx.hash)])
        assert int(on_chain["type"], 16) == 0
        assert int(on_chain["gasPrice"], 16) == fees.gas_price


async def test_legacy_speed_up_with_mining_stopped(berlin: LocalNode[Any], tmp_path: Path) -> None:
    async with operator(berlin, 2, tmp_path / "j.sqlite", bump_after_blocks=None) as evm:
        berlin.set_mining("manual")
        try:
            tx = await evm.send(to=SINK, value=TRANSFER)
            bumped = await evm.speed_up(tx)
            old = tx.attempts[0].fee.gas_price
            assert old is not None and bumped.fee.gas_price is not None
            assert bumped.fee.gas_price * 10 >= old * 11
            berlin.mine(1)
        finally:
            berlin.set_mining("auto")
        await tx.wait()
        mined = [a.index for a in tx.attempts if receipt(berlin, str(a.hash)) is not None]
        if berlin.label == "Ganache":
            # Ganache's own bug: with its miner stopped it mines both attempts at the nonce.
            assert mined == [0, 1]
        else:
            assert mined == [1]
        assert tx.winning_attempt in mined
