"""Monitor decisions without a node: inclusion, depth, reorgs, reverts, and the loop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from evm_doubles import ETH, Rig

from chainops.core.transaction import Transaction, TxState
from chainops.operators.evm import monitor as monitor_module
from chainops.operators.evm.monitor import BlockMonitor


async def test_included_then_confirmed_at_depth() -> None:
    rig = Rig(confirmations=3)
    tx = await rig.send()
    rig.node.mine(str(tx.attempts[0].hash))
    await rig.monitor.turn()
    assert (tx.state, tx.confirmations) == (TxState.INCLUDED, 1)
    rig.node.head += 1
    await rig.monitor.turn()
    assert (tx.state, tx.confirmations) == (TxState.INCLUDED, 2)
    rig.node.head += 1
    await rig.monitor.turn()
    assert (tx.state, tx.confirmations) == (TxState.CONFIRMED, 3)
    assert tx.nonce not in rig.nonces.in_flight  # settled: its window slot is free
    assert rig.metrics.confirmed == 1


async def test_reorged_out_goes_back_to_broadcast_and_is_followed_again() -> None:
    rig = Rig(confirmations=3)
    tx = await rig.send()
    tx_hash = str(tx.attempts[0].hash)
    rig.node.mine(tx_hash)
    await rig.monitor.turn()
    assert tx.state is TxState.INCLUDED
    rig.node.reorg_out(tx_hash)
    await rig.monitor.turn()
    assert tx.state is TxState.BROADCAST and tx.history[-1].reason == "reorged out"
    assert tx in rig.monitor.live
    assert rig.metrics.reorgs == 1


async def test_remined_in_another_block_takes_the_new_receipt() -> None:
    rig = Rig(confirmations=2)
    tx = await rig.send()
    tx_hash = str(tx.attempts[0].hash)
    rig.node.mine(tx_hash)
    await rig.monitor.turn()
    first = tx.receipt
    rig.node.head += 1
    rig.node.mine(tx_hash)  # same hash, another block
    await rig.monitor.turn()
    assert tx.receipt is not None and first is not None
    assert tx.receipt.block_hash != first.block_hash
    assert any(entry.reason == "reorged" for entry in tx.history)
    assert tx.state is TxState.INCLUDED and tx.confirmations == 1


async def test_reverted_reads_the_reason_once_and_stops_following() -> None:
    rig = Rig()
    tx = await rig.send()
    rig.node.mine(str(tx.attempts[0].hash), status=0)
    await rig.monitor.turn()
    assert tx.state is TxState.REVERTED
    assert tx.receipt is not None and tx.receipt.revert_reason == "out of luck"
    assert tx not in rig.monitor.live
    await rig.monitor.turn()
    assert rig.reverted_replays == 1 and rig.metrics.reverted == 1


async def test_the_winning_attempt_is_found_among_all_attempts() -> None:
    rig = Rig()
    tx = await rig.send()
    speed_up = await rig.replacer.speed_up(tx)
    rig.node.mine(str(speed_up.hash))
    await rig.monitor.turn()
    assert tx.state is TxState.CONFIRMED
    assert tx.winner is not None and tx.winner.hash == speed_up.hash


async def test_the_watchdog_sees_only_what_is_still_pending() -> None:
    rig = Rig()
    mined, pending = await rig.send(), await rig.send()
    rig.node.mine(str(mined.attempts[0].hash))
    seen: list[list[Transaction]] = []

    async def on_turn(txs: list[Transaction]) -> None:
        seen.append(txs)

    rig.monitor.on_turn = on_turn
    await rig.monitor.turn()
    assert seen == [[pending]]


async def test_a_failed_turn_is_counted_and_the_loop_goes_on() -> None:
    answers: list[Any] = [ConnectionError("node down")]
    turns = 0

    async def batch(calls: list[tuple[str, list[Any]]]) -> list[Any]:
        nonlocal turns
        turns += 1
        if answers:
            raise answers.pop()
        return ["0x1"] + [None] * (len(calls) - 1)

    async def nothing(tx: Transaction, *_: Any) -> None:
        return None

    monitor = BlockMonitor(
        batch,
        ETH,
        confirmations=1,
        track_finality=False,
        poll_interval=0.001,
        revert_reason=nothing,  # type: ignore[arg-type]
        on_change=nothing,
    )
    rig = Rig()
    monitor.track(await rig.send())
    monitor.start()
    try:
        async with asyncio.timeout(5):
            while turns < 3:
                await asyncio.sleep(0.001)
    finally:
        await monitor.stop()
    assert monitor.errors == 1 and monitor.turns >= 2


async def test_finalized_only_from_a_tag_behind_the_head() -> None:
    rig = Rig(confirmations=1)
    rig.monitor.track_finality = True
    tx = await rig.send()
    rig.node.mine(str(tx.attempts[0].hash))
    rig.node.finalized = rig.node.head - 1  # behind the head, not yet at our block
    await rig.monitor.turn()
    assert tx.state is TxState.CONFIRMED
    rig.node.head += 2
    rig.node.finalized = rig.node.head - 1  # now past our block, still behind the head
    await rig.monitor.turn()
    assert tx.state is TxState.FINALIZED and not rig.monitor.finality_untracked
    assert rig.metrics.confirmed == 1


async def test_a_finalized_tag_equal_to_the_head_is_not_finality() -> None:
    rig = Rig(confirmations=1)
    rig.monitor.track_finality = True
    tx = await rig.send()
    rig.node.mine(str(tx.attempts[0].hash))
    rig.node.finalized = rig.node.head  # Hardhat, Ganache: the latest block
    await rig.monitor.turn()  # mined: CONFIRMED; the tag is read once something waits for it
    await rig.monitor.turn()
    assert tx.state is TxState.CONFIRMED and rig.monitor.finality_untracked
    assert tx not in rig.monitor.live  # depth settled it: no more polling
    assert rig.metrics.confirmed == 1


async def test_depth_is_followed_past_finality_for_a_waiter() -> None:
    rig = Rig(confirmations=1)
    rig.monitor.track_finality = True
    tx = await rig.send()
    rig.node.mine(str(tx.attempts[0].hash))
    rig.node.finalized = rig.node.head - 1
    rig.node.head += 1
    rig.node.finalized = rig.node.head - 1  # includes our block: FINALIZED at depth 2
    rig.monitor.follow_depth(tx, 4)
    await rig.monitor.turn()
    await rig.monitor.turn()
    assert (tx.state, tx.confirmations) == (TxState.FINALIZED, 2)
    assert tx in rig.monitor.live  # a waiter needs depth 4
    rig.node.head += 2
    await rig.monitor.turn()
    assert tx.confirmations == 4 and tx not in rig.monitor.live


async def test_a_transaction_being_sent_is_not_asked_for_a_receipt() -> None:
    rig = Rig(confirmations=1)
    tx = await rig.send()
    rig.node.mine(str(tx.attempts[0].hash))
    rig.monitor.sending.add(str(tx.client_id))  # its first broadcast is under way
    asked = len(rig.node.calls)
    await rig.monitor.turn()
    assert "eth_getTransactionReceipt" not in rig.node.calls[asked:]
    assert tx.state is not TxState.CONFIRMED and tx in rig.monitor.live
    rig.monitor.sending.clear()  # the send returned: receipts decide from now on
    await rig.monitor.turn()
    assert tx.state is TxState.CONFIRMED


async def test_an_unused_nonce_is_not_asked_for_a_receipt() -> None:
    rig = Rig(confirmations=1)
    tx = await rig.send()
    await rig.monitor.turn()  # no count known yet: every receipt is asked, and the count read
    assert tx.state is TxState.BROADCAST
    asked = len(rig.node.calls)
    await rig.monitor.turn()
    assert "eth_getTransactionReceipt" not in rig.node.calls[asked:]  # count 0: nonce 0 unused
    assert "eth_getTransactionCount" in rig.node.calls[asked:]
    rig.node.mine(str(tx.attempts[0].hash))
    rig.node.nonce_count = 1
    rig.monitor._wake.clear()
    await rig.monitor.turn()  # the count moved past it: the next turn must come at once
    assert rig.monitor._wake.is_set() and tx.state is TxState.BROADCAST
    await rig.monitor.turn()
    assert tx.state is TxState.CONFIRMED and tx not in rig.monitor.live


async def test_without_a_count_every_receipt_is_asked() -> None:
    rig = Rig(confirmations=1)
    tx = await rig.send()
    rig.node.failing.add("eth_getTransactionCount")
    for _ in range(2):
        asked = len(rig.node.calls)
        await rig.monitor.turn()
        assert "eth_getTransactionReceipt" in rig.node.calls[asked:]
    rig.node.mine(str(tx.attempts[0].hash))  # the count (0) would say unused: it is not read
    await rig.monitor.turn()
    assert tx.state is TxState.CONFIRMED


async def test_a_mined_transaction_is_asked_whatever_the_count() -> None:
    rig = Rig(confirmations=3)
    tx = await rig.send()
    await rig.monitor.turn()  # count 0 read
    rig.node.mine(str(tx.attempts[0].hash))
    rig.node.nonce_count = 1
    await rig.monitor.turn()  # skipped (unused at the last count), then woken
    await rig.monitor.turn()
    assert tx.state is TxState.INCLUDED
    rig.node.nonce_count = 0  # a lagging count must not hide a reorg
    rig.node.reorg_out(str(tx.attempts[0].hash))
    await rig.monitor.turn()
    assert tx.state is TxState.BROADCAST and tx.history[-1].reason == "reorged out"


async def test_a_new_transaction_is_asked_on_its_first_turn_whatever_the_count() -> None:
    rig = Rig(confirmations=1)
    first = await rig.send()
    await rig.monitor.turn()  # count 0 read; `first` looked at once
    second = await rig.send()  # under automine its receipt exists as soon as it is sent
    for tx in (first, second):
        rig.node.mine(str(tx.attempts[0].hash))
    rig.node.nonce_count = 2
    await rig.monitor.turn()
    assert second.state is TxState.CONFIRMED  # asked: never looked at before
    assert first.state is TxState.BROADCAST  # not asked: its nonce was unused at the last count
    assert rig.monitor._wake.is_set()
    await rig.monitor.turn()
    assert first.state is TxState.CONFIRMED and not rig.monitor.live


async def test_the_monitor_is_woken_once_a_first_broadcast_is_answered() -> None:
    rig = Rig(confirmations=1)
    seen: list[bool] = []  # at each wake: was a first broadcast still under way?
    rig.monitor.wake = lambda: seen.append(bool(rig.monitor.sending))  # type: ignore[method-assign]
    tx = await rig.send()
    assert seen and seen[-1] is False  # the last wake came after the answer
    rig.node.mine(str(tx.attempts[0].hash))
    await rig.monitor.turn()
    assert tx.state is TxState.CONFIRMED


async def test_a_count_that_moves_under_unmined_asks_brings_the_next_turn_at_once() -> None:
    """The node is mining this account's transactions right now (an automining devnet
    working through a batch): those asked this turn and not mined yet are looked at
    again at once, not a poll interval later."""
    rig = Rig(confirmations=1)
    first = await rig.send()
    rig.node.mine(str(first.attempts[0].hash))
    rig.node.nonce_count = 1
    await rig.monitor.turn()  # count 1 read
    assert first.state is TxState.CONFIRMED
    second, third = await rig.send(), await rig.send()
    rig.node.mine(str(second.attempts[0].hash))  # mined; `third` is still in the pool
    rig.node.nonce_count = 2
    rig.monitor._wake.clear()
    await rig.monitor.turn()  # both asked (never looked at before): the count moved 1 -> 2
    assert second.state is TxState.CONFIRMED and third.state is TxState.BROADCAST
    assert rig.monitor._wake.is_set()
    rig.monitor._wake.clear()
    await rig.monitor.turn()  # `third` now waits on the count, which stood still
    assert third.state is TxState.BROADCAST and not rig.monitor._wake.is_set()


async def test_a_count_that_stands_still_waits_for_the_poll_interval() -> None:
    rig = Rig(confirmations=1)
    tx = await rig.send()
    await rig.monitor.turn()  # count 0 read
    rig.monitor._wake.clear()
    await rig.monitor.turn()
    assert tx.state is TxState.BROADCAST and not rig.monitor._wake.is_set()
    newer = await rig.send()
    rig.monitor._wake.clear()
    await rig.monitor.turn()  # `newer` asked and unmined, but nothing is being mined
    assert newer.state is TxState.BROADCAST and not rig.monitor._wake.is_set()


async def test_a_turn_lets_the_loop_run_between_slices_of_receipts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A turn that applies hundreds of receipts gives the event loop a chance every
    slice: a send batch answered meanwhile hands the node its successor at once."""
    monkeypatch.setattr(monitor_module, "RECEIPTS_PER_SLICE", 4)  # the rig's window is 16
    rig = Rig(confirmations=1)
    txs = [await rig.send() for _ in range(9)]
    for tx in txs:
        rig.node.mine(str(tx.attempts[0].hash))
    rig.node.nonce_count = len(txs)
    seen: list[int] = []

    def look() -> None:
        seen.append(sum(tx.state is TxState.CONFIRMED for tx in txs))

    asyncio.get_running_loop().call_soon(look)
    await rig.monitor.turn()
    assert all(tx.state is TxState.CONFIRMED for tx in txs)
    assert seen == [4]  # it ran after the first slice, in the middle of the turn
