"""Our Binance adapter at the account's ORDERS limit (-1015): the placement over it fails
at once with RateLimited and its retry time, nothing else waits (a cancel goes out at
once), whether orders go over the WebSocket API or REST."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from cex_helpers import AMOUNT, ETH, adapter

from chainops.core.errors import RateLimited
from chainops.core.order import OrderState
from chainops.devnet.exchange import ExchangeSimulator

pytestmark = pytest.mark.integration

LIMITS = [("SECOND", 10, 2), ("DAY", 1, 1000)]  # two orders per ten seconds


@pytest.mark.parametrize("entry", ["websocket", "rest"])
async def test_the_order_over_the_limit_fails_at_once_and_cancels_still_go(entry: str) -> None:
    async with ExchangeSimulator(seed=3, order_limits=LIMITS) as sim:
        account = sim.create_account({"USDT": "100000", "ETH": "50"})
        op = adapter(sim, account, user_stream=False, order_entry=entry)
        try:
            await op.start()
            # within one window: its start is where the simulator's clock is now
            sim.faults.clock_skew_ms += -sim.now_ms() % 10_000 + 20
            placed = [
                await op.place(ETH, "BUY", "LIMIT", AMOUNT, Decimal(p)) for p in ("1900", "1901")
            ]
            assert all(o.state is OrderState.OPEN for o in placed)
            began = time.monotonic()
            with pytest.raises(RateLimited) as info:
                await op.place(ETH, "BUY", "LIMIT", AMOUNT, Decimal("1902"))
            assert "Too many new orders" in str(info.value)
            assert info.value.retry_after is not None and 0 < info.value.retry_after <= 10
            refused = [o for o in op.tracker.all() if o not in placed]
            assert [o.state for o in refused] == [OrderState.FAILED]
            # the limit is the account's new orders only: a cancel does not wait for it
            cancelled = await op.cancel(placed[0])
            assert cancelled.state is OrderState.CANCELED
            assert time.monotonic() - began < 2
        finally:
            await op.close()
