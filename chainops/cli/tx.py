"""``chainops tx``: status, wait, speed-up, cancel and list for journalled transactions.

A transaction is named by its client id (``tx-…``) or by the hash of any of its
attempts. ``status`` and ``list`` read the journal (``status`` also asks the node
about attempts still pending); ``wait``, ``speed-up`` and ``cancel`` need the
sender's key, since they may sign.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from chainops.cli.runtime import (
    CONFIG,
    JOURNAL,
    JSON,
    NETWORK,
    RPC_URL,
    WALLET,
    YES,
    ExitCode,
    confirm_or_abort,
    connect,
    describe,
    err,
    fail,
    journal_file,
    run,
    settings_for,
    show,
    signer_for,
    tx_summary,
)
from chainops.config import Network, Settings, resolve_network
from chainops.core.errors import ChainopsError, ConfigurationError, NotFound
from chainops.core.journal import SqliteJournal
from chainops.core.platforms import get_chain
from chainops.core.transaction import Transaction, TxState

tx_app = typer.Typer(help="Follow and fix transactions the journal knows.", no_args_is_help=True)
TX_ID = typer.Argument(..., help="Client id (tx-…) or the hash of any attempt.")
_SETTLED = (TxState.CONFIRMED, TxState.FINALIZED)
_FAILED = (TxState.REVERTED, TxState.REJECTED, TxState.REPLACED, TxState.DROPPED, TxState.EXPIRED)


def is_pending(tx: Transaction) -> bool:
    """Not yet confirmed and not failed: what a user may still wait for or replace."""
    return not tx.is_terminal and tx.state not in _SETTLED


def find_tx(journal: SqliteJournal, ref: str) -> Transaction:
    """A journalled transaction by client id or attempt hash."""
    ref = ref.strip()
    found = journal.load(ref, Transaction)
    if found is None:
        by_hash = journal.find_by_venue_id(ref)
        found = by_hash if isinstance(by_hash, Transaction) else None
    if found is None and ref.startswith("0x"):
        for op in journal.list_operations(kind="transaction"):
            if isinstance(op, Transaction) and any(
                str(a.hash).lower() == ref.lower() for a in op.attempts
            ):
                return op
    if found is None:
        raise NotFound(f"no transaction {ref!r} in the journal {journal.path}")
    return found


def open_journal(path: Path | None) -> SqliteJournal:
    return SqliteJournal(journal_file(path))


def chain_name(settings: Settings, name: str) -> str:
    """The chain a network name stands for, without needing its RPC URL."""
    spec = settings.networks.get(name.lower())
    if spec is not None and spec.chain_id is not None:
        try:
            return get_chain(spec.chain_id).name
        except ConfigurationError:
            return name.lower()
    return get_chain(name).name


def network_of(settings: Settings, tx: Transaction, network: str | None) -> Network:
    """The network to reach ``tx`` through: ``--network``, else the config's if same chain."""
    net = resolve_network(settings, network)
    if net.chain.name != get_chain(tx.platform).name:
        raise ConfigurationError(
            f"{tx.client_id} is on {tx.platform}, but network {net.name!r} is "
            f"{net.chain.name}; pass --network"
        )
    return net


@tx_app.command("list")
def tx_list(
    account: str | None = typer.Option(None, "--account", help="Only this sender address."),
    pending: bool = typer.Option(False, "--pending", help="Only transactions not yet final."),
    limit: int = typer.Option(20, "--limit", min=1, help="Most recent N."),
    config: Path | None = CONFIG,
    network: str | None = NETWORK,
    journal: Path | None = JOURNAL,
    as_json: bool = JSON,
) -> None:
    """Pending and recent transactions, newest first."""
    try:
        settings = settings_for(config, None, None)
        chain = chain_name(settings, network) if network else None
        with open_journal(journal) as store:
            if pending:
                ops = store.non_terminal(kind="transaction", platform=chain, owner=account)
            else:
                ops = store.list_operations(kind="transaction", platform=chain, owner=account)
    except ChainopsError as exc:
        raise fail(exc, as_json) from None
    if pending:
        ops = [op for op in ops if isinstance(op, Transaction) and is_pending(op)]
    if account is not None:
        ops = [op for op in ops if op.owner.lower() == account.lower()]
    rows = [tx_summary(op) for op in reversed(ops) if isinstance(op, Transaction)][:limit]
    if as_json:
        show(rows, True)
    elif not rows:
        err.print("no transactions")
    else:
        for row in rows:
            print(f"{row['client_id']}  {row['state']:<10} {row['chain']:<10} {row['hash']}")


@tx_app.command("status")
def tx_status(
    ref: str = TX_ID,
    config: Path | None = CONFIG,
    network: str | None = NETWORK,
    rpc_url: str | None = RPC_URL,
    journal: Path | None = JOURNAL,
    as_json: bool = JSON,
) -> None:
    """The journal's record; for a pending transaction, also what the node says now."""
    try:
        with open_journal(journal) as store:
            tx = find_tx(store, ref)
        summary = tx_summary(tx)
        if is_pending(tx):
            try:
                settings = settings_for(config, network, rpc_url)
                summary["on_chain"] = run_lookup(network_of(settings, tx, network), tx)
            except ChainopsError as exc:  # the journal's record is still worth showing
                summary["on_chain"] = {"error": str(exc)}
    except ChainopsError as exc:
        raise fail(exc, as_json) from None
    show(summary, as_json, str(tx.client_id))


def run_lookup(net: Network, tx: Transaction) -> dict[str, Any]:
    """Receipts of every attempt, straight from the node (read-only)."""
    import asyncio

    from chainops.operators.evm.rpc import JsonRpcClient

    async def lookup() -> dict[str, Any]:
        rpc = JsonRpcClient(net.rpc_urls, timeout=10.0, read_retries=1)
        try:
            head = int(await rpc.call("eth_blockNumber", []), 16)
            for attempt in tx.attempts:
                receipt = await rpc.call("eth_getTransactionReceipt", [str(attempt.hash)])
                if receipt:
                    block = int(receipt["blockNumber"], 16)
                    return {
                        "mined": True,
                        "attempt": attempt.index,
                        "hash": str(attempt.hash),
                        "status": int(receipt["status"], 16),
                        "block": block,
                        "confirmations": head - block + 1,
                    }
            return {"mined": False, "head": head}
        finally:
            await rpc.close()

    return asyncio.run(lookup())


def _operate(
    ref: str,
    config: Path | None,
    network: str | None,
    rpc_url: str | None,
    wallet: str | None,
    journal: Path | None,
    as_json: bool,
) -> tuple[Transaction, Network, Any, Path]:
    """The transaction, its network and the sender's signer (checked to be the sender)."""
    try:
        path = journal_file(journal)
        with SqliteJournal(path) as store:
            tx = find_tx(store, ref)
        settings = settings_for(config, network, rpc_url)
        net = network_of(settings, tx, network)
        if tx.is_terminal or tx.state in _SETTLED:
            return tx, net, None, path  # nothing left to sign or follow
        signer = signer_for(settings, wallet)
        if str(signer.address).lower() != str(tx.sender).lower():
            raise ConfigurationError(
                f"{tx.client_id} was sent by {tx.sender}; the key given is {signer.address}"
            )
    except ChainopsError as exc:
        raise fail(exc, as_json) from None
    return tx, net, signer, path


async def _live(evm: Any, tx: Transaction) -> Transaction:
    """The operator's own (restored and tracked) copy of ``tx``."""
    for restored in evm.restored:
        if str(restored.client_id) == str(tx.client_id):
            live: Transaction = restored
            return live
    loaded = evm.journal.load(str(tx.client_id), Transaction)
    if loaded is None:
        raise NotFound(f"{tx.client_id} vanished from the journal")
    return loaded  # type: ignore[no-any-return]


def _exit_for(tx: Transaction) -> None:
    if tx.state in _FAILED:
        raise typer.Exit(code=int(ExitCode.TX_FAILED))


@tx_app.command("wait")
def tx_wait(
    ref: str = TX_ID,
    confirmations: int | None = typer.Option(None, "--confirmations", min=1),
    timeout: float = typer.Option(120.0, "--timeout", min=0.1),
    config: Path | None = CONFIG,
    network: str | None = NETWORK,
    rpc_url: str | None = RPC_URL,
    wallet: str | None = WALLET,
    journal: Path | None = JOURNAL,
    as_json: bool = JSON,
) -> None:
    """Wait until confirmed (exit 0), failed (exit 4) or the timeout (exit 5)."""
    tx, net, signer, path = _operate(ref, config, network, rpc_url, wallet, journal, as_json)
    if signer is None:
        show(tx_summary(tx, net), as_json, tx.state.name)
        _exit_for(tx)
        return

    async def body() -> dict[str, Any]:
        evm = await connect(net, signer, path)
        try:
            live = await _live(evm, tx)
            with err.status(f"waiting for {live.hash} ..."):
                await live.wait(confirmations=confirmations, timeout=timeout)
            return tx_summary(live, net)
        finally:
            await evm.close()

    show(run(body, as_json), as_json, "confirmed")


def _replace(
    cancel: bool,
    ref: str,
    config: Path | None,
    network: str | None,
    rpc_url: str | None,
    wallet: str | None,
    journal: Path | None,
    yes: bool,
    as_json: bool,
) -> None:
    tx, net, signer, path = _operate(ref, config, network, rpc_url, wallet, journal, as_json)
    if signer is None:
        error = ConfigurationError(f"{tx.client_id} is already {tx.state.name}; nothing to replace")
        raise fail(error, as_json)
    action = "cancel" if cancel else "speed up"
    lines = describe(net, str(signer.address)) | {action: f"{tx.client_id} (nonce {tx.nonce})"}
    confirm_or_abort(lines, yes, as_json)

    async def body() -> dict[str, Any]:
        evm = await connect(net, signer, path, close_timeout=0.0)
        try:
            live = await _live(evm, tx)
            if live.is_terminal:
                raise ConfigurationError(f"{live.client_id} is already {live.state.name}")
            attempt = await (evm.cancel(live) if cancel else evm.speed_up(live))
            return tx_summary(live, net) | {"new_attempt": str(attempt.hash)}
        finally:
            await evm.close()

    show(run(body, as_json), as_json, "cancel sent" if cancel else "speed-up sent")


@tx_app.command("speed-up")
def tx_speed_up(
    ref: str = TX_ID,
    config: Path | None = CONFIG,
    network: str | None = NETWORK,
    rpc_url: str | None = RPC_URL,
    wallet: str | None = WALLET,
    journal: Path | None = JOURNAL,
    yes: bool = YES,
    as_json: bool = JSON,
) -> None:
    """Re-sign a pending transaction at the same nonce with +10 % or more on fees."""
    _replace(False, ref, config, network, rpc_url, wallet, journal, yes, as_json)


@tx_app.command("cancel")
def tx_cancel(
    ref: str = TX_ID,
    config: Path | None = CONFIG,
    network: str | None = NETWORK,
    rpc_url: str | None = RPC_URL,
    wallet: str | None = WALLET,
    journal: Path | None = JOURNAL,
    yes: bool = YES,
    as_json: bool = JSON,
) -> None:
    """Replace a pending transaction with a 0-value self-transfer at the same nonce."""
    _replace(True, ref, config, network, rpc_url, wallet, journal, yes, as_json)
