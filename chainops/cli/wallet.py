"""``chainops wallet``: named, encrypted keystore wallets.

Passwords are prompted (``new`` and ``import`` ask twice), or read from
``$CHAINOPS_WALLET_PASSWORD`` for scripts. Keys are never printed except by
``export-key``, which asks for confirmation (``--yes`` for scripts).
"""

from __future__ import annotations

import os

import typer

from chainops.cli.options import KEY_ENV, Venue, command
from chainops.cli.runtime import Runtime, err, prompt_secret

wallet_app = typer.Typer(help="Encrypted keystore wallets (scrypt).", no_args_is_help=True)
NAME = typer.Argument(..., help="Wallet name.")


@command(wallet_app, "new", venue=Venue.NONE)
def wallet_new(name: str = NAME, *, rt: Runtime) -> None:
    """Create a wallet with a new random key."""
    from chainops.wallets import WalletStore

    store = WalletStore()
    store.path(name)  # a bad name fails before the password prompt
    info = store.create(name, rt.password(name, confirm=True))
    rt.show(info.to_dict(), "wallet created")


@command(wallet_app, "import", venue=Venue.NONE)
def wallet_import(name: str = NAME, *, rt: Runtime) -> None:
    """Import a private key: from $CHAINOPS_PRIVATE_KEY, else prompted (never an argument)."""
    from chainops.wallets import WalletStore

    store = WalletStore()
    store.path(name)
    key = os.environ.get(KEY_ENV) or prompt_secret("Private key", KEY_ENV)
    info = store.import_key(name, key, rt.password(name, confirm=True))
    rt.show(info.to_dict(), "wallet imported")


@command(wallet_app, "list", venue=Venue.NONE)
def wallet_list(*, rt: Runtime) -> None:
    """List wallets (names and addresses)."""
    from chainops.wallets import WalletStore

    rows = [w.to_dict() for w in WalletStore().list()]
    if not rows and not rt.as_json:
        err.print("no wallets yet: `chainops wallet new NAME`")
        return
    rt.show(rows)


@command(wallet_app, "show", venue=Venue.NONE)
def wallet_show(name: str = NAME, *, rt: Runtime) -> None:
    """Show a wallet's address and keystore file."""
    from chainops.wallets import WalletStore

    rt.show(WalletStore().get(name).to_dict(), name)


@command(wallet_app, "export-address", venue=Venue.NONE)
def wallet_export_address(name: str = NAME, *, rt: Runtime) -> None:
    """Print only the address (for scripts)."""
    from chainops.wallets import WalletStore

    print(WalletStore().get(name).address)


@command(wallet_app, "export-key", venue=Venue.NONE, acts=True)
def wallet_export_key(name: str = NAME, *, rt: Runtime) -> None:
    """Print the PRIVATE KEY. Anyone who sees it controls the funds."""
    from chainops.wallets import WalletStore

    store = WalletStore()
    store.get(name)
    rt.confirm({"wallet": name}, f"Print the private key of {name!r} in clear?")
    key = store.export_key(name, rt.password(name))
    if rt.as_json:
        rt.show({"name": name, "private_key": key})
    else:
        print(key)
