"""The ``chainops`` command line."""

from __future__ import annotations

import json
import signal
import threading
from typing import Any

import typer
from rich.console import Console

from chainops import __version__
from chainops.cli import dex, fork, send, sol
from chainops.cli.cex import cex_app
from chainops.cli.config_cmd import config_app
from chainops.cli.tx import tx_app
from chainops.cli.wallet import wallet_app
from chainops.core.errors import ChainopsError

app = typer.Typer(
    help="chainops: execute on-chain and on exchanges from the command line.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
devnet_app = typer.Typer(help="Run the local devnet world (Anvil + Uniswap V2/V3 + tokens).")
app.add_typer(devnet_app, name="devnet")
app.command("swap")(dex.swap)
app.add_typer(dex.lp_app, name="lp")
app.add_typer(dex.token_app, name="token")
app.add_typer(dex.weth_app, name="weth")
app.add_typer(cex_app, name="cex")
app.add_typer(sol.sol_app, name="sol")
app.add_typer(config_app, name="config")
app.add_typer(wallet_app, name="wallet")
app.command("send")(send.send)
app.add_typer(tx_app, name="tx")
devnet_app.command("fork")(fork.devnet_fork)
console = Console()
err_console = Console(stderr=True)


def _fail(exc: ChainopsError) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(code=1)


@app.command()
def version() -> None:
    """Print the chainops version."""
    console.print(__version__)


@devnet_app.command("up")
def devnet_up(
    port: int = typer.Option(0, help="Port to listen on; 0 picks a free one."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Deploy from scratch."),
    json_output: bool = typer.Option(
        False, "--json", help="Print the RPC URL and address book as JSON."
    ),
    solana: bool = typer.Option(
        False, "--solana", help="Start the local Solana cluster (LiteSVM behind JSON-RPC) instead."
    ),
    exchange: bool = typer.Option(
        True, "--exchange/--no-exchange", help="Also start the Binance-compatible simulator."
    ),
) -> None:
    """Start the devnet world and keep it running until Ctrl-C."""
    if solana:
        return sol.serve_devnet(port, json_output)
    from chainops.cli.render import address_book_tables
    from chainops.devnet.anvil import AnvilConfig
    from chainops.devnet.world import World

    try:
        world = World.start(AnvilConfig(port=port or None), use_cache=not no_cache)
    except ChainopsError as exc:
        raise _fail(exc) from exc
    simulator, paper = _start_exchange() if exchange else (None, None)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if json_output:
            document = {"rpc_url": world.rpc_url, **world.book.to_dict()}
            if paper is not None:
                document["exchange"] = paper
            print(json.dumps(document, indent=2, sort_keys=True), flush=True)
        else:
            for table in address_book_tables(world.book, world.rpc_url):
                console.print(table)
            if paper is not None:
                console.print(
                    f"[green]exchange simulator[/green] at [bold]{paper['url']}[/bold] "
                    f"(Binance spot dialect); paper account key {paper['api_key']}, "
                    f"secret {paper['api_secret']}"
                )
            origin = "cached state" if world.started_from_cache else "fresh deployment"
            console.print(
                f"[green]devnet up[/green] at [bold]{world.rpc_url}[/bold] "
                f"(chain id {world.chain_id}, {origin}, {world.startup_seconds:.2f} s). "
                "Ctrl-C stops it."
            )
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if simulator is not None:
            simulator.stop()
        world.stop()
        if not json_output:
            console.print("devnet stopped")


def _start_exchange() -> tuple[Any, dict[str, str]]:
    """The exchange simulator on its own thread, with one funded paper account."""
    from chainops.devnet.exchange.accounts import PAPER_FUNDS
    from chainops.devnet.exchange.background import BackgroundSimulator

    simulator = BackgroundSimulator().start()
    account = simulator.create_account(dict(PAPER_FUNDS))
    sim = simulator.sim
    paper = {
        "url": sim.url,
        "stream_url": sim.stream_url,
        "ws_api_url": sim.ws_api_url,
        "api_key": account.api_key,
        "api_secret": account.secret,
    }
    return simulator, paper


@devnet_app.command("addresses")
def devnet_addresses(
    json_output: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Print the address book of the devnet world (deploying it once if not cached).

    Deployment is deterministic, so these are the addresses ``devnet up`` serves.
    """
    from chainops.cli.render import address_book_tables
    from chainops.devnet.world import World

    try:
        book = World.address_book()
    except ChainopsError as exc:
        raise _fail(exc) from exc
    if json_output:
        print(book.to_json())
    else:
        for table in address_book_tables(book):
            console.print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
