"""Shared plumbing of the network commands (config, wallet, send, tx, devnet fork).

Exit codes scripts can rely on (the README lists them too):

====  ===============================================================
0     success
1     bad input or configuration (nothing was sent)
2     command-line usage error
3     the RPC node is unreachable or failing
4     the transaction failed: reverted, rejected, replaced or dropped
5     outcome not known yet (still pending at the timeout)
6     authentication: wrong keystore password
10    aborted at the confirmation prompt
====  ===============================================================
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Callable, Coroutine
from decimal import Decimal
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console

from chainops.config import Network, Settings, load_settings, resolve_network
from chainops.config.paths import journal_path
from chainops.core.errors import (
    AuthenticationError,
    ChainopsError,
    ConfigurationError,
    InvalidAmount,
    Rejected,
    Reverted,
    RpcError,
    UnknownOutcome,
)
from chainops.core.transaction import Transaction

if TYPE_CHECKING:
    from chainops.operators.evm.operator import EvmOperator
    from chainops.operators.evm.signer import LocalSigner

T = TypeVar("T")
out = Console()
err = Console(stderr=True)


class ExitCode(IntEnum):
    """The documented exit codes."""

    OK = 0
    ERROR = 1
    USAGE = 2
    RPC = 3
    TX_FAILED = 4
    UNKNOWN_OUTCOME = 5
    AUTH = 6
    ABORTED = 10


def exit_code(exc: ChainopsError) -> ExitCode:
    if isinstance(exc, AuthenticationError):
        return ExitCode.AUTH
    if isinstance(exc, UnknownOutcome):
        return ExitCode.UNKNOWN_OUTCOME
    if isinstance(exc, Reverted | Rejected):
        return ExitCode.TX_FAILED
    if isinstance(exc, RpcError):
        return ExitCode.RPC
    return ExitCode.ERROR


def fail(exc: ChainopsError, as_json: bool = False) -> typer.Exit:
    """Report a user-facing error (no traceback) and return the Exit to raise."""
    code = exit_code(exc)
    if as_json:
        document = {"error": type(exc).__name__, "message": str(exc), "exit_code": int(code)}
        print(json.dumps(document), flush=True)
    else:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
    return typer.Exit(code=int(code))


def run(job: Callable[[], Coroutine[Any, Any, T]], as_json: bool = False) -> T:
    """Run an async command body; ChainopsError becomes a message and an exit code."""
    try:
        return asyncio.run(job())
    except ChainopsError as exc:
        raise fail(exc, as_json) from None


CONFIG = typer.Option(
    None, "--config", help="Config file (default: $CHAINOPS_CONFIG, else the platform default)."
)
NETWORK = typer.Option(
    None, "--network", "-n", help="Network name or chain id (default: the config's `network`)."
)
RPC_URL = typer.Option(
    None, "--rpc-url", help="RPC endpoint, overriding the network's (or $CHAINOPS_RPC_URL)."
)
JSON = typer.Option(False, "--json", help="Machine-readable output on stdout.")
YES = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation.")
JOURNAL = typer.Option(
    None, "--journal", help="Transaction journal (default: $CHAINOPS_JOURNAL or the data dir)."
)
WALLET = typer.Option(None, "--wallet", "-w", help="Wallet name (default: the config's `wallet`).")
KEY_ENV = "CHAINOPS_PRIVATE_KEY"
PASSWORD_ENV = "CHAINOPS_WALLET_PASSWORD"


def settings_for(config: Path | None, network: str | None, rpc_url: str | None) -> Settings:
    """File < environment < these flags."""
    return load_settings(config, network=network, rpc_url=rpc_url)


def network_for(config: Path | None, network: str | None, rpc_url: str | None) -> Network:
    settings = settings_for(config, network, rpc_url)
    return resolve_network(settings)


def journal_file(explicit: Path | None) -> Path:
    path = explicit or journal_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


# ASCII digits only: \d would also admit digits of other scripts
_PLAIN_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?|\.[0-9]+")


def parse_amount(text: str, what: str = "amount") -> Decimal:
    """A plain decimal string ("1.5"): commas, exponents, signs and blanks are refused."""
    value = text.strip()
    if not _PLAIN_DECIMAL.fullmatch(value):
        raise InvalidAmount(
            f"{what} {text!r} is not a plain decimal number: use digits and one dot "
            "(no commas, exponents or signs), e.g. 1.5"
        )
    amount = Decimal(value)
    if amount <= 0:
        raise InvalidAmount(f"{what} must be positive, got {text!r}")
    return amount


def password_for(name: str, *, confirm: bool = False) -> str:
    """The wallet password: $CHAINOPS_WALLET_PASSWORD for scripts, else a prompt."""
    env = os.environ.get(PASSWORD_ENV)
    if env is not None:
        return env
    prompt = f"Password for wallet {name!r}"
    value: str = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
    return value


def confirm_or_abort(lines: dict[str, str], yes: bool, as_json: bool) -> None:
    """Show what is about to happen (on stderr) and ask, unless ``yes``."""
    for key, value in lines.items():
        err.print(f"  [bold]{key:<9}[/bold] {value}", highlight=False)
    if yes:
        return
    if not typer.confirm("Send?", default=False, err=True):
        if as_json:
            print(json.dumps({"aborted": True}), flush=True)
        else:
            err.print("aborted, nothing sent")
        raise typer.Exit(code=int(ExitCode.ABORTED))


def tx_summary(tx: Transaction, net: Network | None = None) -> dict[str, Any]:
    """The fields of a transaction a user and a script look at."""
    winner = tx.winner
    receipt = tx.receipt
    summary: dict[str, Any] = {
        "client_id": str(tx.client_id),
        "hash": None if tx.hash is None else str(tx.hash),
        "state": tx.state.name,
        "chain": tx.platform,
        "sender": str(tx.sender),
        "to": None if tx.to is None else str(tx.to),
        "value_wei": tx.value,
        "nonce": tx.nonce,
        "attempts": [
            {"index": a.index, "kind": a.kind.name, "hash": str(a.hash)} for a in tx.attempts
        ],
        "winner": None if winner is None else winner.index,
        "block": None if receipt is None else receipt.block_number,
        "confirmations": tx.confirmations,
        "error": None if tx.error is None else str(tx.error.message),
    }
    if net is not None and tx.hash is not None:
        base = net.explorer_url
        summary["explorer"] = f"{base.rstrip('/')}/tx/{tx.hash}" if base else None
    return summary


def show(data: dict[str, Any] | list[dict[str, Any]], as_json: bool, title: str = "") -> None:
    """Print a result: JSON on stdout, or a readable key/value listing."""
    if as_json:
        print(json.dumps(data, indent=2, default=str), flush=True)
        return
    if title:
        out.print(f"[bold green]{title}[/bold green]")
    rows = data if isinstance(data, list) else [data]
    for row in rows:
        for key, value in row.items():
            out.print(f"  {key:<14} {value}", highlight=False)
        if isinstance(data, list):
            out.print()


def signer_for(settings: Settings, wallet: str | None) -> LocalSigner:
    """The signing key: ``--wallet``, else $CHAINOPS_PRIVATE_KEY, else the config's wallet."""
    from chainops.operators.evm.signer import LocalSigner
    from chainops.wallets import WalletStore

    name = wallet
    if name is None and os.environ.get(KEY_ENV):
        return LocalSigner.from_env(KEY_ENV)
    name = name or settings.wallet
    if name is None:
        raise ConfigurationError(
            "no account: pass --wallet NAME, set `wallet` in the config file, or set "
            f"{KEY_ENV} (create a wallet with `chainops wallet new NAME`)"
        )
    store = WalletStore()
    store.get(name)  # a missing wallet fails before any password prompt
    return store.signer(name, password_for(name))


async def connect(net: Network, signer: LocalSigner, journal: Path, **settings: Any) -> EvmOperator:
    """A started EvmOperator for ``net``; an unreachable node is a clear RpcError."""
    import dataclasses

    import chainops.operators.evm  # noqa: F401  (registers the EVM operator)
    from chainops.config.networks import mask_url
    from chainops.operators.base import OperatorFactory

    options = net.operator_options() | {"rpc_retries": 1} | settings
    from chainops.operators.evm.operator import EvmOperator

    evm = OperatorFactory.create(
        net.chain.name, cache=False, signer=signer, journal_path=journal, **options
    )
    if not isinstance(evm, EvmOperator):
        raise ConfigurationError(f"{net.name} is not served by the EVM operator")
    if net.fee.min_tip_gwei is not None:
        tip = int(net.fee.min_tip_gwei * 10**9)
        evm.fees.policy = dataclasses.replace(evm.fees.policy, min_tip_wei=tip)
    try:
        await evm.start()
    except RpcError as exc:
        urls = ", ".join(mask_url(u) for u in net.rpc_urls)
        raise type(exc)(f"cannot reach network {net.name!r} at {urls}: {exc}") from None
    return evm


def describe(net: Network, account: str) -> dict[str, str]:
    """The lines shown before anything is sent."""
    from chainops.config.networks import mask_url

    return {
        "network": f"{net.name} (chain {net.chain.chain_id})",
        "rpc": mask_url(net.rpc_urls[0]),
        "account": account,
    }
