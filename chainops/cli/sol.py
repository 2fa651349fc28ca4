"""``chainops sol``: SOL and SPL balances and transfers, and the local Solana cluster.

Every command takes the RPC URL (``--url`` or ``CHAINOPS_SOLANA_URL``), the
cluster's platform name (``--platform``, default ``solana-local``; the operator
refuses a node whose genesis hash belongs to another cluster), and the key from
``--keypair`` (a solana CLI keypair file) or the environment
(``CHAINOPS_SOLANA_KEY``, ``CHAINOPS_SOLANA_KEYPAIR``). The key is never printed.

Sends are journalled (``--journal``, default ``~/.chainops/solana-journal.sqlite``):
a transfer interrupted after signing is completed, once, by the next command.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import tempfile
import threading
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

from chainops.core.errors import ChainopsError, InvalidAmount, ValidationError

sol_app = typer.Typer(help="Solana: balances, SOL and SPL token transfers.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")

URL_OPTION = typer.Option(None, "--url", envvar="CHAINOPS_SOLANA_URL", help="RPC URL.")
PLATFORM_OPTION = typer.Option("solana-local", "--platform", help="solana, solana-devnet, ...")
KEYPAIR_OPTION = typer.Option(None, "--keypair", help="solana CLI keypair file.")
JOURNAL_OPTION = typer.Option(None, "--journal", help="Journal file (exactly-once sends).")
JSON_OPTION = typer.Option(False, "--json", help="Print JSON.")


def _default_journal() -> Path:
    home = Path(os.environ.get("CHAINOPS_HOME", Path.home() / ".chainops"))
    return home / "solana-journal.sqlite"


def _amount(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise InvalidAmount(f"amount {text!r} is not a number") from None


def _run(work: Callable[[], Awaitable[T]]) -> T:
    try:
        return asyncio.run(work())  # type: ignore[arg-type]
    except ChainopsError as exc:
        err_console.print(f"[red]error:[/red] {type(exc).__name__}: {exc}")
        raise typer.Exit(code=1) from None


def _operator(url: str | None, platform: str, keypair: Path | None, journal: Path | None) -> Any:
    from chainops.operators.solana import SolanaOperator

    if not url:
        raise ValidationError("no RPC URL: pass --url or set CHAINOPS_SOLANA_URL")
    return SolanaOperator.from_options(
        platform,
        rpc_url=url,
        keypair_path=str(keypair) if keypair else None,
        journal_path=journal or _default_journal(),
    )


def _tx_document(tx: Any) -> dict[str, Any]:
    return {
        "client_id": str(tx.client_id),
        "signature": str(tx.hash),
        "state": tx.state.name,
        "slot": tx.receipt.block_number if tx.receipt else None,
        "fee": None if tx.fee is None else str(tx.fee.amount),
        "fee_asset": None if tx.fee is None else tx.fee.asset.symbol,
        "compute_unit_price": tx.fee_params.compute_unit_price if tx.fee_params else None,
        "compute_unit_limit": tx.fee_params.compute_unit_limit if tx.fee_params else None,
    }


def _report(tx: Any, json_output: bool, what: str) -> None:
    if json_output:
        print(json.dumps(_tx_document(tx), sort_keys=True))
        return
    console.print(
        f"[green]{tx.state.name}[/green] {what}\n  signature {tx.hash}\n"
        f"  fee {tx.fee} (price {tx.fee_params.compute_unit_price} µlamports/CU, "
        f"limit {tx.fee_params.compute_unit_limit} CU)"
    )


@sol_app.command("balance")
def balance(
    pubkey: str | None = typer.Argument(None, help="Account (default: your key's)."),
    mint: str | None = typer.Option(None, "--mint", help="Token mint: show that token instead."),
    url: str | None = URL_OPTION,
    platform: str = PLATFORM_OPTION,
    keypair: Path | None = KEYPAIR_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """Show the SOL (or token) balance of an account."""
    from chainops.operators.solana import SolanaSigner
    from chainops.operators.solana.rpc_transport import RpcTransport

    async def work() -> dict[str, Any]:
        if not url:
            raise ValidationError("no RPC URL: pass --url or set CHAINOPS_SOLANA_URL")
        who = pubkey
        if who is None:
            signer = SolanaSigner.from_keypair_file(keypair) if keypair else SolanaSigner.from_env()
            who = str(signer.pubkey)
        from chainops.operators.solana import SolanaConfiguration, SolanaOperator

        operator = SolanaOperator(
            SolanaConfiguration(platform=platform),
            SolanaSigner.generate(),  # reads need no key; a throwaway one never signs
            RpcTransport(url),
        )
        async with operator:
            if mint is None:
                return {"account": who, "asset": "SOL", "balance": str(await operator.balance(who))}
            amount = await operator.token_balance(mint, who)
            return {"account": who, "mint": mint, "balance": str(amount)}

    document = _run(work)
    if json_output:
        print(json.dumps(document, sort_keys=True))
    else:
        what = document.get("asset") or f"of mint {document['mint']}"
        console.print(f"{document['account']}: [bold]{document['balance']}[/bold] {what}")


@sol_app.command("transfer")
def transfer(
    to: str = typer.Argument(..., help="Recipient account."),
    amount: str = typer.Argument(..., help="SOL, as a decimal (e.g. 0.25)."),
    url: str | None = URL_OPTION,
    platform: str = PLATFORM_OPTION,
    keypair: Path | None = KEYPAIR_OPTION,
    journal: Path | None = JOURNAL_OPTION,
    priority_fee: int | None = typer.Option(
        None, "--priority-fee", help="Compute-unit price in micro-lamports (default: market)."
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """Send SOL and wait until confirmed (or EXPIRED / failed, with the reason)."""

    async def work() -> Any:
        operator = _operator(url, platform, keypair, journal)
        async with operator:
            tx = await operator.transfer(to, _amount(amount), compute_unit_price=priority_fee)
            return await operator.wait(tx)

    _report(_run(work), json_output, f"{amount} SOL to {to}")


@sol_app.command("token-transfer")
def token_transfer(
    mint: str = typer.Argument(..., help="Token mint (SPL Token or Token-2022)."),
    to: str = typer.Argument(..., help="Recipient wallet (its associated account is used)."),
    amount: str = typer.Argument(..., help="Tokens, as a decimal."),
    url: str | None = URL_OPTION,
    platform: str = PLATFORM_OPTION,
    keypair: Path | None = KEYPAIR_OPTION,
    journal: Path | None = JOURNAL_OPTION,
    no_create_account: bool = typer.Option(
        False, "--no-create-account", help="Fail if the recipient has no token account."
    ),
    priority_fee: int | None = typer.Option(None, "--priority-fee", help="µlamports per CU."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Send SPL tokens and wait until confirmed."""

    async def work() -> Any:
        operator = _operator(url, platform, keypair, journal)
        async with operator:
            tx = await operator.token_transfer(
                mint,
                to,
                _amount(amount),
                create_account=not no_create_account,
                compute_unit_price=priority_fee,
            )
            return await operator.wait(tx)

    _report(_run(work), json_output, f"{amount} of {mint} to {to}")


def serve_devnet(port: int, json_output: bool) -> None:
    """``chainops devnet up --solana``: a local cluster on loopback until Ctrl-C / SIGTERM."""
    from chainops.devnet.solana import SolanaRpcServer
    from chainops.operators.solana import SolanaSigner

    server = SolanaRpcServer(port=port).start_in_thread()
    folder = Path(tempfile.mkdtemp(prefix="chainops-solana-"))
    dev = SolanaSigner.generate()
    keypair = dev.write_keypair_file(folder / "dev-keypair.json")
    server.chain.airdrop(str(dev.pubkey), 1_000 * 10**9)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        document = {
            "solana_rpc_url": server.url,
            "solana_ws_url": server.ws_url,
            "platform": "solana-local",
            "dev_account": str(dev.pubkey),
            "dev_keypair": str(keypair),
            "dev_balance_sol": "1000",
        }
        if json_output:
            print(json.dumps(document, indent=2, sort_keys=True), flush=True)
        else:
            console.print(
                f"[green]solana devnet up[/green] at [bold]{server.url}[/bold] "
                f"(PubSub {server.ws_url}) "
                f"(LiteSVM, 0.4 s slots)\n  dev account {dev.pubkey} holds 1000 SOL; "
                f"keypair file {keypair}\n  Ctrl-C stops it."
            )
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop_thread()
        if not json_output:
            console.print("solana devnet stopped")
