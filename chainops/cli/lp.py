"""``chainops lp``: Uniswap V3 positions, and V2 pairs with ``--dex v2``."""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from chainops.cli.dex import (
    DEFAULT_SLIPPAGE,
    SLIPPAGE_HELP,
    check_dex,
    confirm_plan,
    dex_context,
    owner_address,
    parse_slippage,
)
from chainops.cli.format import plain
from chainops.cli.options import command
from chainops.cli.runtime import Runtime, out, parse_amount

lp_app = typer.Typer(
    help="Liquidity: V3 positions (and V2 pairs with --dex v2).", no_args_is_help=True
)
DEX = typer.Option("v3", "--dex", help="v2 or v3.")
SLIPPAGE = typer.Option(DEFAULT_SLIPPAGE, "--slippage", help=SLIPPAGE_HELP)
FORCE = typer.Option(False, "--force", help="Allow slippage above 50 %.")


async def _mined(rt: Runtime, tx: Any) -> Any:
    """Wait for ``tx``; Ctrl-C says how to resume."""
    with rt.waiting_tx(str(tx.client_id)):
        await tx.wait()
    return tx


def _range(text: str) -> tuple[str, str]:
    low, sep, high = text.partition(":")
    if not sep:
        raise typer.BadParameter("--range is LOW:HIGH, e.g. 1800:2200")
    return low.strip(), high.strip()


def _side_amount(text: str, what: str) -> None:
    """A plain positive decimal, or zero (a one-sided position)."""
    from chainops.core.errors import InvalidAmount

    try:
        parse_amount(text, what)
    except InvalidAmount:
        value = text.strip()
        if value in ("", ".") or value.strip("0.") != "":
            raise


def _token_id(text: str) -> int:
    if not text.isdigit():
        raise typer.BadParameter(f"a V3 position is a token id, not {text!r}")
    return int(text)


@command(lp_app, "add", acts=True)
def lp_add(
    token_a: str = typer.Argument(...),
    token_b: str = typer.Argument(...),
    fee: int = typer.Option(3000, "--fee", help="V3 fee tier."),
    price_range: str = typer.Option("", "--range", help="Price of A in B: LOW:HIGH."),
    amount0: str = typer.Option("0", "--amount0", help="Amount of token A."),
    amount1: str = typer.Option("0", "--amount1", help="Amount of token B."),
    dex: str = DEX,
    slippage: str = SLIPPAGE,
    force: bool = FORCE,
    *,
    rt: Runtime,
) -> None:
    """Add liquidity: mint a V3 position in a price range, or deposit into a V2 pair."""
    tolerance = parse_slippage(slippage, force=force)
    check_dex(dex)
    _side_amount(amount0, "--amount0")
    _side_amount(amount1, "--amount1")
    low_high = _range(price_range) if dex == "v3" else ("", "")

    async def body() -> dict[str, Any]:
        from chainops.operators.dapps.uniswap.v2.operator import UniswapV2
        from chainops.operators.dapps.uniswap.v3.positions import V3Positions

        async with dex_context(rt) as ctx:
            if dex == "v2":
                v2 = UniswapV2(ctx)
                plan = await v2.plan_add_liquidity(
                    token_a, token_b, amount0, amount1, slippage=tolerance, force=force
                )
                a, b = plan.token_a, plan.token_b
                confirm_plan(rt, ctx, "add liquidity (V2)", {
                    "pair": f"{a.symbol}/{b.symbol}",
                    "amount_a": a.from_raw(plan.amount_a), "amount_b": b.from_raw(plan.amount_b),
                    "min_a": a.from_raw(plan.min_a), "min_b": b.from_raw(plan.min_b),
                })  # fmt: skip
                await _mined(rt, await v2.add_liquidity(plan))
                pos = await v2.position(token_a, token_b)
                return {"pair": pos.pair, "lp_balance": pos.liquidity, "share": pos.share}
            lp = V3Positions(ctx)
            p = await lp.plan_mint(
                token_a, token_b, fee, amount0, amount1, price_range=low_high,
                slippage=tolerance, force=force,
            )  # fmt: skip
            t0, t1 = p.token0, p.token1
            confirm_plan(rt, ctx, "mint V3 position", {
                "pool": f"{t0.symbol}/{t1.symbol} {fee}",
                "ticks": f"{p.tick_lower}:{p.tick_upper}",
                "expected0": t0.from_raw(p.expected[0]), "expected1": t1.from_raw(p.expected[1]),
                "min0": t0.from_raw(p.minimum[0]), "min1": t1.from_raw(p.minimum[1]),
            })  # fmt: skip
            tx, token_id = await lp.mint(p)
            return {"tx": str(tx.hash), **(await lp.position(token_id)).to_dict()}

    rt.show(rt.run(body), "liquidity added")


@command(lp_app, "remove", acts=True)
def lp_remove(
    position: str = typer.Argument(..., help="V3 token id, or TOKEN_A/TOKEN_B with --dex v2."),
    dex: str = DEX,
    slippage: str = SLIPPAGE,
    *,
    rt: Runtime,
) -> None:
    """Remove all liquidity: close a V3 position (decrease, collect, burn) or exit a V2 pair."""
    tolerance = parse_slippage(slippage)
    check_dex(dex)
    token_id = _token_id(position) if dex == "v3" else 0

    async def body() -> dict[str, Any]:
        from chainops.operators.dapps.uniswap.v2.operator import UniswapV2
        from chainops.operators.dapps.uniswap.v3.positions import V3Positions

        async with dex_context(rt) as ctx:
            if dex == "v2":
                a, _, b = position.partition("/")
                v2 = UniswapV2(ctx)
                plan = await v2.plan_remove_liquidity(a, b, slippage=tolerance)
                confirm_plan(rt, ctx, "remove liquidity (V2)", {
                    "pair": position, "lp": plan.liquidity,
                })  # fmt: skip
                tx = await _mined(rt, await v2.remove_liquidity(plan))
                return {"tx": str(tx.hash), "removed_lp": plan.liquidity}
            lp = V3Positions(ctx)
            owned = await lp.own_position(token_id)  # another account's: refused before asking
            confirm_plan(rt, ctx, "close V3 position", owned.to_dict())
            closed = await lp.close(token_id, slippage=tolerance)
            return dict(closed.to_dict()) | {"closed": True}

    rt.show(rt.run(body), "liquidity removed")


@command(lp_app, "collect", acts=True)
def lp_collect(position: str = typer.Argument(..., help="V3 token id."), *, rt: Runtime) -> None:
    """Collect a V3 position's fees; sends nothing when none are owed."""
    token_id = _token_id(position)

    async def body() -> dict[str, Any]:
        from chainops.operators.dapps.uniswap.v3.positions import V3Positions

        async with dex_context(rt) as ctx:
            lp = V3Positions(ctx)
            owed = await lp.own_position(token_id)  # another account's: refused, not "none owed"
            result: dict[str, Any] = {"token_id": token_id, "collected0": owed.fees0,
                                      "collected1": owed.fees1}  # fmt: skip
            if owed.fees0 == 0 and owed.fees1 == 0:
                return result | {"tx": None}
            confirm_plan(rt, ctx, "collect fees", {
                "position": token_id, "fees0": owed.fees0, "fees1": owed.fees1,
            })  # fmt: skip
            tx = await _mined(rt, await lp.collect(token_id))
            return result | {"tx": str(tx.hash)}

    result = rt.run(body)
    rt.show(result, "fees collected" if result["tx"] else "nothing owed: no transaction sent")


_V3_COLUMNS = ("token_id", "pair", "fee", "prices", "amount0", "amount1", "fees0", "fees1",
               "in_range")  # fmt: skip
_V2_COLUMNS = ("pair", "tokens", "lp_balance", "share", "amount_a", "amount_b")


@command(lp_app, "list", account=True)
def lp_list(
    owner: str | None = typer.Option(None, "--owner", help="Default: the account's."),
    dex: str = DEX,
    *,
    rt: Runtime,
) -> None:
    """List positions: V3 with amounts, range and uncollected fees; V2 pairs with a balance."""
    check_dex(dex)
    owner = owner_address(owner)

    async def body() -> list[dict[str, Any]]:
        from chainops.operators.dapps.uniswap.v2.operator import UniswapV2
        from chainops.operators.dapps.uniswap.v3.positions import V3Positions

        async with dex_context(rt, owner=owner) as ctx:
            if dex == "v3":
                return [p.to_dict() for p in await V3Positions(ctx).positions(owner)]
            v2 = UniswapV2(ctx)
            rows = []
            for pool in ctx.book.pools:
                if pool.dex != "uniswap-v2":
                    continue
                pos = await v2.position(pool.token0, pool.token1, owner)
                if pos.liquidity:
                    rows.append({
                        "pair": pos.pair, "tokens": f"{pos.token_a.symbol}/{pos.token_b.symbol}",
                        "lp_balance": pos.liquidity, "share": pos.share,
                        "amount_a": pos.amount_a, "amount_b": pos.amount_b,
                    })  # fmt: skip
            return rows

    rows = plain(rt.run(body))
    if rt.as_json:
        rt.show(rows)
        return
    columns = _V3_COLUMNS if dex == "v3" else _V2_COLUMNS
    table = Table(title=f"{dex.upper()} positions", title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(escape(_cell(row[c])) for c in columns))
    out.print(table)


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return " - ".join(str(v) for v in value)
    return str(value)
