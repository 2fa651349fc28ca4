"""The ``chainops`` command line.

Every command module imports only typer, rich and the CLI's own small modules at the
top; the SDK loads inside the commands, so ``chainops --help`` starts quickly.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from chainops import __version__
from chainops.cli.cex import cex_app
from chainops.cli.config_cmd import config_app
from chainops.cli.devnet import devnet_app
from chainops.cli.lp import lp_app
from chainops.cli.send import send
from chainops.cli.setup_cmd import setup
from chainops.cli.signed import SignedNumbers
from chainops.cli.sol import sol_app
from chainops.cli.swap import swap
from chainops.cli.token import token_app, weth_app
from chainops.cli.tx import tx_app
from chainops.cli.wallet import wallet_app


class _Chainops(typer.Typer):
    """The root app; ``chainops version`` is answered before any option parsing, whose
    value coercion alone costs about 0.1 s of imports."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not args and not kwargs and sys.argv[1:] in (["version"], ["--version"]):
            print(__version__)
            raise SystemExit(0)
        return super().__call__(*args, **kwargs)


app = _Chainops(
    help="chainops: execute on-chain and on exchanges from the command line.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        print(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """chainops: execute on-chain and on exchanges from the command line."""


@app.command()
def version() -> None:
    """Print the chainops version."""
    print(__version__)


app.add_typer(devnet_app, name="devnet")
app.command("swap", cls=SignedNumbers)(swap)
app.add_typer(lp_app, name="lp")
app.add_typer(token_app, name="token")
app.add_typer(weth_app, name="weth")
app.add_typer(cex_app, name="cex")
app.add_typer(sol_app, name="sol")
app.add_typer(config_app, name="config")
app.add_typer(wallet_app, name="wallet")
app.command("send", cls=SignedNumbers)(send)
app.add_typer(tx_app, name="tx")
app.command("setup")(setup)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
