"""``chainops swap``: quote on Uniswap V2 or V3, confirm, send, wait for the fill."""

from __future__ import annotations

from typing import Any

import typer

from chainops.cli.dex import (
    DEFAULT_SLIPPAGE,
    SLIPPAGE_HELP,
    check_dex,
    confirm_plan,
    dex_context,
    parse_fees,
    parse_slippage,
)
from chainops.cli.format import plain
from chainops.cli.options import command
from chainops.cli.runtime import Runtime, out, parse_amount


@command(None, "swap", acts=True)
def swap(
    amount: str = typer.Argument(..., help="Amount in (or out with --exact-out)."),
    token_in: str = typer.Argument(..., help="Token sold (symbol, address or ETH)."),
    token_out: str = typer.Argument(..., help="Token bought."),
    via: str = typer.Option("", "--via", help="Intermediate tokens, comma-separated."),
    dex: str = typer.Option("v3", "--dex", help="v2 or v3."),
    fee: str = typer.Option("3000", "--fee", help="V3 fee tier(s), comma-separated per hop."),
    exact_out: bool = typer.Option(False, "--exact-out", help="AMOUNT is the output."),
    router: str | None = typer.Option(
        None, "--router", help="V3 router: SwapRouter or SwapRouter02 (default: from the book)."
    ),
    slippage: str = typer.Option(DEFAULT_SLIPPAGE, "--slippage", help=SLIPPAGE_HELP),
    deadline: int | None = typer.Option(None, "--deadline", help="Seconds from now (default 600)."),
    force: bool = typer.Option(False, "--force", help="Allow slippage above 50 %."),
    *,
    rt: Runtime,
) -> None:
    """Swap on Uniswap V2 or V3: quote, show, ask, send, wait for the fill."""
    from chainops.core.errors import ValidationError

    value = parse_amount(amount)
    tolerance = parse_slippage(slippage, force=force)
    check_dex(dex)
    fees = parse_fees(fee) if dex == "v3" else []
    if dex == "v2" and router is not None:
        raise ValidationError("--router chooses a Uniswap V3 router; --dex v2 has one")
    path = [token_in, *[t.strip() for t in via.split(",") if t.strip()], token_out]

    async def body() -> dict[str, Any]:
        from chainops.operators.dapps.uniswap.v2.operator import UniswapV2
        from chainops.operators.dapps.uniswap.v3.operator import UniswapV3

        async with dex_context(rt) as ctx:
            seconds = None if deadline is None else await ctx.deadline(None, deadline)
            opts: dict[str, Any] = {"slippage": tolerance, "deadline": seconds, "force": force}
            venue: Any
            if dex == "v2":
                venue = UniswapV2(ctx)
            else:
                venue = UniswapV3(ctx, router=router)
                opts["fee"] = fees[0] if len(fees) == 1 else fees
            method = venue.quote_exact_out if exact_out else venue.quote_exact_in
            quote = await method(path, value, **opts)
            confirm_plan(rt, ctx, "swap", quote.record())
            order = await venue.swap(quote)
            with rt.waiting_tx(str(order.execution)):
                order = await order.wait()
            return {"order": order.to_dict(), "quote": quote.record()}

    result = rt.run(body)
    if rt.as_json:
        rt.show(result)
        return
    order = result["order"]
    fill = order["fills"][0] if order["fills"] else {}
    shown = plain(fill)
    out.print(
        f"[green]{order['state']}[/green] {order['trading_pair']} "
        f"{shown.get('base_amount', '-')} -> {shown.get('quote_amount', '-')} "
        f"(tx {order['venue_id']})"
    )
