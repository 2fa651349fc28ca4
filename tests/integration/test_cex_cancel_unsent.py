"""Cancelling an order whose placement never reached the venue ends it CANCELED, not stuck."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from cex_helpers import AMOUNT, ETH, venue

from chainops.core.order import Order, OrderState

BID = Decimal("1999.80")


async def test_cancel_of_an_order_journalled_but_never_sent_ends_canceled(tmp_path: Path) -> None:
    journal = str(tmp_path / "journal.db")
    async with venue() as (sim, account, make):
        first = await make(journal_path=journal, recv_window_ms=300).start()
        # the process journals an order, then stops before sending it
        unsent = Order(
            client_id=first.ids.next(),
            platform=first.platform.name,
            owner=first.owner,
            trading_pair=ETH,
            side="BUY",
            order_type="LIMIT",
            amount=AMOUNT,
            price=BID,
        )
        first.tracker.add(unsent)
        await first.close()
        op = await make(journal_path=journal, recv_window_ms=300).start()
        restored = op.tracker.get(unsent.client_id)
        assert restored is not None and restored.state is OrderState.UNKNOWN
        await op.cancel(restored)  # asked before its receive window closed: the venue knows none
        assert restored.state is OrderState.PENDING_CANCEL
        async with asyncio.timeout(5):
            while not restored.is_terminal:
                await asyncio.sleep(0.02)
        assert restored.state is OrderState.CANCELED
        assert restored.client_id not in sim.order_requests
        assert sim.engine.open_orders(account, "ETHUSDT") == []


async def test_cancel_after_the_window_closed_needs_no_venue_answer(tmp_path: Path) -> None:
    journal = str(tmp_path / "journal.db")
    async with venue() as (sim, _, make):
        first = await make(journal_path=journal, recv_window_ms=100).start()
        unsent = Order(
            client_id=first.ids.next(),
            platform=first.platform.name,
            owner=first.owner,
            trading_pair=ETH,
            side="SELL",
            order_type="LIMIT",
            amount=AMOUNT,
            price=BID + 1,
        )
        first.tracker.add(unsent)
        await first.close()
        op = make(journal_path=journal, recv_window_ms=100)
        await asyncio.sleep(1.2)  # past the window and its one-second margin
        await op.start()
        restored = op.tracker.get(unsent.client_id)
        assert restored is not None and restored.state is OrderState.FAILED  # never sent
        # an UNKNOWN order cancelled once the window closed ends at once
        other = Order(
            client_id=op.ids.next(),
            platform=op.platform.name,
            owner=op.owner,
            trading_pair=ETH,
            side="SELL",
            order_type="LIMIT",
            amount=AMOUNT,
            price=BID + 1,
            created_at=restored.created_at,
        )
        op.tracker.add(other)
        op.tracker.transition(other, OrderState.UNKNOWN, reason="no reply")
        await op.cancel(other)
        assert other.state is OrderState.CANCELED
        assert other.client_id not in sim.order_requests
