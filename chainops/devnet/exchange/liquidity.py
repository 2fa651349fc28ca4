"""Seeded market-maker liquidity, so a paper user sees a real book."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chainops.devnet.exchange.server import ExchangeSimulator

__all__ = ["seed_liquidity"]

SPREAD_TICKS = 50  # distance between the maker's levels, in ticks


def seed_liquidity(sim: ExchangeSimulator, seed: int, levels: int) -> None:
    """Rest ``levels`` bids and asks around each symbol's mid price (same seed, same book)."""
    rng = random.Random(seed)
    maker = sim.create_account(api_key="market-maker", secret="market-maker")
    for spec in sim.engine.specs.values():
        span = spec.tick_size * SPREAD_TICKS
        min_lots = int((spec.min_notional / spec.mid_price) / spec.step_size) + 1
        total_base = Decimal(0)
        for i in range(1, levels + 1):
            lots = [min_lots * rng.randint(2, 40) for _ in range(2)]
            bid_qty, ask_qty = (spec.step_size * n for n in lots)
            maker.deposit(spec.quote, bid_qty * spec.mid_price)
            maker.deposit(spec.base, ask_qty)
            total_base += ask_qty
            sim.place_direct(
                maker,
                spec.symbol,
                side="BUY",
                type="LIMIT",
                tif="GTC",
                price=spec.mid_price - span * i,
                qty=bid_qty,
                client_id=f"mmb{i}",
            )
            sim.place_direct(
                maker,
                spec.symbol,
                side="SELL",
                type="LIMIT",
                tif="GTC",
                price=spec.mid_price + span * i,
                qty=ask_qty,
                client_id=f"mma{i}",
            )
