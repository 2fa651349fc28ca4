"""The connection and safety options, declared once and added to every command.

``@command(group, "name")`` appends the shared options to a command's own parameters
and hands the body a :class:`~chainops.cli.runtime.Runtime` built from them (the
``rt`` keyword). Which options a command gets depends on what it does: every command
takes ``--config`` and ``--json``; chain commands add ``--network`` and ``--rpc-url``;
commands acting for an account add ``--wallet`` (or the key from the environment) and
``--journal``; commands that move funds, place or cancel add ``--yes``.

This module stays cheap to import: ``chainops --help`` must not load the SDK.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import typer

from chainops.cli.signed import SignedNumbers

KEY_ENV = "CHAINOPS_PRIVATE_KEY"
PASSWORD_ENV = "CHAINOPS_WALLET_PASSWORD"


class Venue(Enum):
    """What a command talks to: it decides the meaning of ``--network``."""

    NONE = "none"
    EVM = "evm"
    SOLANA = "solana"
    EXCHANGE = "exchange"


@dataclass(frozen=True)
class Shared:
    """One shared option: its parameter name, type and typer declaration."""

    name: str
    annotation: Any
    option: Any


_NETWORK_HELP = {
    Venue.EVM: "Network name or chain id (default: the config's `network`, else devnet).",
    Venue.SOLANA: "Solana cluster: solana-local (default), solana-devnet or solana.",
}
_RPC_NAMES = {Venue.EVM: ("--rpc-url",), Venue.SOLANA: ("--rpc-url", "--url")}
_RPC_HELP = {
    Venue.EVM: "RPC endpoint, overriding the network's (or $CHAINOPS_RPC_URL).",
    Venue.SOLANA: "Solana RPC endpoint (or $CHAINOPS_SOLANA_URL).",
}
# EVM reads $CHAINOPS_RPC_URL through the settings, where the config file's value lives too
_RPC_ENV = {Venue.EVM: None, Venue.SOLANA: "CHAINOPS_SOLANA_URL"}
_WALLET_NAMES = {Venue.EVM: ("--wallet", "-w"), Venue.SOLANA: ("--wallet", "--keypair", "-w")}
_WALLET_HELP = {
    Venue.EVM: f"Wallet name (default: ${KEY_ENV}, else the config's `wallet`; "
    "on a local chain development account 1).",
    Venue.SOLANA: "Keypair file of the solana CLI (default: $CHAINOPS_SOLANA_KEY or "
    "$CHAINOPS_SOLANA_KEYPAIR).",
}


def shared_options(venue: Venue, *, account: bool, acts: bool, journal: bool) -> list[Shared]:
    """The shared options of a command talking to ``venue``."""
    config = typer.Option(
        None, "--config", help="Config file (default: $CHAINOPS_CONFIG, else the platform default)."
    )
    options = [
        Shared("config", Path | None, config),
        Shared("as_json", bool, typer.Option(False, "--json", help="Machine-readable stdout.")),
    ]
    if venue in (Venue.EVM, Venue.SOLANA):
        network = typer.Option(None, "--network", "-n", help=_NETWORK_HELP[venue])
        rpc = typer.Option(None, *_RPC_NAMES[venue], envvar=_RPC_ENV[venue], help=_RPC_HELP[venue])
        options += [Shared("network", str | None, network), Shared("rpc_url", str | None, rpc)]
        if account:
            wallet = typer.Option(None, *_WALLET_NAMES[venue], help=_WALLET_HELP[venue])
            options.append(Shared("wallet", str | None, wallet))
    if journal and venue is not Venue.NONE:
        path = typer.Option(
            None, "--journal", help="Journal file (default: in the data folder, $CHAINOPS_HOME)."
        )
        options.append(Shared("journal", Path | None, path))
    if acts:
        yes = typer.Option(False, "--yes", "-y", help="Do not ask before acting.")
        options.append(Shared("yes", bool, yes))
    return options


def command(
    group: typer.Typer | None,
    name: str,
    *,
    venue: Venue = Venue.EVM,
    account: bool = True,
    acts: bool = False,
    journal: bool | None = None,
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register ``func`` as ``name`` on ``group`` (if any) with the shared options added.

    The body receives ``rt`` (a Runtime); a ChainopsError anywhere in it becomes the
    documented message and exit code, as JSON on stdout under ``--json``.
    """
    keeps = account if journal is None else journal
    shared = shared_options(venue, account=account, acts=acts, journal=keeps)

    def decorate(func: Callable[..., None]) -> Callable[..., None]:
        own = [
            p for p in inspect.signature(func, eval_str=True).parameters.values() if p.name != "rt"
        ]
        extra = [
            inspect.Parameter(
                s.name, inspect.Parameter.KEYWORD_ONLY, default=s.option, annotation=s.annotation
            )
            for s in shared
        ]
        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + extra
        names = {s.name for s in shared}

        @functools.wraps(func)
        def wrapper(**kwargs: Any) -> None:
            from chainops.cli.runtime import Runtime

            values = {k: kwargs.pop(k) for k in names}
            rt = Runtime(venue=venue, **values)
            rt.call(func, kwargs)

        del wrapper.__wrapped__  # typer must read the new signature, not the body's
        wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        if group is not None:
            group.command(name, cls=SignedNumbers)(wrapper)
        return wrapper

    return decorate
