"""``chainops swap``, ``lp``, ``token`` and ``weth``: the DAppOperators from the command line.

Every command takes ``--network`` (default ``devnet``), ``--rpc-url`` (or
``$CHAINOPS_RPC_URL``), ``--private-key`` (or ``$CHAINOPS_PRIVATE_KEY``) and ``--json``.
On the devnet the address book is the world's (``World.address_book()``) and the key
defaults to development account 1. Commands that send show what they will do and ask
first, unless ``--yes``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from chainops.core.assets import to_decimal
from chainops.core.errors import ChainopsError, ConfigurationError, ValidationError
from chainops.core.order import QuoteValue

lp_app = typer.Typer(
    help="Liquidity: V3 positions (and V2 pairs with --dex v2).", no_args_is_help=True
)
token_app = typer.Typer(help="ERC-20 balances, allowances and approvals.", no_args_is_help=True)
weth_app = typer.Typer(help="Wrap ETH into WETH and back.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)
T = TypeVar("T")

NETWORK = typer.Option(
    "devnet", "--network", help="Chain name or id, or a network from the config file."
)
LOCAL_CHAIN_ID = 31337  # the devnet world and its forks
RPC_URL = typer.Option(None, "--rpc-url", envvar="CHAINOPS_RPC_URL", help="JSON-RPC endpoint.")
KEY = typer.Option(
    None,
    "--private-key",
    envvar="CHAINOPS_PRIVATE_KEY",
    help="Signing key (hex).",
    show_default=False,
)
JSON = typer.Option(False, "--json", help="Machine-readable output.")
YES = typer.Option(False, "--yes", "-y", help="Send without asking.")
SLIPPAGE = typer.Option("0.5%", "--slippage", help="Tolerance, e.g. 0.5% or 50bps.")
FORCE = typer.Option(False, "--force", help="Allow slippage above 50 %.")
DEADLINE = typer.Option(None, "--deadline", help="Seconds from now (default 600).")


def _run(job: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
    try:
        return asyncio.run(job(*args))
    except ChainopsError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from None


async def _connect(network: str, rpc_url: str | None, key: str | None) -> Any:
    """A started EVM operator and the DEX context for ``network``.

    ``network`` is resolved through the configuration (a built-in chain, or one defined
    in the config file); a local chain (id 31337) uses the devnet world's address book,
    any other the canonical deployments of that chain.
    """
    import chainops.operators.evm  # noqa: F401  (registers the EVM operator)
    from chainops.config.networks import resolve_network
    from chainops.config.settings import load_settings
    from chainops.deployments.registry import deployment
    from chainops.devnet.world import World
    from chainops.operators.base import OperatorFactory
    from chainops.operators.dapps import DexContext

    settings = load_settings(rpc_url=rpc_url) if rpc_url else load_settings()
    net = resolve_network(settings, network)
    if net.chain.chain_id == LOCAL_CHAIN_ID:
        book = World.address_book()
        key = key or book.accounts[1].private_key  # a funded development account
    else:
        book = deployment(net.chain.name).address_book()
        if not key:
            raise ConfigurationError(f"--private-key is needed to act on {net.name}")
    evm = OperatorFactory.create(
        net.chain.name, cache=False, private_key=key, **net.operator_options()
    )
    await evm.start()
    return DexContext(evm, book)  # type: ignore[arg-type]


async def _with(
    network: str, rpc_url: str | None, key: str | None, body: Callable[[Any], Awaitable[T]]
) -> T:
    ctx = await _connect(network, rpc_url, key)
    try:
        return await body(ctx)
    finally:
        await ctx.evm.close()


def _show(data: dict[str, Any], as_json: bool, title: str) -> None:
    if as_json:
        print(json.dumps(data, default=str, indent=2, sort_keys=True))
        return
    table = Table(title=title, title_justify="left", show_header=False)
    for key, value in data.items():
        table.add_row(key, str(value))
    out.print(table)


def _confirm(
    record: dict[str, QuoteValue] | dict[str, Any], as_json: bool, yes: bool, what: str
) -> None:
    if yes:
        return
    if not as_json:
        _show(dict(record), False, what)
    if not typer.confirm(f"{what}: send?", err=True):
        err.print("nothing sent")
        raise typer.Exit(code=1)


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
    slippage: str = SLIPPAGE,
    deadline: int | None = DEADLINE,
    force: bool = FORCE,
    yes: bool = YES,
    as_json: bool = JSON,
    network: str = NETWORK,
    rpc_url: str | None = RPC_URL,
    private_key: str | None = KEY,
) -> None:
    """Swap on Uniswap V2 or V3: quote, confirm, send, wait for the fill."""
    from chainops.operators.dapps import UniswapV2, UniswapV3

    path = [token_in, *[t for t in via.split(",") if t.strip()], token_out]

    async def body(ctx: Any) -> dict[str, Any]:
        seconds = None if deadline is None else await ctx.deadline(None, deadline)
        opts: dict[str, Any] = {"slippage": slippage, "deadline": seconds, "force": force}
        if dex == "v2":
            if router is not None:
                raise ValidationError("--router chooses a Uniswap V3 router; --dex v2 has one")
            venue: Any = UniswapV2(ctx)
        elif dex == "v3":
            venue = UniswapV3(ctx, router=router)
            fees = _fees(fee)
            opts["fee"] = fees[0] if len(fees) == 1 else fees
        else:
            raise ConfigurationError(f"--dex must be v2 or v3, not {dex!r}")
        method = venue.quote_exact_out if exact_out else venue.quote_exact_in
        quote = await method(path, to_decimal(amount), **opts)
        _confirm(quote.record(), as_json, yes, "quote")
        order = await (await venue.swap(quote)).wait()
        return {"order": order.to_dict(), "quote": quote.record()}

    result = _run(_with, network, rpc_url, private_key, body)
    if as_json:
        _show(result, True, "")
    else:
        order = result["order"]
        fill = order["fills"][0] if order["fills"] else {}
        out.print(
            f"[green]{order['state']}[/green] {order['trading_pair']} "
            f"{fill.get('base_amount')} -> {fill.get('quote_amount')} (tx {order['venue_id']})"
        )


def _fees(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise ValidationError(f"--fee takes fee tiers like 500 or 500,3000, not {text!r}") from None


def _parse_range(text: str) -> tuple[str, str]:
    low, sep, high = text.partition(":")
    if not sep:
        raise typer.BadParameter("--range is LOW:HIGH, e.g. 1800:2200")
    return low.strip(), high.strip()


@lp_app.command("add")
def lp_add(
    token_a: str = typer.Argument(...),
    token_b: str = typer.Argument(...),
    fee: int = typer.Option(3000, "--fee", help="V3 fee tier."),
    price_range: str = typer.Option("", "--range", help="Price of A in B: LOW:HIGH."),
    amount0: str = typer.Option("0", "--amount0", help="Amount of token A."),
    amount1: str = typer.Option("0", "--amount1", help="Amount of token B."),
    dex: str = typer.Option("v3", "--dex", help="v2 or v3."),
    slippage: str = SLIPPAGE,
    force: bool = FORCE,
    yes: bool = YES,
    as_json: bool = JSON,
    network: str = NETWORK,
    rpc_url: str | None = RPC_URL,
    private_key: str | None = KEY,
) -> None:
    """Add liquidity: mint a V3 position in a price range, or deposit into a V2 pair."""
    from chainops.operators.dapps import UniswapV2, V3Positions

    async def body(ctx: Any) -> dict[str, Any]:
        if dex == "v2":
            v2 = UniswapV2(ctx)
            plan = await v2.plan_add_liquidity(
                token_a, token_b, amount0, amount1, slippage=slippage, force=force
            )
            _confirm(
                {"pair": f"{token_a}/{token_b}", "amount_a": plan.token_a.from_raw(plan.amount_a),
                 "amount_b": plan.token_b.from_raw(plan.amount_b),
                 "min_a": plan.token_a.from_raw(plan.min_a),
                 "min_b": plan.token_b.from_raw(plan.min_b)},
                as_json, yes, "add liquidity",
            )  # fmt: skip
            tx = await v2.add_liquidity(plan)
            await tx.wait()
            pos = await v2.position(token_a, token_b)
            return {"tx": str(tx.hash), "lp_balance": str(pos.liquidity), "share": str(pos.share)}
        lp = V3Positions(ctx)
        low, high = _parse_range(price_range)
        plan3 = await lp.plan_mint(
            token_a, token_b, fee, amount0, amount1, price_range=(low, high),
            slippage=slippage, force=force,
        )  # fmt: skip
        _confirm(
            {"pool": f"{plan3.token0.symbol}/{plan3.token1.symbol} {fee}",
             "ticks": f"{plan3.tick_lower}:{plan3.tick_upper}",
             "expected0": plan3.token0.from_raw(plan3.expected[0]),
             "expected1": plan3.token1.from_raw(plan3.expected[1]),
             "min0": plan3.token0.from_raw(plan3.minimum[0]),
             "min1": plan3.token1.from_raw(plan3.minimum[1])},
            as_json, yes, "mint position",
        )  # fmt: skip
        tx3, token_id = await lp.mint(plan3)
        return {"tx": str(tx3.hash), **(await lp.position(token_id)).to_dict()}

    _show(_run(_with, network, rpc_url, private_key, body), as_json, "liquidity added")


@lp_app.command("remove")
def lp_remove(
    position: str = typer.Argument(..., help="V3 token id, or TOKEN_A/TOKEN_B with --dex v2."),
    dex: str = typer.Option("v3", "--dex", help="v2 or v3."),
    slippage: str = SLIPPAGE,
    yes: bool = YES,
    as_json: bool = JSON,
    network: str = NETWORK,
    rpc_url: str | None = RPC_URL,
    private_key: str | None = KEY,
) -> None:
    """Remove all liquidity: close a V3 position (decrease, collect, burn) or exit a V2 pair."""
    from chainops.operators.dapps import UniswapV2, V3Positions

    async def body(ctx: Any) -> dict[str, Any]:
        if dex == "v2":
            a, _, b = position.partition("/")
            v2 = UniswapV2(ctx)
            plan = await v2.plan_remove_liquidity(a, b, slippage=slippage)
            _confirm({"pair": position, "lp": plan.liquidity}, as_json, yes, "remove liquidity")
            tx = await v2.remove_liquidity(plan)
            await tx.wait()
            return {"tx": str(tx.hash), "removed_lp": str(plan.liquidity)}
        lp = V3Positions(ctx)
        token_id = _token_id(position)
        _confirm((await lp.position(token_id)).to_dict(), as_json, yes, "close position")
        return (await lp.close(token_id, slippage=slippage)).to_dict() | {"closed": True}

    _show(_run(_with, network, rpc_url, private_key, body), as_json, "liquidity removed")


def _token_id(text: str) -> int:
    if not text.isdigit():
        raise typer.BadParameter(f"a V3 position is a token id, not {text!r}")
    return int(text)


@lp_app.command("collect")
def lp_collect(
    position: str = typer.Argument(..., help="V3 token id."),
    yes: bool = YES,
    as_json: bool = JSON,
    network: str = NETWORK,
    rpc_url: str | None = RPC_URL,
    private_key: str | None = KEY,
) -> None:
    """Collect a V3 position's fees."""
    from chainops.operators.dapps import V3Positions

    async def body(ctx: Any) -> dict[str, Any]:
        lp = V3Positions(ctx)
        token_id = _token_id(position)
        before = await lp.position(token_id)
        _confirm({"fees0": before.fees0, "fees1": before.fees1}, as_json, yes, "collect")
        tx = await lp.collect(token_id)
        await tx.wait()
        return {"tx": str(tx.hash), "collected0": str(before.fees0),
                "collected1": str(before.fees1)}  # fmt: skip

    _show(_run(_with, network, rpc_url, private_key, body), as_json, "fees collected")


@lp_app.command("list")
def lp_list(
    owner: str | None = typer.Option(None, "--owner", help="Default: the key's account."),
    as_json: bool = JSON,
    network: str = NETWORK,
    rpc_url: str | None = RPC_URL,
    private_key: str | None = KEY,
) -> None:
    """List V3 positions with amounts, in-range flag and uncollected fees."""
    from chainops.operators.dapps import V3Positions

    async def body(ctx: Any) -> list[dict[str, Any]]:
        return [p.to_dict() for p in await V3Positions(ctx).positions(owner)]

    rows = _run(_with, network, rpc_url, private_key, body)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title="V3 positions", title_justify="left")
    columns = (
        "token_id",
        "pair",
        "fee",
        "prices",
        "amount0",
        "amount1",
        "fees0",
        "fees1",
        "in_range",
    )
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row[c]) for c in columns))
    out.print(table)


def _spender(ctx: Any, spender: str) -> str:
    return str(ctx.book.contracts.get(spender, spender))


@token_app.command("balance")
def token_balance(
    token: str = typer.Argument(..., help="Symbol or address; ETH for the native balance."),
    owner: str | None = typer.Option(None, "--owner"),
    as_json: bool = JSON,
    network: str = NETWORK,
    rpc_url: str | None = RPC_URL,
    private_key: str | None = KEY,
) -> None:
    """Print a balance."""
    from chainops.operators.dapps import Erc20

    async def body(ctx: Any) -> dict[str, Any]:
        who = owner or ctx.evm.owner
        if token.upper() == "ETH":
            return {"token": "ETH", "owner": who, "balance": str(await ctx.evm.balance(who))}
        erc = Erc20(ctx.evm, ctx.token(token))
        return {"token": erc.token.symbol, "owner": who, "balance": str(await erc.balance(who))}

    _show(_run(_with, network, rpc_url, private_key, body), as_json, "balance")


@token_app.command("allowance")
def token_allowance(
    token: str = typer.Argument(...),
    spender: str = typer.Argument(..., help="Address or contract name (SwapRouter, ...)."),
    owner: str | None = typer.Option(None, "--owner"),
    as_json: bool = JSON,
    network: str = NETWORK,
    rpc_url: str | None = RPC_URL,
    private_key: str | None = KEY,
) -> None:
    """Print what ``spender`` may take from the owner."""
    from chainops.operators.dapps import Erc20

    async def body(ctx: Any) -> dict[str, Any]:
        erc = Erc20(ctx.evm, ctx.token(token))
        to = _spender(ctx, spender)
        return {"token": erc.token.symbol, "spender": to,
                "allowance": str(await erc.allowance(to, owner))}  # fmt: skip

    _show(_run(_with, network, rpc_url, private_key, body), as_json, "allowance")


@token_app.command("approve")
def token_approve(
    token: str = typer.Argument(...),
    spender: str = typer.Argument(..., help="Address or contract name (SwapRouter, ...)."),
    amount: str | None = typer.Argument(None, help="Exact amount (omit with --unlimited)."),
    unlimited: bool = typer.Option(False, "--unlimited", help="Approve 2**256-1."),
    yes: bool = YES,
    as_json: bool = JSON,
    network: str = NETWORK,
    rpc_url: str | None = RPC_URL,
    private_key: str | None = KEY,
) -> None:
    """Approve ``spender`` for exactly ``amount`` (or unlimited when asked)."""
    from chainops.operators.dapps import Erc20

    async def body(ctx: Any) -> dict[str, Any]:
        erc = Erc20(ctx.evm, ctx.token(token))
        to = _spender(ctx, spender)
        shown = "unlimited" if unlimited else amount
        _confirm(
            {"token": erc.token.symbol, "spender": to, "amount": shown}, as_json, yes, "approve"
        )
        tx = await erc.approve(to, amount, unlimited=unlimited)
        await tx.wait()
        return {"tx": str(tx.hash), "allowance": str(await erc.allowance(to))}

    _show(_run(_with, network, rpc_url, private_key, body), as_json, "approved")


def _weth(action: str, amount: str, yes: bool, as_json: bool, net: str, url: str | None,
          key: str | None) -> None:  # fmt: skip
    from chainops.operators.dapps import Weth

    async def body(ctx: Any) -> dict[str, Any]:
        weth = Weth(ctx)
        _confirm({"action": action, "amount": amount}, as_json, yes, action)
        tx = await (weth.wrap(amount) if action == "wrap" else weth.unwrap(amount))
        await tx.wait()
        return {"tx": str(tx.hash), "weth": str(await weth.balance()),
                "eth": str(await ctx.evm.balance())}  # fmt: skip

    _show(_run(_with, net, url, key, body), as_json, action)


@weth_app.command("wrap")
def weth_wrap(
    amount: str = typer.Argument(...),
    yes: bool = YES,
    as_json: bool = JSON,
    network: str = NETWORK,
    rpc_url: str | None = RPC_URL,
    private_key: str | None = KEY,
) -> None:
    """Wrap ETH into WETH (``deposit()``)."""
    _weth("wrap", amount, yes, as_json, network, rpc_url, private_key)


@weth_app.command("unwrap")
def weth_unwrap(
    amount: str = typer.Argument(...),
    yes: bool = YES,
    as_json: bool = JSON,
    network: str = NETWORK,
    rpc_url: str | None = RPC_URL,
    private_key: str | None = KEY,
) -> None:
    """Unwrap WETH into ETH (``withdraw``)."""
    _weth("unwrap", amount, yes, as_json, network, rpc_url, private_key)
