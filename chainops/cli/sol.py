"""``chainops sol``: SOL and SPL balances and transfers, and the local Solana cluster.

Every command takes the RPC URL (``--rpc-url``/``--url`` or ``CHAINOPS_SOLANA_URL``),
the cluster (``--network``, default ``solana-local``; the operator refuses a node whose
genesis hash belongs to another cluster), and the key from ``--wallet``/``--keypair`` (a
solana CLI keypair file) or the environment (``CHAINOPS_SOLANA_KEY``,
``CHAINOPS_SOLANA_KEYPAIR``). The key is never printed.

Sends are journalled (``--journal``, default the Solana journal in the data folder):
a transfer interrupted after signing is completed, once, by the next command.
"""

from __future__ import annotations

import json
import signal
import tempfile
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import typer

from chainops.cli.format import plain
from chainops.cli.options import Venue, command
from chainops.cli.runtime import Runtime, check_places, err, out, parse_amount

sol_app = typer.Typer(help="Solana: balances, SOL and SPL token transfers.", no_args_is_help=True)
DEFAULT_CLUSTER = "solana-local"
SOL_DECIMALS = 9
T = TypeVar("T")


def _solana_extra(feature: str = "chainops sol") -> None:
    """One line naming the extra when solders / solana-py are not installed."""
    from chainops.extras import require_solana

    require_solana(feature)


PRIORITY_FEE = typer.Option(
    None, "--priority-fee", help="Compute-unit price in micro-lamports (default: market)."
)


def _url(rt: Runtime) -> str:
    from chainops.core.errors import ValidationError

    _solana_extra()
    if not rt.rpc_url:
        raise ValidationError("no RPC URL: pass --rpc-url or set CHAINOPS_SOLANA_URL")
    return rt.rpc_url


def _cluster(rt: Runtime) -> str:
    """The ``--network`` name, refused at once unless it names a Solana cluster."""
    from chainops.core.errors import ConfigurationError
    from chainops.core.platforms import ChainKind, ChainPlatform, get_platform

    name = rt.network or DEFAULT_CLUSTER
    platform = get_platform(name)
    if not isinstance(platform, ChainPlatform) or platform.kind is not ChainKind.SOLANA:
        raise ConfigurationError(
            f"--network {name} is {platform.name}, not a Solana cluster "
            "(solana, solana-devnet or solana-local)"
        )
    return name


def _pubkey(value: str, what: str) -> str:
    from chainops.operators.solana.keys import parse_pubkey

    _solana_extra()
    return str(parse_pubkey(value, what))


def _priority_fee(value: int | None) -> int | None:
    from chainops.operators.solana.checks import check_u64

    return None if value is None else check_u64(value, "--priority-fee")


def _signer(rt: Runtime) -> Any:
    from chainops.operators.solana import SolanaSigner

    if rt.wallet:
        return SolanaSigner.from_keypair_file(rt.wallet)
    return SolanaSigner.from_env()


def _read(rt: Runtime, url: str, act: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``act`` on a started operator that only reads (no key, no journal, no PubSub)."""
    from chainops.core.journal import open_journal
    from chainops.operators.solana import SolanaConfiguration, SolanaOperator, SolanaSigner
    from chainops.operators.solana.rpc_transport import RpcTransport

    async def work() -> T:
        operator = SolanaOperator(
            SolanaConfiguration(platform=_cluster(rt), subscribe=False),
            SolanaSigner.generate(),  # reads need no key; a throwaway one never signs
            RpcTransport(url),
            journal=open_journal(None),  # nothing is sent: nothing to journal
        )
        async with operator:
            return await act(operator)

    return rt.run(work)


def _send(rt: Runtime, what: str, act: Callable[[Any], Awaitable[Any]]) -> None:
    """Show cluster, endpoint and account, ask, then send with ``act`` and wait."""
    from chainops.config.networks import mask_url
    from chainops.operators.solana import SolanaOperator

    url = _url(rt)
    cluster = _cluster(rt)
    signer = _signer(rt)
    rt.confirm(
        {"network": cluster, "endpoint": mask_url(url), "account": str(signer.pubkey), "send": what}
    )

    async def work() -> Any:
        operator = SolanaOperator.from_options(
            cluster, rpc_url=url, signer=signer, journal_path=rt.journal_file("solana")
        )
        async with operator:
            tx = await act(operator)
            resume = "the next `chainops sol` command with the same --journal"
            with rt.waiting(str(tx.client_id), resume):
                return await tx.wait()

    tx = rt.run(work)
    document = plain(_tx_document(tx))
    if rt.as_json:
        print(json.dumps(document, sort_keys=True))
        return
    out.print(
        f"[green]{tx.state.name}[/green] {what}\n  signature {document['signature']}\n"
        f"  fee {document['fee']} SOL (price {document['compute_unit_price']} µlamports/CU, "
        f"limit {document['compute_unit_limit']} CU)"
    )


def _tx_document(tx: Any) -> dict[str, Any]:
    return {
        "client_id": str(tx.client_id),
        "signature": str(tx.hash),
        "state": tx.state.name,
        "slot": tx.receipt.block_number if tx.receipt else None,
        "fee": None if tx.fee is None else tx.fee.amount,
        "fee_asset": None if tx.fee is None else tx.fee.asset.symbol,
        "compute_unit_price": tx.fee_params.compute_unit_price if tx.fee_params else None,
        "compute_unit_limit": tx.fee_params.compute_unit_limit if tx.fee_params else None,
    }


@command(sol_app, "balance", venue=Venue.SOLANA, journal=False)
def balance(
    pubkey: str | None = typer.Argument(None, help="Account (default: your key's)."),
    mint: str | None = typer.Option(None, "--mint", help="Token mint: show that token instead."),
    *,
    rt: Runtime,
) -> None:
    """Show the SOL (or token) balance of an account."""
    url = _url(rt)
    who = _pubkey(pubkey, "account") if pubkey is not None else str(_signer(rt).pubkey)
    token = None if mint is None else _pubkey(mint, "mint")

    async def work(operator: Any) -> dict[str, Any]:
        if token is None:
            return {"account": who, "asset": "SOL", "balance": await operator.balance(who)}
        return {"account": who, "mint": token, "balance": await operator.token_balance(token, who)}

    document = plain(_read(rt, url, work))
    if rt.as_json:
        print(json.dumps(document, sort_keys=True))
    else:
        what = document.get("asset") or f"of mint {document['mint']}"
        out.print(f"{document['account']}: [bold]{document['balance']}[/bold] {what}")


@command(sol_app, "transfer", venue=Venue.SOLANA, acts=True)
def transfer(
    to: str = typer.Argument(..., help="Recipient account."),
    amount: str = typer.Argument(..., help="SOL, as a decimal (e.g. 0.25)."),
    priority_fee: int | None = PRIORITY_FEE,
    *,
    rt: Runtime,
) -> None:
    """Send SOL and wait until confirmed (or EXPIRED / failed, with the reason)."""
    value = parse_amount(amount)
    recipient = _pubkey(to, "recipient")
    check_places(value, SOL_DECIMALS)
    fee = _priority_fee(priority_fee)
    _send(
        rt,
        f"{format(value, 'f')} SOL to {recipient}",
        lambda op: op.transfer(recipient, value, compute_unit_price=fee),
    )


@command(sol_app, "token-transfer", venue=Venue.SOLANA, acts=True)
def token_transfer(
    mint: str = typer.Argument(..., help="Token mint (SPL Token or Token-2022)."),
    to: str = typer.Argument(..., help="Recipient wallet (its associated account is used)."),
    amount: str = typer.Argument(..., help="Tokens, as a decimal."),
    no_create_account: bool = typer.Option(
        False, "--no-create-account", help="Fail if the recipient has no token account."
    ),
    priority_fee: int | None = PRIORITY_FEE,
    *,
    rt: Runtime,
) -> None:
    """Send SPL tokens and wait until confirmed."""
    value = parse_amount(amount)
    token = _pubkey(mint, "mint")
    recipient = _pubkey(to, "recipient")
    fee = _priority_fee(priority_fee)
    info = _read(rt, _url(rt), lambda op: op.mint_info(token))  # its decimals, before asking
    check_places(value, info.decimals)
    _send(
        rt,
        f"{format(value, 'f')} of {token} to {recipient}",
        lambda op: op.token_transfer(
            token, recipient, value, create_account=not no_create_account, compute_unit_price=fee
        ),
    )


def serve_devnet(port: int, json_output: bool) -> None:
    """``chainops devnet up --solana``: a local cluster on loopback until Ctrl-C / SIGTERM."""
    _solana_extra("chainops devnet up --solana")
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
            out.print(
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
            err.print("solana devnet stopped")
