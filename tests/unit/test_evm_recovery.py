"""Send-pipeline and recovery decisions without a node: broadcast outcomes, gap fill, restore."""

from __future__ import annotations

import pytest
from evm_doubles import Rig

from chainops.core.errors import NonceError, RpcTransientError, UnknownOutcome
from chainops.core.transaction import Transaction, TxState
from chainops.operators.evm.node_errors import node_error


async def journalled(rig: Rig) -> list[Transaction]:
    """What a restarted process would find unfinished in the journal."""
    await rig.pipeline.commits.drain()
    return [
        op for op in rig.journal.non_terminal(kind="transaction") if isinstance(op, Transaction)
    ]


async def test_transport_failure_keeps_the_transaction_tracked() -> None:
    rig = Rig()
    rig.node.refusals.append(RpcTransientError("connection reset"))
    with pytest.raises(UnknownOutcome) as info:
        await rig.send()
    tx = info.value.transaction  # type: ignore[attr-defined]
    assert tx.state is TxState.SIGNED and tx in rig.monitor.live
    assert tx.nonce in rig.nonces.in_flight  # maybe sent: never handed out again


async def test_nonce_too_low_with_our_receipt_is_not_replaced() -> None:
    rig = Rig()
    tx = await rig.send()
    rig.node.mine(str(tx.attempts[0].hash))
    rig.node.refusals.append(node_error(-32000, "nonce too low"))
    await rig.pipeline.broadcast(tx, tx.attempts[0], restoring=True)
    assert tx.state is TxState.CONFIRMED  # our own attempt consumed it


async def test_nonce_too_low_without_our_receipt_is_replaced_elsewhere() -> None:
    rig = Rig()
    tx = await rig.send()
    rig.node.pool.clear()
    rig.node.refusals.append(node_error(-32000, "nonce too low"))
    with pytest.raises(NonceError):
        await rig.pipeline.broadcast(tx, tx.attempts[0])
    assert tx.state is TxState.REPLACED


async def test_given_up_with_later_nonces_in_flight_is_filled_with_a_no_op() -> None:
    rig = Rig()
    first, second = await rig.send(), await rig.send()
    assert (first.nonce, second.nonce) == (0, 1)
    rig.node.pool.discard(str(first.attempts[0].hash))  # the node holds none of its attempts
    await rig.pipeline.give_up(first, node_error(-32000, "intrinsic gas too low"))
    await rig.pipeline.drain()
    assert first.state is TxState.REJECTED
    fills = [tx for tx in rig.monitor.live if tx.nonce == 0 and tx is not first]
    assert len(fills) == 1 and fills[0].value == 0 and fills[0].to == rig.signer.address
    assert rig.metrics.gap_fills == 1


async def test_not_given_up_while_the_node_holds_an_attempt() -> None:
    rig = Rig()
    tx = await rig.send()  # in the node's pool
    changed = await rig.pipeline.give_up(tx, node_error(-32000, "intrinsic gas too low"))
    assert changed is False and tx.state is TxState.BROADCAST and tx in rig.monitor.live


async def test_given_up_as_the_last_nonce_is_released() -> None:
    rig = Rig()
    tx = await rig.send()
    rig.node.pool.clear()
    await rig.pipeline.give_up(tx, node_error(-32000, "intrinsic gas too low"))
    assert tx.nonce not in rig.nonces.in_flight and rig.metrics.gap_fills == 0
    assert await rig.nonces.reserve() == tx.nonce  # handed out again


async def test_no_final_failure_while_the_node_holds_an_attempt() -> None:
    rig = Rig()
    tx = await rig.send()  # pooled by the node
    assert not await rig.pipeline.give_up(tx, node_error(-32000, "intrinsic gas too low"))
    await rig.pipeline.replaced_elsewhere(tx)
    assert tx.state is TxState.BROADCAST  # neither REJECTED nor REPLACED: the chain has it
    rig.node.mine(str(tx.attempts[0].hash))
    await rig.pipeline.replaced_elsewhere(tx)
    assert tx.state is TxState.BROADCAST  # a receipt of ours: the monitor records it


async def test_a_refused_resend_of_bytes_the_node_holds_is_known() -> None:
    rig = Rig()
    tx = await rig.send()
    # Ganache answers a re-send of bytes it holds with "transaction underpriced"
    rig.node.refusals.append(node_error(-32003, "transaction underpriced"))
    await rig.pipeline.broadcast(tx, tx.attempts[0])
    assert tx.state is TxState.BROADCAST and tx.error is None


async def test_restore_resends_the_same_bytes_and_only_records_what_was_mined() -> None:
    before = Rig()
    mined, unsent = await before.send(), await before.send()
    unsent_raw = unsent.attempts[0].raw
    stored = await journalled(before)
    # A restarted process: fresh parts on the same journal and the same chain.
    after = Rig(node=before.node, journal=before.journal)
    after.node.mine(str(mined.attempts[0].hash))
    after.node.pool.clear()
    after.node.sent.clear()
    for tx in stored:
        await after.recovery.adopt(tx)
        after.monitor.track(tx)
    await after.recovery.fill_gaps(stored)
    await after.monitor.turn()
    await after.recovery.resume(stored)
    by_id = {str(tx.client_id): tx for tx in stored}
    assert by_id[str(mined.client_id)].state is TxState.CONFIRMED
    assert after.node.sent == [unsent_raw]  # nothing rebuilt, nothing re-signed
    assert after.metrics.gap_fills == 0


async def test_gap_fill_occupies_a_nonce_reserved_but_never_journalled() -> None:
    rig = Rig()
    tx = await rig.send()
    lost = await rig.nonces.reserve()  # a crash between reserve and the journal write
    later = await rig.send()
    assert (tx.nonce, lost, later.nonce) == (0, 1, 2)
    rig.node.pending_count = 1  # nonce 2 waits behind the gap: the chain counts up to it
    stored = await journalled(rig)
    fills = await rig.recovery.fill_gaps(stored)
    assert [f.nonce for f in fills] == [1]
    assert fills[0].value == 0 and rig.node.sent[-1] == fills[0].attempts[0].raw
