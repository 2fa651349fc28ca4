"""Watchdog decisions without a node: bump, cancel, drop, external nonce use, give up."""

from __future__ import annotations

from core_factories import NEVER
from evm_doubles import GWEI, Rig, fees

from chainops.core.attempt import AttemptKind
from chainops.core.transaction import Transaction, TxState
from chainops.operators.evm.node_errors import node_error
from chainops.operators.evm.parts import ReplacementPolicy, WatchdogPolicy
from chainops.operators.evm.replacements import BumpCapReached


async def check(rig: Rig, *txs: Transaction) -> None:
    """One watchdog pass over the pending transactions, its background work finished."""
    await rig.watchdog.check(list(txs))
    await rig.watchdog.drain()


async def test_bump_after_blocks_replaces_at_the_same_nonce() -> None:
    rig = Rig(watchdog=WatchdogPolicy(bump_after_blocks=3, rebroadcast_after=60))
    tx = await rig.send()
    await check(rig, tx)  # first sight: the clock for this transaction starts
    rig.node.head += 2
    await check(rig, tx)
    assert len(tx.attempts) == 1  # two blocks: not yet
    rig.node.head += 1
    await rig.monitor.turn()  # the monitor reads the head
    await check(rig, tx)
    assert [a.kind for a in tx.attempts] == [AttemptKind.ORIGINAL, AttemptKind.SPEED_UP]
    assert tx.attempts[1].nonce == tx.nonce
    assert rig.node.sent[-1] == tx.attempts[1].raw
    assert rig.metrics.bumps == 1


async def test_a_queue_that_keeps_moving_is_not_bumped() -> None:
    """Blocks full of the account's own earlier nonces (automine, one block per
    transaction) say nothing about the fee: only a count that stops moving does."""
    rig = Rig(watchdog=WatchdogPolicy(bump_after_blocks=3, rebroadcast_after=60))
    first, second = await rig.send(), await rig.send()
    await rig.monitor.turn()
    await check(rig, second)
    for mined in range(1, 6):  # each block mines one more of the account's transactions
        rig.node.head += 1
        rig.node.nonce_count = mined
        await rig.monitor.turn()
        await check(rig, second)
    assert len(second.attempts) == 1  # five blocks pending, but the queue moved in each
    rig.node.head += 2
    await rig.monitor.turn()
    await check(rig, second)
    assert len(second.attempts) == 1  # stuck for two blocks: not yet
    rig.node.head += 1
    await rig.monitor.turn()
    await check(rig, second)
    assert [a.kind for a in second.attempts] == [AttemptKind.ORIGINAL, AttemptKind.SPEED_UP]
    assert len(first.attempts) == 1  # never checked here: nothing done to it


async def test_a_moving_queue_holds_the_time_based_bump_too() -> None:
    policy = WatchdogPolicy(bump_after_blocks=None, bump_after_seconds=12, rebroadcast_after=60)
    rig = Rig(watchdog=policy)
    await rig.send()
    tx = await rig.send()
    await rig.monitor.turn()
    await check(rig, tx)
    rig.clock.advance(10)
    rig.node.nonce_count = 1  # the one before it mined: ours is next
    await rig.monitor.turn()
    await check(rig, tx)
    rig.clock.advance(11)
    await check(rig, tx)
    assert len(tx.attempts) == 1  # 21 s pending, 11 s since the account last moved
    rig.clock.advance(1)
    await check(rig, tx)
    assert len(tx.attempts) == 2


async def test_bump_after_seconds_follows_the_clock() -> None:
    policy = WatchdogPolicy(bump_after_blocks=None, bump_after_seconds=12, rebroadcast_after=60)
    rig = Rig(watchdog=policy)
    tx = await rig.send()
    await check(rig, tx)
    rig.clock.advance(11.9)
    await check(rig, tx)
    assert len(tx.attempts) == 1
    rig.clock.advance(0.1)
    await check(rig, tx)
    assert len(tx.attempts) == 2
    rig.clock.advance(5)
    await check(rig, tx)
    assert len(tx.attempts) == 2  # the clock restarts at each bump


async def test_bumping_stops_at_max_bumps() -> None:
    policy = WatchdogPolicy(bump_after_blocks=None, bump_after_seconds=1, max_bumps=2)
    rig = Rig(watchdog=policy, replacement=ReplacementPolicy(max_fee_multiple=100))
    tx = await rig.send()
    for _ in range(5):
        await check(rig, tx)
        rig.clock.advance(1)
    assert sum(1 for a in tx.attempts if a.kind is AttemptKind.SPEED_UP) == 2


async def test_fee_ceiling_stalls_the_waiters_and_stops_bumping() -> None:
    policy = WatchdogPolicy(bump_after_blocks=None, bump_after_seconds=1, rebroadcast_after=60)
    # The first attempt pays the market cap: one +10 % bump is above a 1x ceiling.
    rig = Rig(watchdog=policy, replacement=ReplacementPolicy(max_fee_multiple=1))
    tx = await rig.send()
    await check(rig, tx)
    rig.clock.advance(1)
    await check(rig, tx)
    assert len(tx.attempts) == 1 and rig.metrics.fee_cap_reached == 1
    waiting = rig.waiters.until(tx, NEVER, None, 1.0)
    try:
        await waiting
    except BumpCapReached as exc:
        assert exc.cap_wei == fees().max_fee_per_gas
    else:
        raise AssertionError("the stall did not reach the waiter")
    rig.clock.advance(10)
    await check(rig, tx)
    assert rig.metrics.fee_cap_reached == 1  # capped: never tried again
    assert tx.state is TxState.BROADCAST


async def test_deadline_cancels_once() -> None:
    rig = Rig(watchdog=WatchdogPolicy(bump_after_blocks=None, rebroadcast_after=60))
    tx = await rig.send()
    rig.watchdog.deadlines[str(tx.client_id)] = rig.clock() + 30
    await check(rig, tx)
    assert len(tx.attempts) == 1
    rig.clock.advance(30)
    await check(rig, tx)
    assert [a.kind for a in tx.attempts] == [AttemptKind.ORIGINAL, AttemptKind.CANCEL]
    rig.clock.advance(30)
    await check(rig, tx)
    assert len(tx.attempts) == 2 and rig.metrics.cancels == 1


async def test_dropped_transaction_is_resent_with_the_same_bytes() -> None:
    rig = Rig(watchdog=WatchdogPolicy(bump_after_blocks=None, rebroadcast_after=1))
    tx = await rig.send()
    await check(rig, tx)
    rig.node.pool.clear()  # gone from the pool, never mined
    sends = len(rig.node.sent)
    rig.clock.advance(1)
    await check(rig, tx)
    assert len(rig.node.sent) == sends  # one look may straddle a block: not proof yet
    await check(rig, tx)  # missing once: looked at again on the next turn
    assert rig.node.sent[sends:] == [tx.attempts[0].raw]
    assert (rig.metrics.drops, rig.metrics.rebroadcasts) == (1, 1)
    rig.clock.advance(1)
    await check(rig, tx)  # back in the pool: nothing to do
    assert len(rig.node.sent) == sends + 1


async def test_a_mined_attempt_is_left_to_the_monitor() -> None:
    rig = Rig(watchdog=WatchdogPolicy(bump_after_blocks=None, rebroadcast_after=1))
    tx = await rig.send()
    await check(rig, tx)
    rig.node.mine(str(tx.attempts[0].hash))
    rig.node.nonce_count = 1
    sends = len(rig.node.sent)
    rig.clock.advance(1)
    await check(rig, tx)
    assert len(rig.node.sent) == sends and tx.state is TxState.BROADCAST
    await rig.monitor.turn()
    assert tx.state is TxState.CONFIRMED


async def test_missing_once_then_mined_sends_nothing() -> None:
    # A node can answer one batch half before and half after it mines a block: the
    # pool no longer holds the transaction, the receipt is not there yet. A re-send
    # on that one look would put the mined bytes in front of a node that (like
    # Ganache with its miner stopped) mines them a second time.
    rig = Rig(watchdog=WatchdogPolicy(bump_after_blocks=None, rebroadcast_after=1))
    tx = await rig.send()
    await check(rig, tx)
    rig.node.pool.clear()
    sends = len(rig.node.sent)
    rig.clock.advance(1)
    await check(rig, tx)
    rig.node.mine(str(tx.attempts[0].hash))
    rig.node.nonce_count = 1
    await check(rig, tx)
    assert len(rig.node.sent) == sends and rig.metrics.drops == 0
    await rig.monitor.turn()
    assert tx.state is TxState.CONFIRMED


async def test_nonce_used_elsewhere_needs_two_looks_then_replaced() -> None:
    rig = Rig(watchdog=WatchdogPolicy(bump_after_blocks=None, rebroadcast_after=1))
    tx = await rig.send()
    await check(rig, tx)
    rig.node.pool.clear()
    rig.node.nonce_count = 1  # the nonce is consumed, by none of our attempts
    rig.clock.advance(1)
    await check(rig, tx)
    assert tx.state is TxState.BROADCAST  # one look may straddle a reorg: not proof yet
    rig.clock.advance(1)
    await check(rig, tx)
    assert tx.state is TxState.REPLACED
    assert rig.metrics.replacements == 1
    await rig.pipeline.commits.drain()
    assert rig.stored(tx).state is TxState.REPLACED


async def test_an_incomplete_look_decides_nothing() -> None:
    rig = Rig(watchdog=WatchdogPolicy(bump_after_blocks=None, rebroadcast_after=1))
    tx = await rig.send()
    await check(rig, tx)
    rig.node.pool.clear()
    rig.node.failing.add("eth_getTransactionReceipt")
    sends = len(rig.node.sent)
    rig.clock.advance(1)
    await check(rig, tx)
    assert len(rig.node.sent) == sends and tx.state is TxState.BROADCAST


async def test_resend_refused_for_funds_gives_up_and_frees_the_nonce() -> None:
    rig = Rig(watchdog=WatchdogPolicy(bump_after_blocks=None, rebroadcast_after=1))
    tx = await rig.send()
    await check(rig, tx)
    rig.node.pool.clear()
    rig.node.refusals.append(node_error(-32000, "insufficient funds for gas * price + value"))
    rig.clock.advance(1)
    await check(rig, tx)
    await check(rig, tx)  # missing on a second look: re-sent
    assert tx.state is TxState.REJECTED
    assert tx.nonce not in rig.nonces.in_flight


async def test_resend_refused_as_underpriced_reprices_with_a_bump() -> None:
    rig = Rig(watchdog=WatchdogPolicy(bump_after_blocks=None, rebroadcast_after=1))
    tx = await rig.send()
    await check(rig, tx)
    rig.node.pool.clear()
    rig.node.refusals.append(node_error(-32000, "max fee per gas less than block base fee"))
    rig.pricing.market = fees(cap_gwei=300, tip_gwei=3)
    rig.clock.advance(1)
    await check(rig, tx)
    await check(rig, tx)  # missing on a second look: re-sent
    assert [a.kind for a in tx.attempts] == [AttemptKind.ORIGINAL, AttemptKind.SPEED_UP]
    assert tx.attempts[1].fee.max_fee_per_gas == 300 * GWEI  # the fresh market, above +10 %


async def test_the_lowest_nonce_is_looked_at_early_only_once_the_count_stands_still() -> None:
    """The transaction every later one waits for is looked at after ``head_look`` of
    ``rebroadcast_after`` without progress (a node that parked it stalls the whole
    account), not while the account's queue keeps being mined."""
    policy = WatchdogPolicy(bump_after_blocks=None, rebroadcast_after=1, head_look=0.1)
    rig = Rig(watchdog=policy)
    a, b, c = await rig.send(), await rig.send(), await rig.send()
    await rig.monitor.turn()
    await check(rig, a, b, c)  # first sight
    looks = rig.node.calls.count("eth_getTransactionByHash")
    rig.clock.advance(0.3)
    rig.node.mine(str(a.attempts[0].hash))
    rig.node.nonce_count = 1
    await rig.monitor.turn()
    await check(rig, b, c)  # b waited 0.3 s, but the count moved just now
    assert rig.node.calls.count("eth_getTransactionByHash") == looks
    rig.clock.advance(0.05)
    await rig.monitor.turn()
    await check(rig, b, c)
    assert rig.node.calls.count("eth_getTransactionByHash") == looks  # still for 0.05 s
    rig.clock.advance(0.06)
    await rig.monitor.turn()
    await check(rig, b, c)  # still for 0.11 s: the lowest nonce is looked at, alone
    assert rig.node.calls.count("eth_getTransactionByHash") == looks + 1


async def test_a_transaction_seen_parked_is_looked_at_again_at_once() -> None:
    """Queued by the node at exactly the account's count (Anvil parks a transaction that
    arrives while it mines the one before): every later nonce waits on it, so the second
    look that proves it comes with the next monitor turn, woken at once."""
    policy = WatchdogPolicy(bump_after_blocks=None, rebroadcast_after=1, head_look=0.1)
    rig = Rig(watchdog=policy)
    tx = await rig.send()
    rig.node.pending_count = 0  # the node leaves it out of its executable transactions
    rig.node.queued = {rig.signer.address: {str(tx.nonce): "parked"}}
    await rig.monitor.turn()
    await check(rig, tx)  # first sight
    rig.clock.advance(1.1)
    rig.monitor._wake.clear()
    await check(rig, tx)  # looked at: in the pool, queued at the count
    assert len(tx.attempts) == 1 and rig.monitor._wake.is_set()
    await check(rig, tx)  # the second look: parked, sped up
    assert [a.kind for a in tx.attempts] == [AttemptKind.ORIGINAL, AttemptKind.SPEED_UP]


async def test_blocks_that_pass_in_a_blink_do_not_bump_on_their_own() -> None:
    """Anvil can mine a run of blocks in a few milliseconds without the account's queued
    transactions (automine): counted by blocks alone, every pending transaction would
    be sped up at once. With ``bump_min_seconds`` the count must also stand still that
    long."""
    policy = WatchdogPolicy(bump_after_blocks=3, rebroadcast_after=60, bump_min_seconds=0.05)
    rig = Rig(watchdog=policy)
    tx = await rig.send()
    await rig.monitor.turn()
    await check(rig, tx)  # first sight
    rig.clock.advance(0.005)
    rig.node.head += 30  # thirty blocks, none of them ours, in five milliseconds
    await rig.monitor.turn()
    await check(rig, tx)
    assert len(tx.attempts) == 1
    rig.clock.advance(0.05)
    await rig.monitor.turn()
    await check(rig, tx)  # still for 55 ms and 30 blocks: now it is stuck
    assert [a.kind for a in tx.attempts] == [AttemptKind.ORIGINAL, AttemptKind.SPEED_UP]
