"""``chainops devnet``: the local world (Anvil + Uniswap V2/V3 + tokens + paper exchange)."""

from __future__ import annotations

import json
import shlex
import signal
import socket
import threading
from typing import Any

import typer
from rich.table import Table

from chainops.cli import fork
from chainops.cli.options import Venue, command
from chainops.cli.runtime import Runtime, err, out

devnet_app = typer.Typer(
    help="Run the local devnet world (Anvil + Uniswap V2/V3 + tokens).", no_args_is_help=True
)
devnet_app.command("fork")(fork.devnet_fork)
# the ports users and tools expect: Anvil's and Hardhat's 8545, and the CLI's paper exchange
RPC_PORT = 8545
EXCHANGE_PORT = 8090


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether ``port`` can be bound on ``host`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _port(wanted: int | None, default: int, what: str) -> int | None:
    """``wanted`` if given; else ``default`` when free (None: let the starter pick)."""
    if wanted is not None:
        return wanted
    if port_free(default):
        return default
    err.print(f"port {default} is taken: {what} listens on another port (shown below)")
    return None


@command(devnet_app, "up", venue=Venue.NONE)
def devnet_up(
    port: int | None = typer.Option(
        None, "--port", min=0, max=65535, help=f"RPC port (default {RPC_PORT}, else a free one)."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Deploy from scratch."),
    solana: bool = typer.Option(
        False, "--solana", help="Start the local Solana cluster (LiteSVM behind JSON-RPC) instead."
    ),
    exchange: bool = typer.Option(
        True, "--exchange/--no-exchange", help="Also start the Binance-compatible simulator."
    ),
    like: str | None = typer.Option(
        None, "--like", help="Shape it like a chain: ethereum, arbitrum, optimism, base, ..."
    ),
    *,
    rt: Runtime,
) -> None:
    """Start the devnet world and keep it running until Ctrl-C.

    Prints the funded development accounts with their keys, the contracts, and an
    `export` line (RPC URL, exchange URL and credentials) for other shells.
    """
    if solana:
        from chainops.cli.sol import serve_devnet

        return serve_devnet(port or 0, rt.as_json)
    from chainops.devnet.anvil import AnvilConfig
    from chainops.devnet.world import World

    anvil_port = _port(port, RPC_PORT, "the devnet")
    world = World.start(AnvilConfig(port=anvil_port), use_cache=not no_cache, like=like)
    simulator, paper = _start_exchange() if exchange else (None, None)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        _announce(rt, world, paper)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if simulator is not None:
            simulator.stop()
        world.stop()
        if not rt.as_json:
            err.print("devnet stopped")


def exports(rpc_url: str, paper: dict[str, str] | None) -> str:
    """The ``export`` line that points other shells' chainops at this devnet."""
    values = {"CHAINOPS_RPC_URL": rpc_url}
    if paper is not None:
        values |= {
            "CHAINOPS_CEX_URL": paper["url"],
            "CHAINOPS_CEX_API_KEY": paper["api_key"],
            "CHAINOPS_CEX_API_SECRET": paper["api_secret"],
        }
    return "export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in values.items())


def _announce(rt: Runtime, world: Any, paper: dict[str, str] | None) -> None:
    accounts = [{"index": i, "address": a.address, "private_key": a.private_key}
                for i, a in enumerate(world.book.accounts)]  # fmt: skip
    line = exports(world.rpc_url, paper)
    if rt.as_json:
        document = {"rpc_url": world.rpc_url, **world.book.to_dict(), "accounts": accounts}
        if paper is not None:
            document["exchange"] = paper | {"funds": {k: str(v) for k, v in _funds().items()}}
        document["export"] = line
        print(json.dumps(document, indent=2, sort_keys=True), flush=True)
        return
    from chainops.cli.render import address_book_tables

    for table in address_book_tables(world.book, world.rpc_url):
        out.print(table)
    _print_accounts(accounts)
    if paper is not None:
        funds = ", ".join(f"{v} {k}" for k, v in _funds().items())
        out.print(
            f"[green]paper exchange[/green] at [bold]{paper['url']}[/bold] (Binance spot "
            f"dialect); account key {paper['api_key']}, secret {paper['api_secret']}, "
            f"holding {funds}"
        )
    origin = "cached state" if world.started_from_cache else "fresh deployment"
    out.print(
        f"[green]devnet up[/green] at [bold]{world.rpc_url}[/bold] (chain id {world.chain_id}, "
        f"{origin}, {world.startup_seconds:.2f} s). Commands default to account 1. "
        "Ctrl-C stops it.\nIn another shell:"
    )
    print(line, flush=True)  # plain print: a copied line must not carry wrapping or markup


_ACCOUNTS_TITLE = "development accounts (public test keys: never use them for real funds)"
# the accounts table's width: every column whole (a key cut short is no key), with borders
_TABLE_WIDTH = 2 + 42 + 66 + 26 + 13


def _print_accounts(accounts: list[dict[str, Any]]) -> None:
    """A table where it fits whole, else two lines an account (never a truncated key)."""
    rows = [
        (str(a["index"]), a["address"], a["private_key"],
         "deployer" if a["index"] == 0 else "ETH + $100k of every token")
        for a in accounts
    ]  # fmt: skip
    if out.width >= _TABLE_WIDTH:
        table = Table(title=_ACCOUNTS_TITLE, title_justify="left")
        for column in ("#", "address", "private key", "holds"):
            table.add_column(column, no_wrap=True)
        for row in rows:
            table.add_row(*row)
        out.print(table)
        return
    out.print(_ACCOUNTS_TITLE, soft_wrap=True)
    for index, address, key, holds in rows:
        out.print(f"  {index:>2}  {address}  {holds}", soft_wrap=True)
        out.print(f"      key {key}", soft_wrap=True)


def _funds() -> dict[str, Any]:
    """What the paper account starts with (the simulator's paper-account default)."""
    from chainops.devnet.exchange.accounts import PAPER_FUNDS

    return dict(PAPER_FUNDS)


def _start_exchange() -> tuple[Any, dict[str, str]]:
    """The exchange simulator on its own thread, with one funded paper account."""
    from chainops.devnet.exchange.background import BackgroundSimulator

    port = _port(None, EXCHANGE_PORT, "the paper exchange")
    simulator = BackgroundSimulator(port=port or 0).start()
    account = simulator.create_account(_funds())
    sim = simulator.sim
    paper = {
        "url": sim.url,
        "stream_url": sim.stream_url,
        "ws_api_url": sim.ws_api_url,
        "api_key": account.api_key,
        "api_secret": account.secret,
    }
    return simulator, paper


@command(devnet_app, "addresses", venue=Venue.NONE)
def devnet_addresses(*, rt: Runtime) -> None:
    """Print the address book of the devnet world (deploying it once if not cached).

    Deployment is deterministic, so these are the addresses `devnet up` serves.
    """
    from chainops.cli.render import address_book_tables
    from chainops.devnet.world import World

    book = World.address_book()
    if rt.as_json:
        print(book.to_json())
    else:
        for table in address_book_tables(book):
            out.print(table)


__all__ = ["devnet_app", "exports", "port_free"]
