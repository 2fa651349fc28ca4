"""The DEX part of the demo: a V2 swap, a V3 swap, a V3 position minted, swaps through it,
fees collected, the position closed, and a summary. ``scripts/demo.py`` calls
``run_dex_demo(world, console)``; run alone with ``python scripts/demo_dex.py``.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from chainops.core.journal import open_journal
from chainops.core.order import Order
from chainops.devnet.world import World
from chainops.operators.base import OperatorFactory
from chainops.operators.dapps import DexContext, UniswapV2, UniswapV3, V3Positions, Weth
from chainops.operators.evm.operator import EvmOperator


def _operator(world: World, index: int) -> EvmOperator:
    # a throwaway world: a journal in memory, on purpose (a file would outlive the chain)
    evm = OperatorFactory.create(
        "devnet", cache=False, rpc_url=world.rpc_url,
        private_key=world.book.accounts[index].private_key, journal=open_journal(None),
    )  # fmt: skip
    assert isinstance(evm, EvmOperator)
    return evm


def _order_row(table: Table, label: str, order: Order) -> None:
    fill = next(iter(order.fills.values()))
    quote = order.quote or {}
    table.add_row(
        label,
        str(quote.get("path")),
        f"{fill.base_amount} -> {fill.quote_amount}",
        f"{quote.get('min_out')}",
        f"{Decimal(str(quote.get('price_impact'))):.4%}",
        str(order.network_fee),
        order.state.name,
    )


async def run_dex_demo(world: World, console: Console) -> None:
    """Wrap, swap on V2 and V3, provide V3 liquidity, earn and collect fees, close."""
    async with _operator(world, 2) as evm, _operator(world, 4) as trader_evm:
        ctx, trader = DexContext(evm, world.book), DexContext(trader_evm, world.book)
        v2, v3, lp = UniswapV2(ctx), UniswapV3(ctx), V3Positions(ctx)
        console.print(f"\n[bold]DEX demo[/bold] as {evm.owner}")

        await (await Weth(ctx).wrap(Decimal(2))).wait()
        console.print("  wrapped 2 ETH into WETH (deposit())")

        swaps = Table(title="swaps (each an Order filled from its Swap logs)", title_justify="left")
        for column in ("venue", "path", "paid -> got", "min out", "impact", "gas", "state"):
            swaps.add_column(column)
        q2 = await v2.quote_exact_in(["WETH", "USDC"], Decimal("1"), slippage="0.5%")
        _order_row(swaps, "Uniswap V2", await (await v2.swap(q2)).wait())
        q3 = await v3.quote_exact_in(["WETH", "USDC"], Decimal("1"), fee=500, slippage="0.3%")
        _order_row(swaps, "Uniswap V3 0.05 %", await (await v3.swap(q3)).wait())
        console.print(swaps)

        plan = await lp.plan_mint(
            "WETH", "USDC", 500, Decimal(2), Decimal(4000), price_range=("1950", "2050")
        )
        _, token_id = await lp.mint(plan)
        console.print(
            f"  minted V3 position #{token_id}: ticks [{plan.tick_lower}, {plan.tick_upper}], "
            f"liquidity {plan.liquidity}"
        )
        other = UniswapV3(trader)
        for path, amount in ((["ETH", "USDC"], Decimal(15)), (["USDC", "WETH"], Decimal(25_000))):
            await (await other.swap(await other.quote_exact_in(path, amount, fee=500))).wait()
        console.print("  another account swapped 15 ETH -> USDC and 25,000 USDC -> WETH through it")

        earned = await lp.position(token_id)
        await (await lp.collect(token_id)).wait()
        closed = await lp.close(token_id)
        t0, t1 = earned.token0.symbol, earned.token1.symbol
        summary = Table(title=f"V3 position #{token_id}", title_justify="left")
        summary.add_column("field")
        summary.add_column("value")
        summary.add_row("range", f"{earned.price_lower:.2f} - {earned.price_upper:.2f} {t1}/{t0}")
        summary.add_row("in range", str(earned.in_range))
        summary.add_row("fees collected", f"{earned.fees0} {t0} + {earned.fees1} {t1}")
        summary.add_row("withdrawn at close", f"{closed.amount0} {t0} + {closed.amount1} {t1}")
        summary.add_row("positions left", str(len(await lp.positions())))
        console.print(summary)


async def _main() -> None:
    with World.start() as world, world.fork() as fork:
        await run_dex_demo(fork, Console())


if __name__ == "__main__":
    asyncio.run(_main())
