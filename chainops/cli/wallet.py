"""``chainops wallet``: named, encrypted keystore wallets.

Passwords are prompted (``new`` and ``import`` ask twice), or read from
``$CHAINOPS_WALLET_PASSWORD`` for scripts. Keys are never printed except by
``export-key``, which asks for confirmation (``--yes`` for scripts).
"""

from __future__ import annotations

import os

import typer

from chainops.cli.runtime import JSON, KEY_ENV, YES, ExitCode, err, fail, password_for, show
from chainops.core.errors import ChainopsError
from chainops.wallets import WalletStore

wallet_app = typer.Typer(help="Encrypted keystore wallets (scrypt).", no_args_is_help=True)


@wallet_app.command("new")
def wallet_new(name: str = typer.Argument(..., help="Wallet name."), as_json: bool = JSON) -> None:
    """Create a wallet with a new random key."""
    try:
        store = WalletStore()
        store.path(name)  # a bad name fails before the password prompt
        info = store.create(name, password_for(name, confirm=True))
    except ChainopsError as exc:
        raise fail(exc, as_json) from None
    show(info.to_dict(), as_json, "wallet created")


@wallet_app.command("import")
def wallet_import(
    name: str = typer.Argument(..., help="Wallet name."), as_json: bool = JSON
) -> None:
    """Import a private key: from $CHAINOPS_PRIVATE_KEY, else prompted (never an argument)."""
    try:
        store = WalletStore()
        store.path(name)
        key = os.environ.get(KEY_ENV) or typer.prompt("Private key", hide_input=True, err=True)
        info = store.import_key(name, key, password_for(name, confirm=True))
    except ChainopsError as exc:
        raise fail(exc, as_json) from None
    show(info.to_dict(), as_json, "wallet imported")


@wallet_app.command("list")
def wallet_list(as_json: bool = JSON) -> None:
    """List wallets (names and addresses)."""
    try:
        rows = [w.to_dict() for w in WalletStore().list()]
    except ChainopsError as exc:
        raise fail(exc, as_json) from None
    if not rows and not as_json:
        err.print("no wallets yet: `chainops wallet new NAME`")
        return
    show(rows, as_json)


@wallet_app.command("show")
def wallet_show(name: str = typer.Argument(..., help="Wallet name."), as_json: bool = JSON) -> None:
    """Show a wallet's address and keystore file."""
    try:
        info = WalletStore().get(name)
    except ChainopsError as exc:
        raise fail(exc, as_json) from None
    show(info.to_dict(), as_json, name)


@wallet_app.command("export-address")
def wallet_export_address(name: str = typer.Argument(..., help="Wallet name.")) -> None:
    """Print only the address (for scripts)."""
    try:
        info = WalletStore().get(name)
    except ChainopsError as exc:
        raise fail(exc) from None
    print(info.address)


@wallet_app.command("export-key")
def wallet_export_key(
    name: str = typer.Argument(..., help="Wallet name."), yes: bool = YES, as_json: bool = JSON
) -> None:
    """Print the PRIVATE KEY. Anyone who sees it controls the funds."""
    try:
        store = WalletStore()
        store.get(name)
        if not yes and not typer.confirm(
            f"Print the private key of {name!r} in clear?", default=False, err=True
        ):
            err.print("aborted")
            raise typer.Exit(code=int(ExitCode.ABORTED))
        key = store.export_key(name, password_for(name))
    except ChainopsError as exc:
        raise fail(exc, as_json) from None
    if as_json:
        show({"name": name, "private_key": key}, True)
    else:
        print(key)
