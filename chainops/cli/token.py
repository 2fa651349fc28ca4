"""``chainops token`` (ERC-20 balances, allowances, approvals) and ``chainops weth``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import typer

from chainops.cli.dex import confirm_plan, dex_context, owner_address, spender
from chainops.cli.options import command
from chainops.cli.runtime import Runtime, parse_amount

token_app = typer.Typer(help="ERC-20 balances, allowances and approvals.", no_args_is_help=True)
weth_app = typer.Typer(help="Wrap ETH into WETH and back.", no_args_is_help=True)
SPENDER = typer.Argument(..., help="Address or contract name (SwapRouter, ...).")


@command(token_app, "balance")
def token_balance(
    token: str = typer.Argument(..., help="Symbol or address; ETH for the native balance."),
    owner: str | None = typer.Option(None, "--owner", help="Default: the account's."),
    *,
    rt: Runtime,
) -> None:
    """Print a balance."""
    address = owner_address(owner)

    async def body() -> dict[str, Any]:
        from chainops.operators.dapps.erc20 import Erc20

        async with dex_context(rt, owner=address) as ctx:
            who = address or ctx.evm.owner
            if token.upper() == ctx.evm.platform.native_symbol.upper():
                symbol = ctx.evm.platform.native_symbol
                return {"token": symbol, "owner": who, "balance": await ctx.evm.balance(who)}
            erc = Erc20(ctx.evm, ctx.token(token))
            return {"token": erc.token.symbol, "owner": who, "balance": await erc.balance(who)}

    rt.show(rt.run(body), "balance")


@command(token_app, "allowance")
def token_allowance(
    token: str = typer.Argument(...),
    to: str = SPENDER,
    owner: str | None = typer.Option(None, "--owner", help="Default: the account's."),
    *,
    rt: Runtime,
) -> None:
    """Print what the spender may take from the owner."""
    address = owner_address(owner)

    async def body() -> dict[str, Any]:
        from chainops.operators.dapps.erc20 import Erc20

        async with dex_context(rt, owner=address) as ctx:
            erc = Erc20(ctx.evm, ctx.token(token))
            who = spender(ctx, to)
            allowance = await erc.allowance(who, address)
            return {"token": erc.token.symbol, "spender": who, "allowance": allowance}

    rt.show(rt.run(body), "allowance")


@command(token_app, "approve", acts=True)
def token_approve(
    token: str = typer.Argument(...),
    to: str = SPENDER,
    amount: str | None = typer.Argument(None, help="Exact amount (omit with --unlimited)."),
    unlimited: bool = typer.Option(False, "--unlimited", help="Approve 2**256-1."),
    *,
    rt: Runtime,
) -> None:
    """Approve the spender for exactly AMOUNT (0 revokes), or unlimited when asked."""
    if amount is not None and unlimited:
        raise typer.BadParameter("give an AMOUNT or --unlimited, not both")
    value = Decimal(0)
    if amount is not None and not _is_zero(amount):
        value = parse_amount(amount)
    elif amount is None and not unlimited:
        raise typer.BadParameter("give an AMOUNT, or --unlimited")

    async def body() -> dict[str, Any]:
        from chainops.operators.dapps.erc20 import Erc20

        async with dex_context(rt) as ctx:
            erc = Erc20(ctx.evm, ctx.token(token))
            who = spender(ctx, to)
            if value:
                ctx.raw_amount(erc.token, value)  # too many decimals: refused before asking
            shown = "unlimited" if unlimited else amount
            confirm_plan(rt, ctx, "approve", {
                "token": erc.token.symbol, "spender": who, "amount": shown,
            })  # fmt: skip
            tx = await erc.approve(who, amount, unlimited=unlimited)
            with rt.waiting_tx(str(tx.client_id)):
                await tx.wait()
            return {"tx": str(tx.hash), "allowance": await erc.allowance(who)}

    rt.show(rt.run(body), "approved")


def _is_zero(text: str) -> bool:
    """``0``, ``0.0``, ``.00``: a plain decimal zero (the revoking approval)."""
    value = text.strip()
    return value not in ("", ".") and value.strip("0.") == "" and value.count(".") <= 1


def _weth(rt: Runtime, action: str, amount: str) -> None:
    value = parse_amount(amount)

    async def body() -> dict[str, Any]:
        from chainops.operators.dapps.weth import Weth

        async with dex_context(rt) as ctx:
            weth = Weth(ctx)
            ctx.raw_amount(weth.token, value)  # too many decimals: refused before asking
            confirm_plan(rt, ctx, action, {"amount": amount})
            tx = await (weth.wrap(amount) if action == "wrap" else weth.unwrap(amount))
            with rt.waiting_tx(str(tx.client_id)):
                await tx.wait()
            return {"tx": str(tx.hash), "weth": await weth.balance(),
                    "eth": await ctx.evm.balance()}  # fmt: skip

    rt.show(rt.run(body), action)


@command(weth_app, "wrap", acts=True)
def weth_wrap(amount: str = typer.Argument(...), *, rt: Runtime) -> None:
    """Wrap ETH into WETH (``deposit()``)."""
    _weth(rt, "wrap", amount)


@command(weth_app, "unwrap", acts=True)
def weth_unwrap(amount: str = typer.Argument(...), *, rt: Runtime) -> None:
    """Unwrap WETH into ETH (``withdraw``)."""
    _weth(rt, "unwrap", amount)
