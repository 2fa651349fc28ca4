"""A transaction the node parks behind a nonce it already consumed is sped up, not waited on.

Anvil can put a transaction that arrives while the block holding its predecessor is
being mined in its queue of future transactions, and never promote it: the chain's
nonce count is at the transaction's nonce, yet nothing mines it. ``anvil_setNonce``
builds the same state on purpose: the operator's transaction arrives one nonce ahead
of the chain (queued), then the chain's count is moved up to it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from chainops.core.attempt import AttemptKind
from chainops.core.transaction import TxState
from chainops.devnet.world import World
from chainops.operators.base import OperatorFactory
from chainops.operators.evm import EvmOperator

pytestmark = pytest.mark.integration


def count(world: World, address: str, tag: str) -> int:
    return int(world.anvil.rpc("eth_getTransactionCount", [address, tag]), 16)


async def test_parked_transaction_is_sped_up_and_mines(devnet_fresh: World) -> None:
    world = devnet_fresh
    owner = world.book.accounts[4].address
    start = count(world, owner, "pending")
    world.anvil.rpc("anvil_setNonce", [owner, hex(start + 1)])
    settings: dict[str, Any] = {
        "track_finality": False,
        "rebroadcast_after": 0.2,
        "bump_after_blocks": None,
        "close_timeout": 1.0,
    }
    evm = OperatorFactory.create(
        "devnet",
        cache=False,
        rpc_url=world.rpc_url,
        private_key=world.book.accounts[4].private_key,
        **settings,
    )
    assert isinstance(evm, EvmOperator)
    async with evm:  # its allocator starts at start + 1
        world.anvil.rpc("anvil_setNonce", [owner, hex(start)])
        tx = await evm.send(to=world.book.accounts[1].address, value=Decimal("0.01"))
        assert tx.nonce == start + 1
        world.anvil.rpc("anvil_setNonce", [owner, hex(start + 1)])
        queued = world.anvil.rpc("txpool_inspect", [])["queued"]
        assert str(start + 1) in {k.lower(): v for k, v in queued.items()}[owner.lower()]
        assert count(world, owner, "pending") == start + 1  # the node will not mine it
        await tx.wait(timeout=20)
    assert tx.state is TxState.CONFIRMED
    assert tx.winner is not None and tx.winner.kind is AttemptKind.SPEED_UP
    assert evm.metrics.bumps >= 1
