"""The EVM operator under faults: the transaction-manager scenarios, one test each.

Each test runs on its own fork of the devnet world (``devnet_fresh``), so mining
modes, base-fee spikes and reorgs never leak into another test.
"""

from __future__ import annotations

import asyncio
import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from eth_account import Account

from chainops.core.attempt import AttemptKind
from chainops.core.errors import (
    ConfigurationError,
    InsufficientFunds,
    NonceError,
    Rejected,
    RpcTransientError,
    UnknownOutcome,
)
from chainops.core.transaction import Transaction, TxState
from chainops.devnet.rpc_proxy import FaultRule, RpcProxy
from chainops.devnet.world import World
from chainops.operators.base import OperatorFactory
from chainops.operators.evm import EvmOperator
from chainops.operators.evm.replacements import BumpCapReached, TxFeeCapReached

pytestmark = pytest.mark.integration
ONE_GWEI = 10**9


def make(world: World, index: int = 3, url: str | None = None, **options: Any) -> EvmOperator:
    # close_timeout 1: a test that leaves a transaction pending should not wait 30 s at exit
    settings: dict[str, Any] = {
        "track_finality": False,
        "rebroadcast_after": 0.2,
        "close_timeout": 1.0,
    }
    settings.update(options)
    op = OperatorFactory.create(
        "devnet",
        cache=False,
        rpc_url=url or world.rpc_url,
        private_key=world.book.accounts[index].private_key,
        **settings,
    )
    assert isinstance(op, EvmOperator)
    return op


def balance(world: World, address: str) -> int:
    return int(world.anvil.rpc("eth_getBalance", [address, "latest"]), 16)


def pooled(world: World, tx_hash: object) -> Any:
    return world.anvil.rpc("eth_getTransactionByHash", [str(tx_hash)])


async def mine_until(world: World, predicate: Any, *, blocks: int = 20) -> None:
    """Mine a block at a time, letting the operator look in between."""
    for _ in range(blocks):
        if predicate():
            return
        world.anvil.mine()
        await asyncio.sleep(0.15)
    assert predicate()


async def test_01_happy_path_publishes_once(devnet_fresh: World) -> None:
    async with RpcProxy(devnet_fresh.rpc_url) as proxy:
        async with make(devnet_fresh, url=proxy.url) as evm:
            tx = await evm.send_and_wait(
                to=devnet_fresh.book.accounts[1].address, value=Decimal("0.1")
            )
        assert tx.state is TxState.CONFIRMED
        assert proxy.calls["eth_sendRawTransaction"] == 1
        assert len(tx.attempts) == 1


async def test_02_fee_spike_is_outbid_by_bumps(devnet_fresh: World) -> None:
    world = devnet_fresh
    async with make(world, bump_after_blocks=1) as evm:
        world.anvil.set_mining("manual")
        tx = await evm.send(to=world.book.accounts[1].address, value=Decimal("0.1"))
        first_cap = tx.attempts[0].fee.max_fee_per_gas
        assert first_cap is not None
        world.anvil.rpc("anvil_setNextBlockBaseFeePerGas", [hex(first_cap * 3)])
        await mine_until(world, lambda: tx.state is TxState.CONFIRMED)
        assert len(tx.attempts) >= 2
        for old, new in zip(tx.attempts, tx.attempts[1:], strict=False):
            assert old.fee.max_fee_per_gas and new.fee.max_fee_per_gas
            assert old.fee.max_priority_fee_per_gas is not None
            assert new.fee.max_priority_fee_per_gas is not None
            assert new.fee.max_fee_per_gas * 10 >= old.fee.max_fee_per_gas * 11
            assert new.fee.max_priority_fee_per_gas * 10 >= old.fee.max_priority_fee_per_gas * 11
        assert tx.winner is not None and tx.winner.kind is AttemptKind.SPEED_UP
        assert evm.metrics.bumps >= 1


async def test_03_bump_cap_surfaces_as_event_and_error(devnet_fresh: World) -> None:
    world = devnet_fresh
    async with make(world, bump_after_blocks=1) as evm:
        capped: list[TxFeeCapReached] = []
        evm.events.subscribe(TxFeeCapReached, capped.append)
        world.anvil.set_mining("manual")
        tx = await evm.send(to=world.book.accounts[1].address, value=Decimal("0.1"))
        cap = tx.attempts[0].fee.max_fee_per_gas
        assert cap is not None
        # No room for a bump: the replacer's ceiling just above the first attempt's cap.
        evm.replacer.policy = dataclasses.replace(evm.replacer.policy, max_fee_cap_wei=cap + 1)
        world.anvil.rpc("anvil_setNextBlockBaseFeePerGas", [hex(cap * 3)])
        waiting = asyncio.ensure_future(tx.wait(timeout=20))
        for _ in range(5):
            world.anvil.mine()
            await asyncio.sleep(0.15)
            if waiting.done():
                break
        with pytest.raises(BumpCapReached):
            await waiting
        assert capped and capped[0].cap_wei == cap + 1
        assert tx.state is TxState.BROADCAST  # still pending, not silently given up
        assert evm.metrics.fee_cap_reached >= 1
        world.anvil.set_mining("auto")


async def test_04_dropped_is_rebroadcast_with_the_same_bytes(devnet_fresh: World) -> None:
    world = devnet_fresh
    async with make(world, bump_after_blocks=None) as evm:
        world.anvil.set_mining("manual")
        tx = await evm.send(to=world.book.accounts[1].address, value=Decimal("0.1"))
        world.anvil.rpc("anvil_dropTransaction", [str(tx.hash)])
        assert pooled(world, tx.hash) is None
        async with asyncio.timeout(10):
            while pooled(world, tx.hash) is None:
                await asyncio.sleep(0.05)
        world.anvil.mine()
        await tx.wait(timeout=10)
        assert len(tx.attempts) == 1 and evm.metrics.rebroadcasts >= 1


async def test_05_never_accepted_in_time_is_cancelled_and_the_nonce_filled(
    devnet_fresh: World,
) -> None:
    world = devnet_fresh
    async with RpcProxy(world.rpc_url) as proxy:
        proxy.add(FaultRule("eth_sendRawTransaction", action="fail", probability=1.0))
        async with make(world, url=proxy.url, bump_after_blocks=None) as evm:
            evm.rpc.backoff_max = 0.01  # keep the failing retries short in this test
            with pytest.raises(UnknownOutcome) as info:
                await evm.send(
                    to=world.book.accounts[1].address, value=Decimal("0.1"), deadline=0.3
                )
            tx = info.value.transaction  # type: ignore[attr-defined]
            assert tx.state is TxState.SIGNED
            await asyncio.sleep(0.6)  # the deadline passes: the watchdog signs a cancel
            proxy.clear()  # the node is reachable again
            with pytest.raises(Rejected, match="canceled"):
                await tx.wait(timeout=10)
            assert tx.winner is not None and tx.winner.kind is AttemptKind.CANCEL
            after = await evm.send_and_wait(to=world.book.accounts[1].address, value=Decimal("0.1"))
            assert tx.nonce is not None and after.nonce == tx.nonce + 1  # no gap left


async def test_06_nonce_used_outside_the_operator_is_replaced(devnet_fresh: World) -> None:
    world = devnet_fresh
    async with make(world, bump_after_blocks=None) as evm:
        world.anvil.set_mining("manual")
        tx = await evm.send(to=world.book.accounts[1].address, value=Decimal("0.1"))
        # The same key used elsewhere: another transaction at our nonce, priced higher.
        world.anvil.rpc(
            "eth_sendTransaction",
            [
                {
                    "from": evm.owner,
                    "to": evm.owner,
                    "value": "0x0",
                    "nonce": hex(tx.nonce or 0),
                    "maxFeePerGas": hex(100 * ONE_GWEI),
                    "maxPriorityFeePerGas": hex(50 * ONE_GWEI),
                }
            ],
        )
        world.anvil.mine()
        world.anvil.set_mining("auto")
        with pytest.raises(NonceError):
            await tx.wait(timeout=10)
        assert tx.state is TxState.REPLACED
        nxt = await evm.send_and_wait(to=world.book.accounts[1].address, value=Decimal("0.1"))
        assert tx.nonce is not None and nxt.nonce == tx.nonce + 1
        assert evm.metrics.replacements == 1


async def test_07_nonce_too_low_because_our_attempt_mined_reports_it(devnet_fresh: World) -> None:
    world = devnet_fresh
    async with make(world, poll_interval=5.0, bump_after_blocks=None) as evm:
        world.anvil.set_mining("manual")
        tx = await evm.send(to=world.book.accounts[1].address, value=Decimal("0.1"))
        await asyncio.sleep(0.1)
        world.anvil.mine()  # mined, and the monitor has not looked yet
        with pytest.raises(NonceError):
            await tx.speed_up()
        await tx.wait(timeout=10)
        assert tx.state is TxState.CONFIRMED
        assert tx.winner is not None and tx.winner.index == 0


async def test_08_already_known_on_resend_is_success(devnet_fresh: World) -> None:
    world = devnet_fresh
    async with RpcProxy(world.rpc_url) as proxy:
        # The node takes the first send but the answer is lost: the client re-sends.
        proxy.add(FaultRule("eth_sendRawTransaction", action="drop_after", nth=1))
        async with make(world, url=proxy.url, bump_after_blocks=None) as evm:
            world.anvil.set_mining("manual")
            tx = await evm.send(to=world.book.accounts[1].address, value=Decimal("0.1"))
            assert tx.state is TxState.BROADCAST
            assert proxy.calls["eth_sendRawTransaction"] >= 2
            world.anvil.mine()
            await tx.wait(timeout=10)
            world.anvil.set_mining("auto")


async def test_09_replacement_underpriced_bumps_from_the_pool_price(devnet_fresh: World) -> None:
    world = devnet_fresh
    async with make(world, bump_after_blocks=None) as evm:
        world.anvil.set_mining("manual")
        tx = await evm.send(to=world.book.accounts[1].address, value=Decimal("0.1"))
        world.anvil.rpc(
            "eth_sendTransaction",
            [
                {
                    "from": evm.owner,
                    "to": evm.owner,
                    "value": "0x0",
                    "nonce": hex(tx.nonce or 0),
                    "maxFeePerGas": hex(500 * ONE_GWEI),
                    "maxPriorityFeePerGas": hex(100 * ONE_GWEI),
                }
            ],
        )
        attempt = await tx.speed_up()
        assert attempt.fee.max_fee_per_gas is not None
        assert attempt.fee.max_fee_per_gas >= 550 * ONE_GWEI
        world.anvil.mine()
        await tx.wait(timeout=10)
        assert tx.winner is not None and tx.winner.hash == attempt.hash
        world.anvil.set_mining("auto")


async def test_11_http_500_mid_sequence_leaves_no_gap(devnet_fresh: World) -> None:
    world = devnet_fresh
    async with RpcProxy(world.rpc_url) as proxy:
        proxy.add(FaultRule("eth_sendRawTransaction", action="fail", nth=2))
        async with make(world, url=proxy.url) as evm:
            txs = [
                await evm.send(to=world.book.accounts[1].address, value=Decimal("0.01"))
                for _ in range(3)
            ]
            for tx in txs:
                await tx.wait(timeout=10)
        assert [tx.nonce for tx in txs] == [0, 1, 2]
        assert proxy.faults["fail:eth_sendRawTransaction"] == 1


async def test_12_burnt_nonce_is_filled_on_start(devnet_fresh: World, tmp_path: Any) -> None:
    world = devnet_fresh
    journal = tmp_path / "journal.sqlite"
    async with make(world, journal_path=journal) as first:
        burnt = await first.nonces.reserve()  # reserved, then the process "dies"
    async with make(world, journal_path=journal) as second:
        assert second.metrics.gap_fills == 1
        after = await second.send_and_wait(to=world.book.accounts[1].address, value=Decimal("0.01"))
        assert after.nonce == burnt + 1


async def test_13_speed_up_and_cancel_attributed_to_the_winning_attempt(
    devnet_fresh: World,
) -> None:
    world = devnet_fresh
    to = world.book.accounts[1].address
    async with make(world, bump_after_blocks=None) as evm:
        world.anvil.set_mining("manual")
        sped = await evm.send(to=to, value=Decimal("0.1"))
        faster = await sped.speed_up()
        world.anvil.mine()
        await sped.wait(timeout=10)
        assert sped.winner is not None and sped.winner.hash == faster.hash
        before = balance(world, to)
        cancelled = await evm.send(to=to, value=Decimal("0.1"))
        await cancelled.cancel()
        world.anvil.mine()
        with pytest.raises(Rejected, match="canceled"):
            await cancelled.wait(timeout=10)
        assert balance(world, to) == before  # the transfer never happened
        # The original wins the race: mined before the cancel reaches the node.
        raced = await evm.send(to=to, value=Decimal("0.1"))
        world.anvil.mine()
        await asyncio.sleep(0.1)
        with pytest.raises((NonceError, Exception)):
            await raced.cancel()
        await raced.wait(timeout=10)
        assert raced.winner is not None and raced.winner.kind is AttemptKind.ORIGINAL
        world.anvil.set_mining("auto")


async def test_15_reorg_rebroadcasts_the_same_bytes(devnet_fresh: World) -> None:
    world = devnet_fresh
    world.anvil.mine(2)  # a reorg needs local parent blocks, not the forked-from ones
    async with make(world, confirmations=3, bump_after_blocks=None) as evm:
        tx = await evm.send(to=world.book.accounts[1].address, value=Decimal("0.1"))
        async with asyncio.timeout(10):
            await tx._wait_for(lambda t: t.state is TxState.INCLUDED)
        first_block = tx.receipt.block_number if tx.receipt else None
        world.anvil.rpc("anvil_reorg", [1, []])  # the block that held it is replaced
        async with asyncio.timeout(10):
            await tx._wait_for(lambda t: t.state is TxState.BROADCAST)  # seen as reorged out
            await tx._wait_for(lambda t: t.state is TxState.INCLUDED)  # re-sent and re-mined
        world.anvil.mine(3)
        await tx.wait(timeout=10)
        assert len(tx.attempts) == 1  # the same bytes, the same hash
        assert evm.metrics.reorgs >= 1
        assert first_block is not None


async def test_15b_reorg_with_a_conflicting_transaction_is_replaced(devnet_fresh: World) -> None:
    world = devnet_fresh
    key = world.book.accounts[3].private_key
    world.anvil.mine(2)
    async with make(world, confirmations=3, bump_after_blocks=None) as evm:
        tx = await evm.send(to=world.book.accounts[1].address, value=Decimal("0.1"))
        async with asyncio.timeout(10):
            await tx._wait_for(lambda t: t.state is TxState.INCLUDED)
        conflict = Account.from_key(key).sign_transaction(
            {
                "type": 2,
                "chainId": 31337,
                "nonce": tx.nonce,
                "to": evm.owner,
                "value": 0,
                "gas": 21_000,
                "maxFeePerGas": 100 * ONE_GWEI,
                "maxPriorityFeePerGas": ONE_GWEI,
            }
        )
        raw = "0x" + bytes(conflict.raw_transaction).hex()
        world.anvil.rpc("anvil_reorg", [1, [[raw, 0]]])
        with pytest.raises(NonceError):
            await tx.wait(timeout=10)
        assert tx.state is TxState.REPLACED


async def test_17_rpc_faults_reads_retry_sends_stay_idempotent(devnet_fresh: World) -> None:
    world = devnet_fresh
    to = world.book.accounts[1].address
    before = balance(world, to)
    async with RpcProxy(world.rpc_url, seed=3) as proxy:
        proxy.add(FaultRule("*", action="fail", probability=0.1))
        proxy.add(FaultRule("*", action="error", probability=0.05))
        proxy.add(FaultRule("eth_sendRawTransaction", action="drop_after", probability=0.2))
        dead = "http://127.0.0.1:9"  # nothing listens there: failover must skip it
        op = OperatorFactory.create(
            "devnet",
            cache=False,
            endpoints=(dead, proxy.url),
            track_finality=False,
            private_key=world.book.accounts[3].private_key,
            rebroadcast_after=0.2,
        )
        assert isinstance(op, EvmOperator)
        async with op as evm:
            txs = []
            while len(txs) < 10:
                try:
                    txs.append(await evm.send(to=to, value=Decimal("0.01")))
                except UnknownOutcome as unknown:  # maybe sent: it stays tracked, re-sent
                    txs.append(unknown.transaction)  # type: ignore[attr-defined]
                except RpcTransientError:
                    continue  # a read failed before anything was sent: safe to ask again
            await asyncio.gather(*(tx.wait(timeout=30) for tx in txs))
        assert sum(proxy.faults.values()) > 0
    assert balance(world, to) == before + 10 * 10**16  # every transfer exactly once


async def test_18_back_pressure_and_graceful_close(devnet_fresh: World) -> None:
    world = devnet_fresh
    peak = 0
    # close waits for what is in flight: room for a loaded host (or a parked transaction)
    evm = make(world, max_in_flight=4, close_timeout=15.0)
    async with evm:

        async def one() -> Any:
            nonlocal peak
            tx = await evm.send(to=world.book.accounts[1].address, value=Decimal("0.001"))
            peak = max(peak, len(evm.nonces.in_flight))
            return tx

        txs = await asyncio.gather(*(one() for _ in range(20)))
    assert peak <= 4
    assert all(tx.state is TxState.CONFIRMED for tx in txs)  # close finished tracking them


def test_metrics_render_as_prometheus_text(devnet_world: World) -> None:
    evm = make(devnet_world)
    evm.metrics.bumps = 2
    evm.metrics.observe_latency(0.5)
    text = evm.metrics.prometheus({"chain": "devnet"})
    assert 'chainops_evm_bumps_total{chain="devnet"} 2' in text
    assert evm.metrics.as_dict()["send_to_confirm_seconds"]["p50"] == 0.5


async def test_11b_rejected_middle_nonce_is_filled_so_later_ones_mine(devnet_fresh: World) -> None:
    """Three concurrent sends; the funds run out after the first, so the node can never
    take the second: it ends REJECTED and its nonce is taken by a no-op, so the third is
    not stuck behind a gap."""
    world = devnet_fresh
    evm = make(world, index=7)
    world.anvil.set_balance(evm.owner, 10**18)  # 1 ETH: enough for 0.6 once, not twice
    async with evm:
        to = world.book.accounts[1].address
        first, second, third = await asyncio.gather(
            *(evm.send(to=to, value=Decimal(v)) for v in ("0.6", "0.6", "0.01")),
            return_exceptions=True,
        )
        assert isinstance(first, Transaction) and isinstance(third, Transaction)
        await first.wait(timeout=10)
        await third.wait(timeout=10)
        # Refused at submission (send raises) or dropped at mining (wait raises): either way
        # a typed InsufficientFunds, and the nonce it held was filled.
        if isinstance(second, Transaction):
            with pytest.raises(InsufficientFunds):
                await second.wait(timeout=10)
            assert second.state is TxState.REJECTED
        else:
            assert isinstance(second, InsufficientFunds)
        assert evm.metrics.gap_fills == 1
        count = int(world.anvil.rpc("eth_getTransactionCount", [evm.owner, "latest"]), 16)
        assert count == 3  # two transfers and the no-op that took the refused nonce


async def test_15c_reorg_past_the_followed_depth_is_resent_and_later_nonces_mine(
    devnet_fresh: World,
) -> None:
    """A transaction confirmed at the followed depth (1), then reorged out with its block:
    the next send lands one nonce above what the chain has, and the node queues it. The
    gap is found, the lost transaction's journalled bytes go out again (not a no-op in
    its place), and the later one mines behind it."""
    world = devnet_fresh
    to = world.book.accounts[1].address
    world.anvil.mine(2)
    before = balance(world, to)
    async with make(world, bump_after_blocks=None) as evm:
        snapshot = world.anvil.snapshot()
        lost = await evm.send_and_wait(to=to, value=Decimal("0.1"))
        assert evm.monitor.following(str(lost.client_id)) is None  # settled: let go
        world.anvil.revert(snapshot)  # its block is gone, and the pool with it
        assert world.anvil.rpc("eth_getTransactionReceipt", [str(lost.hash)]) is None
        later = await evm.send(to=to, value=Decimal("0.2"))
        assert later.nonce == (lost.nonce or 0) + 1
        await later.wait(timeout=15)
        found = world.anvil.rpc("eth_getTransactionReceipt", [str(lost.attempts[0].hash)])
        assert found is not None  # the same bytes, mined again
        record = await evm.transaction(str(lost.client_id))
        assert record is not None
        await record.wait(timeout=10)
        assert record.state is TxState.CONFIRMED and len(record.attempts) == 1
        assert evm.metrics.gap_fills == 0  # nothing else took its nonce
    assert balance(world, to) - before == 3 * 10**17


async def test_19_a_closed_operator_replaces_nothing(devnet_fresh: World) -> None:
    """speed_up, cancel and restore on a closed operator are refused before anything is
    signed: nothing would follow a replacement sent now."""
    world = devnet_fresh
    async with make(world, bump_after_blocks=None) as evm:
        world.anvil.set_mining("manual")
        tx = await evm.send(to=world.book.accounts[1].address, value=Decimal("0.1"))
    assert tx.state is TxState.BROADCAST
    for replace in (evm.speed_up, evm.cancel):
        with pytest.raises(ConfigurationError, match="closed"):
            await replace(tx)
    with pytest.raises(ConfigurationError, match="closed"):
        await evm.restore()
    # nothing follows it any more: the wait says so at once instead of using up its timeout
    with pytest.raises(UnknownOutcome, match="closed"):
        await asyncio.wait_for(tx.wait(timeout=30), 5)
    assert len(tx.attempts) == 1
    assert pooled(world, tx.hash) is not None  # the original still holds its nonce alone
    pool = world.anvil.rpc("txpool_content", [])["pending"]
    mine = next(v for k, v in pool.items() if k.lower() == evm.owner.lower())
    assert list(mine) == [str(tx.nonce)]
    world.anvil.set_mining("auto")
