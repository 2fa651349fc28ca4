"""The Binance adapter against the exchange simulator runs the whole conformance suite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from exchange_suite import ExchangeConformance, VenueHarness

from chainops.core.ids import TradingPair
from chainops.core.order import OrderSide
from chainops.devnet.exchange import ExchangeSimulator
from chainops.operators.exchanges import BinanceSpot, ExchangeOperator


class SimulatorHarness(VenueHarness):
    def __init__(self, sim: ExchangeSimulator, journal_dir: Path) -> None:
        self.sim = sim
        self.journal_dir = journal_dir
        self.pair = TradingPair("ETH-USDT")
        self.amount = Decimal("0.01")
        self.account = sim.create_account({"USDT": "100000", "ETH": "50"})
        self.other = sim.create_account({"USDT": "100000", "ETH": "50"})
        self.operators: list[ExchangeOperator] = []
        self._n = 0

    async def operator(self, **options: Any) -> ExchangeOperator:
        op = BinanceSpot.connect(
            self.account.api_key,
            self.account.secret,
            base_url=self.sim.url,
            stream_url=self.sim.stream_url,
            ws_api_url=self.sim.ws_api_url,
            **options,
        )
        self.operators.append(op)
        return await op.start()

    def passive_price(self, side: OrderSide) -> Decimal:
        return Decimal("1999.90") if side is OrderSide.BUY else Decimal("2000.10")

    def aggressive_price(self, side: OrderSide) -> Decimal:
        return Decimal("2001.00") if side is OrderSide.BUY else Decimal("1999.00")

    async def counterparty_take(self, side: OrderSide, price: Decimal, amount: Decimal) -> None:
        self._n += 1
        self.sim.place_direct(
            self.other,
            "ETHUSDT",
            side=side.value,
            type="LIMIT",
            tif="IOC",
            price=price,
            qty=amount,
            client_id=f"other{self._n}",
        )

    def placements(self, client_id: str) -> int:
        return self.sim.order_requests.get(client_id, 0)

    async def drop_next_reply(self) -> None:
        self.sim.faults.drop_after_execute = 1

    async def close(self) -> None:
        for op in self.operators:
            await op.close()


class TestBinanceOnSimulator(ExchangeConformance):
    @pytest.fixture
    async def harness(self, tmp_path: Path) -> AsyncIterator[VenueHarness]:
        async with ExchangeSimulator(seed=7) as sim:
            harness = SimulatorHarness(sim, tmp_path)
            yield harness
            await harness.close()
