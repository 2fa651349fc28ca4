"""Replacer decisions without a node: +10 % rule, market, ceilings, cancel, refusals."""

from __future__ import annotations

import pytest
from evm_doubles import GWEI, Rig, fees

from chainops.core.attempt import AttemptKind, FeeParams
from chainops.core.errors import InvalidTransition, NonceError
from chainops.core.transaction import TxState
from chainops.operators.evm.node_errors import node_error
from chainops.operators.evm.parts import ReplacementPolicy
from chainops.operators.evm.replacements import BumpCapReached, TxFeeCapReached


async def test_speed_up_raises_both_fields_by_ten_percent_at_the_same_nonce() -> None:
    rig = Rig()
    tx = await rig.send()
    attempt = await rig.replacer.speed_up(tx)
    old = tx.attempts[0].fee
    assert attempt.kind is AttemptKind.SPEED_UP and attempt.nonce == tx.nonce
    assert attempt.fee.max_fee_per_gas is not None and old.max_fee_per_gas is not None
    assert attempt.fee.max_priority_fee_per_gas is not None
    assert old.max_priority_fee_per_gas is not None
    assert attempt.fee.max_fee_per_gas * 10 >= old.max_fee_per_gas * 11
    assert attempt.fee.max_priority_fee_per_gas * 10 >= old.max_priority_fee_per_gas * 11
    assert rig.pricing.invalidations == 1  # priced from fresh data
    assert rig.node.sent[-1] == attempt.raw and tx.state is TxState.BROADCAST


async def test_every_attempt_is_journalled_before_the_node_hears_of_it() -> None:
    rig = Rig()
    tx = await rig.send()
    seen: list[int] = []
    send = rig.node.send_raw

    async def spy(raw: bytes) -> object:
        seen.append(len(rig.stored(tx).attempts))
        return await send(raw)

    rig.node.send_raw = spy  # type: ignore[method-assign]
    await rig.replacer.speed_up(tx)
    assert seen == [2]


async def test_speed_up_follows_a_market_that_moved_further() -> None:
    rig = Rig()
    tx = await rig.send()
    rig.pricing.market = fees(cap_gwei=250, tip_gwei=5)
    attempt = await rig.replacer.speed_up(tx)
    assert attempt.fee.max_fee_per_gas == 250 * GWEI
    assert attempt.fee.max_priority_fee_per_gas == 5 * GWEI


async def test_cancel_is_a_zero_value_self_transfer() -> None:
    rig = Rig()
    tx = await rig.send()
    attempt = await rig.replacer.cancel(tx)
    assert attempt.kind is AttemptKind.CANCEL and attempt.nonce == tx.nonce
    assert rig.metrics.cancels == 1 and rig.metrics.bumps == 0


async def test_ceiling_raises_and_publishes_without_a_new_attempt() -> None:
    rig = Rig(replacement=ReplacementPolicy(max_fee_cap_wei=105 * GWEI))
    published: list[TxFeeCapReached] = []
    rig.events.subscribe(TxFeeCapReached, published.append)
    tx = await rig.send()
    with pytest.raises(BumpCapReached) as info:
        await rig.replacer.speed_up(tx)
    assert info.value.cap_wei == 105 * GWEI and info.value.needed_wei == 110 * GWEI
    assert len(tx.attempts) == 1 and published and published[0].cap_wei == 105 * GWEI


async def test_a_mined_transaction_is_not_replaced() -> None:
    rig = Rig()
    tx = await rig.send()
    rig.node.mine(str(tx.attempts[0].hash))
    await rig.monitor.turn()
    with pytest.raises(InvalidTransition):
        await rig.replacer.speed_up(tx)


async def test_replacement_underpriced_outbids_the_pooled_transaction_once() -> None:
    rig = Rig()
    tx = await rig.send()
    assert tx.nonce is not None
    rig.node.pooled_by_nonce[tx.nonce] = {
        "maxFeePerGas": hex(200 * GWEI),
        "maxPriorityFeePerGas": hex(4 * GWEI),
    }
    rig.node.refusals.append(node_error(-32000, "replacement transaction underpriced"))
    attempt = await rig.replacer.speed_up(tx)
    assert attempt.index == 2  # the refused attempt stays recorded
    assert attempt.fee.max_fee_per_gas == 220 * GWEI
    assert attempt.fee.max_priority_fee_per_gas is not None
    assert attempt.fee.max_priority_fee_per_gas >= 4 * GWEI * 11 // 10


async def test_explicit_fees_refused_as_underpriced_are_not_raised_again() -> None:
    rig = Rig()
    tx = await rig.send()
    rig.node.refusals.append(node_error(-32000, "replacement transaction underpriced"))
    given = FeeParams(max_fee_per_gas=111 * GWEI, max_priority_fee_per_gas=3 * GWEI)
    with pytest.raises(Exception, match="underpriced"):
        await rig.replacer.speed_up(tx, fees=given)
    assert len(tx.attempts) == 2


async def test_nonce_too_low_on_replacement_wakes_the_monitor() -> None:
    rig = Rig()
    tx = await rig.send()
    rig.node.refusals.append(node_error(-32000, "nonce too low"))
    with pytest.raises(NonceError):
        await rig.replacer.cancel(tx)
    assert tx.attempts[1].error is not None
    assert tx.state is TxState.BROADCAST  # receipts decide, on the next turn
