"""CEX demo: a limit order that fills on the local exchange simulator."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from chainops.core.events import OrderCompleted, OrderEvent
from chainops.devnet.exchange import ExchangeSimulator
from chainops.operators.exchanges import BinanceSpot


def _d(value: Decimal | None) -> str:
    """A Decimal without the venue's trailing zeros, for display."""
    return "-" if value is None else f"{value.normalize():f}"


async def run_cex_demo(console: Console) -> None:
    """Start the simulator, buy 0.25 ETH with a limit order that fills, print a summary, stop."""
    console.print("\n[bold]CEX[/bold]: starting the Binance-compatible exchange simulator…")
    async with ExchangeSimulator(seed=42) as sim:
        account = sim.create_account({"USDT": "10000"})
        console.print(f"  listening on {sim.url} (REST), {sim.ws_api_url} (WebSocket API)")
        async with BinanceSpot.connect(
            account.api_key,
            account.secret,
            base_url=sim.url,
            stream_url=sim.stream_url,
            ws_api_url=sim.ws_api_url,
        ) as cex:
            book = await cex.watch_book("ETH-USDT")
            ask = book.best_ask
            assert ask is not None
            amount = Decimal("0.25")
            vwap = book.vwap("BUY", amount)
            console.print(
                f"  book synced: best bid {_d(book.best_bid[0] if book.best_bid else None)}, "
                f"best ask {_d(ask[0])}, mid {_d(book.mid)}; "
                f"VWAP to buy {amount} ETH: {_d(vwap)}"
            )
            rule = cex.rule("ETH-USDT")
            # a limit a little above the ask: it takes liquidity at once and fills
            price = rule.quantize_price(ask[0] * Decimal("1.005"))
            done: list[OrderEvent] = []
            cex.events.subscribe(OrderCompleted, done.append)
            order = await cex.place("ETH-USDT", "BUY", "LIMIT", amount, price)
            console.print(f"  placed {order.client_id}: BUY {amount} ETH-USDT LIMIT @ {_d(price)}")
            await order.wait(timeout=10)
            balances = await cex.balances()

        table = Table("fill id", "price", "ETH", "USDT", "fee", title=f"order {order.client_id}")
        for fill in order.fills.values():
            table.add_row(
                fill.fill_id,
                _d(fill.price),
                _d(fill.base_amount),
                _d(fill.quote_amount),
                "-" if fill.fee is None else f"{_d(fill.fee.amount)} {fill.fee.asset}",
            )
        console.print(table)
        console.print(
            f"  state {order.state.name}, venue id {order.venue_id}, "
            f"filled {_d(order.filled_base)} ETH at an average {order.average_price:.2f} USDT; "
            f"completion event received: {bool(done)}"
        )
        console.print(
            "  balances now: "
            + ", ".join(f"{_d(b.free)} {asset} free" for asset, b in sorted(balances.items()))
        )
    console.print("  simulator stopped")


if __name__ == "__main__":
    asyncio.run(run_cex_demo(Console()))
