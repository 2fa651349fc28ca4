"""Fault tests: each switch of the simulator against the adapter's outcome rules."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest
from cex_helpers import AMOUNT, ETH, venue

from chainops.core.errors import RateLimited
from chainops.core.order import OrderState


async def _until(predicate: object, timeout: float = 10.0) -> None:
    assert callable(predicate)
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_dropped_reply_after_execution_is_found_by_client_id() -> None:
    async with venue() as (sim, _, make):
        op = await make(user_stream=False).start()  # only the query by client id can tell
        sim.faults.drop_after_execute = 1
        order = await op.place(ETH, "BUY", "LIMIT", AMOUNT, Decimal("1999.90"))
        assert order.state is OrderState.UNKNOWN
        await _until(lambda: order.state is OrderState.OPEN)
        assert sim.order_requests[order.client_id] == 1
        assert len(sim.engine.open_orders(sim.accounts[op.config.api_key], "ETHUSDT")) == 1


async def test_dropped_reply_of_a_filled_order_recovers_its_fills() -> None:
    async with venue() as (sim, _, make):
        op = await make(user_stream=False).start()
        sim.faults.drop_after_execute = 1
        order = await op.place(ETH, "BUY", "MARKET", Decimal("0.2"))
        await _until(lambda: order.state is OrderState.FILLED)
        assert order.filled_base == Decimal("0.2") and len(order.fills) >= 2
        assert sim.order_requests[order.client_id] == 1


async def test_reply_dropped_after_the_stream_reported_the_fill_returns_the_order() -> None:
    async with venue() as (sim, _, make):
        op = await make().start()
        for n in range(5):
            sim.faults.drop_after_execute = 1
            sim.faults.drop_delay_seconds = 0.2  # the user stream's report lands first
            order = await op.place(ETH, "BUY" if n % 2 else "SELL", "MARKET", AMOUNT)
            assert order.state is OrderState.FILLED  # not UNKNOWN, and no exception
            assert order.filled_base == AMOUNT and order.fills
            assert sim.order_requests[order.client_id] == 1
        sim.faults.drop_after_execute = 1
        resting = await op.place(ETH, "BUY", "LIMIT", AMOUNT, Decimal("1999.90"))
        assert resting.state is OrderState.OPEN
        assert sim.order_requests[resting.client_id] == 1


async def test_websocket_cut_during_fills_recovers_fills_over_rest_once() -> None:
    async with venue() as (sim, account, make):
        other = sim.create_account({"USDT": "100000"})
        op = await make().start()
        price = Decimal("2000.10")
        order = await op.place(ETH, "SELL", "LIMIT", AMOUNT * 3, price)

        def take(n: int) -> None:
            sim.place_direct(
                other,
                "ETHUSDT",
                side="BUY",
                type="LIMIT",
                tif="IOC",
                price=price,
                qty=AMOUNT,
                client_id=f"t{n}",
            )

        take(1)
        await _until(lambda: len(order.fills) == 1)
        assert await sim.disconnect_websockets(market=False) == 1
        take(2)
        take(3)  # both while the user stream is down: only REST can tell us
        await _until(lambda: order.state is OrderState.FILLED)
        trade_ids = {str(t.trade_id) for t in sim.engine.trades[account.api_key]}
        assert set(order.fills) == trade_ids and len(order.fills) == 3
        assert order.filled_base == AMOUNT * 3
        assert op.user_stream is not None and op.user_stream.connects == 2


async def test_skipped_depth_diff_resyncs_that_pair_only() -> None:
    async with venue() as (sim, _, make):
        other = sim.create_account({"USDT": "100000", "ETH": "10"})
        op = await make().start()
        eth, btc = await op.watch_book(ETH), await op.watch_book("BTC-USDT")
        sim.faults.skip_depth_diffs = 1
        for n, price in enumerate(("1999.80", "1999.70")):
            sim.place_direct(
                other,
                "ETHUSDT",
                side="BUY",
                type="LIMIT",
                tif="GTC",
                price=Decimal(price),
                qty=AMOUNT,
                client_id=f"d{n}",
            )
        truth = sim.book("ETHUSDT")
        await _until(lambda: eth.synced and eth.last_update_id == truth.update_id)
        assert op.resync_count[eth.trading_pair] == 2
        assert op.resync_count[btc.trading_pair] == 1
        full = truth.depth(10_000)
        assert [[f"{p:.8f}", f"{q:.8f}"] for p, q in eth.bids()] == full["bids"]
        assert [[f"{p:.8f}", f"{q:.8f}"] for p, q in eth.asks()] == full["asks"]
        assert eth.best_bid is not None and eth.best_bid[0] == Decimal("1999.80")


async def test_429_waits_retry_after_then_succeeds() -> None:
    async with venue() as (sim, _, make):
        op = await make().start()
        sim.weights.forced_retry_after = 1
        balances = await op.balances()
        assert balances["USDT"].free == Decimal("100000")
        assert op.rest.limiter.waits and op.rest.limiter.waits[-1] >= 0.9


async def test_418_ban_stops_every_request() -> None:
    async with venue() as (sim, _, make):
        op = await make().start()
        sim.weights.banned_until = sim.now_ms() + 120_000
        with pytest.raises(RateLimited):
            await op.balances()
        sim.weights.banned_until = 0
        used = sim.weights.used
        with pytest.raises(RateLimited):
            await op.balances()  # refused locally: the venue hears nothing during a ban
        assert sim.weights.used == used


async def test_server_error_on_place_is_unknown_then_failed_after_the_window() -> None:
    async with venue() as (sim, _, make):
        op = await make(recv_window_ms=300, user_stream=False).start()
        sim.faults.server_errors = 1
        order = await op.place(ETH, "BUY", "LIMIT", AMOUNT, Decimal("1999.90"))
        assert order.state is OrderState.UNKNOWN  # a 5xx is not a refusal
        await _until(lambda: order.state is OrderState.FAILED)
        assert order.error is not None and sim.order_requests.get(order.client_id) is None


async def test_slow_reply_times_out_to_unknown_and_reconciles() -> None:
    async with venue() as (sim, _, make):
        op = await make(request_timeout=0.3).start()
        sim.faults.delay_seconds = 0.6
        order = await op.place(ETH, "BUY", "LIMIT", AMOUNT, Decimal("1999.90"))
        assert order.state is OrderState.UNKNOWN
        sim.faults.delay_seconds = 0
        await _until(lambda: order.state is OrderState.OPEN)
        assert sim.order_requests[order.client_id] == 1


async def test_clock_skew_resyncs_and_retries_once() -> None:
    async with venue() as (sim, _, make):
        op = await make().start()
        sim.faults.clock_skew_ms = -8_000
        order = await op.place(ETH, "BUY", "LIMIT", AMOUNT, Decimal("1999.90"))
        assert order.state is OrderState.OPEN
        assert op.rest.clock.offset_ms < -7_000


async def test_seeded_faults_repeat() -> None:
    async with venue(seed=11) as (sim, _, _make):
        sim.faults.error_rate = 0.5
        first = [sim.faults.take_server_error() for _ in range(20)]
    async with venue(seed=11) as (sim, _, _make):
        sim.faults.error_rate = 0.5
        assert [sim.faults.take_server_error() for _ in range(20)] == first


async def test_crash_between_journal_and_send_fails_only_after_the_window(tmp_path: Path) -> None:
    from chainops.core.order import Order

    journal = tmp_path / "crash.sqlite"
    async with venue() as (sim, _, make):
        first = await make(journal_path=journal, recv_window_ms=300, user_stream=False).start()
        never_sent = Order(
            client_id=first.ids.next(), platform="binance", owner=first.owner,
            trading_pair=ETH, side="BUY", order_type="LIMIT", amount=AMOUNT,
            price=Decimal("1999.90"),
        )  # fmt: skip
        first.tracker.add(never_sent)  # journalled, then the process "dies" before sending
        await first.close()
        second = await make(journal_path=journal, recv_window_ms=300, user_stream=False).start()
        restored = second.tracker.get(never_sent.client_id)
        assert restored is not None and restored.state is OrderState.UNKNOWN  # not FAILED yet
        await _until(lambda: restored is not None and restored.state is OrderState.FAILED)
        assert sim.order_requests.get(never_sent.client_id) is None


async def test_user_stream_survives_a_clock_step_during_reconnect() -> None:
    async with venue() as (sim, _, make):
        other = sim.create_account({"USDT": "100000"})
        op = await make().start()
        price = Decimal("2000.10")
        order = await op.place(ETH, "SELL", "LIMIT", AMOUNT, price)
        sim.faults.clock_skew_ms = 30_000  # the venue's clock jumps, then the socket drops
        await sim.disconnect_websockets(market=False)
        assert op.user_stream is not None
        await _until(lambda: op.user_stream is not None and op.user_stream.connects == 2)
        sim.place_direct(other, "ETHUSDT", side="BUY", type="LIMIT", tif="IOC",
                         price=price, qty=AMOUNT, client_id="late")  # fmt: skip
        await _until(lambda: order.state is OrderState.FILLED)


async def test_limiter_adopts_the_venues_weight_limit() -> None:
    async with venue() as (sim, _, make):
        sim.weights.limit = 1200
        op = await make(user_stream=False).start()
        assert op.rest.limiter.limit == 1200
        await op.balances()
        assert op.rest.limiter.used == sim.weights.used  # the header is the truth
