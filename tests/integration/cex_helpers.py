"""Shared setup for the exchange tests: a simulator, a funded account, an adapter factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from chainops.devnet.exchange import ExchangeSimulator
from chainops.devnet.exchange.accounts import Account
from chainops.operators.exchanges import BinanceSpot

ETH = "ETH-USDT"
AMOUNT = Decimal("0.01")


def adapter(sim: ExchangeSimulator, account: Account, **options: Any) -> BinanceSpot:
    return BinanceSpot.connect(
        account.api_key,
        account.secret,
        base_url=sim.url,
        stream_url=sim.stream_url,
        ws_api_url=sim.ws_api_url,
        **options,
    )


@asynccontextmanager
async def venue(
    seed: int = 3, **options: Any
) -> AsyncIterator[tuple[ExchangeSimulator, Account, Callable[..., BinanceSpot]]]:
    """A simulator, a funded account and a factory of adapters closed on exit."""
    made: list[BinanceSpot] = []

    def make(**extra: Any) -> BinanceSpot:
        op = adapter(sim, account, **(options | extra))
        made.append(op)
        return op

    async with ExchangeSimulator(seed=seed) as sim:
        account = sim.create_account({"USDT": "100000", "ETH": "50", "BTC": "2"})
        try:
            yield sim, account, make
        finally:
            for op in made:
                await op.close()
