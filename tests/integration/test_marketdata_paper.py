"""Replay into the exchange simulator: the paper book follows recorded history and the
Binance adapter trades against it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from chainops.devnet.exchange import ExchangeSimulator
from chainops.marketdata import Recorder, Replayer
from chainops.marketdata.paper import BookMirror
from chainops.operators.exchanges.market_events import Orderbook
from tests.integration.cex_helpers import adapter
from tests.integration.marketdata_helpers import sample_events

pytestmark = pytest.mark.integration


async def test_adapter_trades_against_replayed_books(tmp_path: Path) -> None:
    books = [e for e in sample_events(50) if isinstance(e, Orderbook)]
    with Recorder(tmp_path) as rec:
        for b in books:
            rec.record(b)
    # No seeded liquidity: the only resting orders are the replayed ones.
    async with ExchangeSimulator(seed=1, liquidity_levels=0) as sim:
        maker_acc = sim.create_account({"USDT": "1000000", "ETH": "500"})
        taker_acc = sim.create_account({"USDT": "100000", "ETH": "50"})
        async with adapter(sim, maker_acc) as maker, adapter(sim, taker_acc) as taker:
            mirror = BookMirror(maker)
            assert await Replayer(tmp_path).replay("binance", "ETH-USDT", mirror) == len(books)
            last = books[-1]
            resting = await maker.open_orders("ETH-USDT")
            assert sorted(o.price for o in resting) == sorted(
                [p for p, _ in last.bids] + [p for p, _ in last.asks]
            )
            buy = await taker.place("ETH-USDT", "buy", "market", Decimal("0.01"))
            await buy.wait(timeout=30)
            sell = await taker.place("ETH-USDT", "sell", "market", Decimal("0.01"))
            await sell.wait(timeout=30)
    assert {f.price for f in buy.fills.values()} == {last.asks[0][0]}
    assert {f.price for f in sell.fills.values()} == {last.bids[0][0]}
