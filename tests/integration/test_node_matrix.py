"""The EVM operator's core set on every local node users run: Anvil, Hardhat, Ganache.

Each test runs once per node (the ``node`` fixture, one node start per module) and
uses its own development account, so the tests of a module share the node safely.

Node quirks these tests meet, and what the operator does about each:
- Hardhat under automine refuses a nonce ahead of the next one ("Nonce too high ...
  transactions can't be queued when automining"): first broadcasts leave in nonce order.
- Hardhat and Ganache answer the ``finalized`` and ``safe`` tags with the latest block:
  depth is counted, and finality is not tracked on them (logged once).
- Ganache answers a re-send of bytes it holds with "transaction underpriced": the
  operator asks the node for the hash before believing any refusal of a re-send.
- Ganache with its miner stopped accepts several transactions at one nonce and mines
  them all (Ganache's own bug): the speed-up and cancel tests assert it as it is.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from node_matrix_helpers import (
    ALWAYS_REVERTS_INIT,
    TRANSFER,
    WEI,
    balance,
    chain_nonce,
    dev_address,
    dev_key,
    operator,
    receipt,
    send_foreign,
    wait_receipt,
)

from chainops.core.attempt import AttemptKind
from chainops.core.errors import Rejected, Reverted
from chainops.core.journal import SqliteJournal
from chainops.core.transaction import Transaction, TxState
from chainops.devnet.node import LocalNode

pytestmark = pytest.mark.integration
CHILD = Path(__file__).with_name("crash_child.py")
SINK = dev_address(9)  # receives every transfer; never sends


def kind(node: LocalNode[Any]) -> str:
    return node.label.lower()


async def test_concurrent_sends(node: LocalNode[Any], tmp_path: Path) -> None:
    sender = dev_address(1)
    start, before = chain_nonce(node, sender), balance(node, SINK)
    async with operator(node, 1, tmp_path / "j.sqlite", max_in_flight=64) as evm:
        txs = await asyncio.gather(*(evm.send(to=SINK, value=TRANSFER) for _ in range(60)))
        await asyncio.gather(*(tx.wait() for tx in txs))
        assert sorted(tx.nonce for tx in txs) == list(range(start, start + 60))
        assert all(tx.state in (TxState.CONFIRMED, TxState.FINALIZED) for tx in txs)
        assert evm.metrics.confirmed == 60
    assert chain_nonce(node, sender) == start + 60
    assert balance(node, SINK) - before == 60 * int(TRANSFER * WEI)


async def test_revert_is_caught_before_a_nonce_is_taken(
    node: LocalNode[Any], tmp_path: Path
) -> None:
    sender = dev_address(2)
    async with operator(node, 2, tmp_path / "j.sqlite") as evm:
        deploy = await evm.send(to=None, data=bytes.fromhex(ALWAYS_REVERTS_INIT[2:]))
        await deploy.wait()
        assert deploy.receipt is not None and deploy.receipt.contract_address
        nonce = chain_nonce(node, sender)
        with pytest.raises(Reverted):
            await evm.send(to=deploy.receipt.contract_address, data=b"\x01")
        assert chain_nonce(node, sender, "pending") == nonce
        assert evm.nonces.in_flight == frozenset()
        after = await evm.send(to=SINK, value=TRANSFER)
        await after.wait()
        assert after.nonce == nonce  # the refused call left no gap


async def test_speed_up_with_mining_stopped(node: LocalNode[Any], tmp_path: Path) -> None:
    sender = dev_address(3)
    journal = tmp_path / "j.sqlite"
    async with operator(node, 3, journal, bump_after_blocks=None) as evm:
        node.set_mining("manual")
        try:
            tx = await evm.send(to=SINK, value=TRANSFER)
            # The broadcast mark is journalled after a moment (it waits for a receipt's
            # change to ride along), then with the next group commit.
            await asyncio.sleep(evm.pipeline.marks.delay)
            await asyncio.sleep(0)
            await evm.commits.drain()
            stored = SqliteJournal(journal).load(str(tx.client_id), Transaction)
            assert (
                stored is not None and stored.state is TxState.BROADCAST
            )  # what `tx status` reads
            bumped = await evm.speed_up(tx)
            assert bumped.index == 1 and bumped.fee.max_fee_per_gas is not None
            assert tx.attempts[0].fee.max_fee_per_gas is not None
            assert bumped.fee.max_fee_per_gas * 10 >= tx.attempts[0].fee.max_fee_per_gas * 11
            node.mine(1)
        finally:
            node.set_mining("auto")
        await tx.wait()
        mined = [a for a in tx.attempts if receipt(node, str(a.hash)) is not None]
        if kind(node) == "ganache":
            # Ganache's own bug: with the miner stopped both attempts at the nonce were
            # pooled and both are mined. The operator records one winner, with its receipt.
            assert len(mined) == 2
        else:
            assert [a.index for a in mined] == [1]
        assert tx.winning_attempt in [a.index for a in mined]
        assert chain_nonce(node, sender) == (tx.nonce or 0) + len(mined)


async def test_cancel_with_mining_stopped(node: LocalNode[Any], tmp_path: Path) -> None:
    before = balance(node, SINK)
    async with operator(node, 4, tmp_path / "j.sqlite", bump_after_blocks=None) as evm:
        node.set_mining("manual")
        try:
            tx = await evm.send(to=SINK, value=TRANSFER)
            cancel = await evm.cancel(tx)
            assert cancel.kind is AttemptKind.CANCEL
            node.mine(1)
        finally:
            node.set_mining("auto")
        mined = [a for a in tx.attempts if receipt(node, str(a.hash)) is not None]
        if kind(node) == "ganache":
            # Ganache's own bug (see the module docstring): the transfer and its cancel
            # are both mined. Whichever receipt the operator saw first is the winner.
            assert len(mined) == 2
            assert balance(node, SINK) - before == int(TRANSFER * WEI)
            try:
                await tx.wait()
            except Rejected:
                assert tx.attempts[tx.winning_attempt or 0].kind is AttemptKind.CANCEL
        else:
            with pytest.raises(Rejected, match="canceled"):
                await tx.wait()
            assert [a.index for a in mined] == [1]
            assert balance(node, SINK) == before


async def test_key_used_elsewhere(node: LocalNode[Any], tmp_path: Path) -> None:
    sender = dev_address(5)
    async with operator(node, 5, tmp_path / "j.sqlite") as evm:
        first = await evm.send(to=SINK, value=TRANSFER)
        await first.wait()
        # Another wallet with the same key takes the next nonce (mined at once).
        wait_receipt(node, send_foreign(node, 5, chain_nonce(node, sender), to=SINK))
        second = await evm.send(to=SINK, value=TRANSFER)  # refused, resynced, sent again
        await second.wait()
        assert second.nonce == chain_nonce(node, sender) - 1
        # Now a foreign transaction pending at the next nonce, priced above ours.
        node.set_mining("manual")
        try:
            foreign = send_foreign(node, 5, chain_nonce(node, sender), to=SINK, fee_gwei=500)
            retried = [await evm.send(to=SINK, value=TRANSFER) for _ in range(3)]
            node.mine(1)
        finally:
            node.set_mining("auto")
        assert receipt(node, foreign) is not None
        for tx in retried:
            await tx.wait()
        assert len({tx.nonce for tx in retried}) == 3
        assert chain_nonce(node, sender) == max(tx.nonce or 0 for tx in retried) + 1


def run_crash_child(node: LocalNode[Any], journal: Path, mode: str) -> None:
    child = subprocess.run(
        [sys.executable, str(CHILD), node.url, dev_key(6), str(journal), SINK, mode],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )
    assert child.returncode == -signal.SIGKILL, child.stderr


async def test_crash_and_restore(node: LocalNode[Any], tmp_path: Path) -> None:
    """Killed right after the broadcast, mining stopped: the node holds the bytes when the
    next operator re-sends them (Ganache: "transaction underpriced"), then mines them."""
    sender, journal = dev_address(6), tmp_path / "j.sqlite"
    start, before = chain_nonce(node, sender), balance(node, SINK)
    node.set_mining("manual")
    try:
        run_crash_child(node, journal, "after-broadcast")
        async with operator(node, 6, journal) as evm:
            [restored] = evm.restored
            assert restored.state is TxState.BROADCAST
            node.mine(1)
            await restored.wait()
    finally:
        node.set_mining("auto")
    # Restarted after the receipt exists: the journal catches up, nothing is sent twice.
    run_crash_child(node, journal, "after-broadcast")
    async with operator(node, 6, journal) as evm:
        for tx in evm.restored:
            await tx.wait()
            assert tx.state in (TxState.CONFIRMED, TxState.FINALIZED)
    assert chain_nonce(node, sender) == start + 2
    assert balance(node, SINK) - before == 2 * 25 * WEI // 100


async def test_confirmations_mean_depth(node: LocalNode[Any], tmp_path: Path) -> None:
    async with operator(node, 7, tmp_path / "j.sqlite") as evm:
        tx = await evm.send(to=SINK, value=TRANSFER)
        waiting = asyncio.ensure_future(tx.wait(confirmations=3))
        await tx.wait()
        node.mine(1)
        await evm.monitor.turn()
        await asyncio.sleep(0)
        assert tx.confirmations == 2 and not waiting.done()
        node.mine(1)
        await asyncio.wait_for(waiting, 30)
        assert tx.confirmations == 3
        if kind(node) == "anvil":
            assert not evm.monitor.finality_untracked
        else:
            # Hardhat and Ganache answer `finalized` with the latest block: no finality.
            assert evm.monitor.finality_untracked
            assert tx.state is TxState.CONFIRMED
        assert evm.metrics.confirmed == 1


async def test_fees_follow_the_base_fee(node: LocalNode[Any], tmp_path: Path) -> None:
    async with operator(node, 8, tmp_path / "j.sqlite") as evm:
        tx = await evm.send(to=SINK, value=TRANSFER)
        await tx.wait()
        assert not evm.fees.legacy
        fees = tx.attempts[0].fee
        on_chain = node.rpc("eth_getTransactionByHash", [str(tx.hash)])
        assert int(on_chain["type"], 16) == 2
        block = node.rpc("eth_getBlockByNumber", [on_chain["blockNumber"], False])
        base_fee = int(block["baseFeePerGas"], 16)
        assert fees.max_fee_per_gas is not None and fees.max_fee_per_gas >= base_fee
        assert tx.receipt is not None and tx.receipt.effective_gas_price is not None
        assert base_fee <= tx.receipt.effective_gas_price <= fees.max_fee_per_gas


async def test_declared_legacy_network_never_signs_type_2(
    node: LocalNode[Any], tmp_path: Path
) -> None:
    # `[networks.<name>.fee] legacy = true` reaches the operator as legacy_fees
    async with operator(node, 8, tmp_path / "j.sqlite", legacy_fees=True) as evm:
        tx = await evm.send(to=SINK, value=TRANSFER)
        await tx.wait()
        on_chain = node.rpc("eth_getTransactionByHash", [str(tx.hash)])
        assert int(on_chain["type"], 16) == 0 and evm.fees.legacy


async def test_a_reorg_past_the_followed_depth_loses_nothing(
    node: LocalNode[Any], tmp_path: Path
) -> None:
    """A transfer confirmed (depth 1, let go) and then rolled back with its block: the next
    send lands above a gap (Anvil and Ganache queue it, Hardhat refuses it). The gap is
    taken by the rolled-back transfer's own bytes, not a no-op: both transfers arrive."""
    sender = dev_address(0)
    async with operator(node, 0, tmp_path / "j.sqlite", rebroadcast_after=0.2) as evm:
        start, before = chain_nonce(node, sender), balance(node, SINK)
        snapshot = node.snapshot()
        lost = await evm.send_and_wait(to=SINK, value=TRANSFER)
        node.revert(snapshot)
        assert chain_nonce(node, sender) == start
        later = await evm.send(to=SINK, value=TRANSFER)
        await later.wait(timeout=15)
        record = await evm.transaction(str(lost.client_id))
        assert record is not None
        await record.wait(timeout=15)
        assert record.state is TxState.CONFIRMED and record.winner is not None
        assert receipt(node, str(record.winner.hash)) is not None
        assert evm.metrics.gap_fills == 0
    assert chain_nonce(node, sender) == start + 2
    assert balance(node, SINK) - before == 2 * int(TRANSFER * WEI)
