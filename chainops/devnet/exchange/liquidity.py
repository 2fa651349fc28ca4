"""Seeded market-maker liquidity and an opening tape, so a paper user sees a real market."""

from __future__ import annotations

import random

from chainops.devnet.exchange.accounts import Account
from chainops.devnet.exchange.engine import Engine, Result

__all__ = ["MAKER_KEY", "seed_liquidity"]

MAKER_KEY = "market-maker"  # the seeded maker's API key and secret
SPREAD_TICKS = 50  # distance between the maker's levels, in ticks
OPENING_TRADES = 4  # matches at the mid price, so tickers and klines start with data


def seed_liquidity(
    engine: Engine, maker: Account, seed: int, levels: int, now: int
) -> list[Result]:
    """Trade a little at each mid price, then rest ``levels`` bids and asks around it.

    Same seed, same book and tape; the opening trades leave the book as if
    they had not happened (each crosses only its own resting order).
    """
    rng = random.Random(seed)
    results: list[Result] = []
    for spec in engine.specs.values():
        span = spec.tick_size * SPREAD_TICKS
        min_lots = int((spec.min_notional / spec.mid_price) / spec.step_size) + 1
        for i in range(OPENING_TRADES):
            qty = spec.step_size * min_lots * rng.randint(1, 5)
            maker.deposit(spec.base, qty)
            maker.deposit(spec.quote, qty * spec.mid_price)
            rest, take = ("SELL", "BUY") if i % 2 == 0 else ("BUY", "SELL")
            for side, tif in ((rest, "GTC"), (take, "IOC")):
                results.append(
                    engine.place(
                        maker,
                        spec,
                        side=side,
                        type="LIMIT",
                        tif=tif,
                        price=spec.mid_price,
                        qty=qty,
                        client_id=f"mmo{i}{side[0].lower()}",
                        now=now,
                    )
                )
        for i in range(1, levels + 1):
            lots = [min_lots * rng.randint(2, 40) for _ in range(2)]
            bid_qty, ask_qty = (spec.step_size * n for n in lots)
            maker.deposit(spec.quote, bid_qty * spec.mid_price)
            maker.deposit(spec.base, ask_qty)
            for side, price, qty, name in (
                ("BUY", spec.mid_price - span * i, bid_qty, f"mmb{i}"),
                ("SELL", spec.mid_price + span * i, ask_qty, f"mma{i}"),
            ):
                results.append(
                    engine.place(
                        maker,
                        spec,
                        side=side,
                        type="LIMIT",
                        tif="GTC",
                        price=price,
                        qty=qty,
                        client_id=name,
                        now=now,
                    )
                )
    return results
