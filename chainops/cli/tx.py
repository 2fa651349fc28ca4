"""``chainops tx``: status, wait, speed-up, cancel and list for journalled transactions.

A transaction is named by its client id (``tx0…``) or by the hash of any of its
attempts. ``status`` and ``list`` read the journal (``status`` also asks the node
about attempts still pending); ``wait`` on a pending transaction, ``speed-up`` and
``cancel`` need the sender's key, since they may sign.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from chainops.cli.exitcodes import ExitCode
from chainops.cli.options import command
from chainops.cli.runtime import Runtime, err
from chainops.cli.txview import find_tx, receipts, tx_summary, wait_depth

if TYPE_CHECKING:
    from chainops.config import Network
    from chainops.core.transaction import Transaction

tx_app = typer.Typer(help="Follow and fix transactions the journal knows.", no_args_is_help=True)
TX_ID = typer.Argument(..., help="Client id (e.g. tx0hos3a66ri9ncbhjd) or the hash of any attempt.")
_SETTLED = ("CONFIRMED", "FINALIZED")
_FAILED = ("REVERTED", "REJECTED", "REPLACED", "DROPPED", "EXPIRED")


def is_pending(tx: Transaction) -> bool:
    """Not yet confirmed and not failed: what a user may still wait for or replace."""
    return not tx.is_terminal and tx.state.name not in _SETTLED


def _load(rt: Runtime, ref: str) -> Transaction:
    from chainops.core.journal import open_journal

    with open_journal(rt.journal_file()) as store:
        return find_tx(store, ref)


def _network(rt: Runtime, tx: Transaction) -> Network:
    """``--network`` (else the config's), checked to be the transaction's chain."""
    from chainops.core.errors import ConfigurationError
    from chainops.core.platforms import get_chain

    net = rt.net()
    if net.chain.name != get_chain(tx.platform).name:
        raise ConfigurationError(
            f"{tx.client_id} is on {tx.platform}, but network {net.name!r} is "
            f"{net.chain.name}; pass --network"
        )
    return net


def _chain_name(rt: Runtime, name: str) -> str:
    """The chain a network name stands for, without needing its RPC URL."""
    from chainops.core.errors import ConfigurationError
    from chainops.core.platforms import get_chain

    spec = rt.settings().networks.get(name.lower())
    if spec is not None and spec.chain_id is not None:
        try:
            return get_chain(spec.chain_id).name
        except ConfigurationError:
            return name.lower()
    return get_chain(name).name


@command(tx_app, "list", account=False, journal=True)
def tx_list(
    account: str | None = typer.Option(None, "--account", help="Only this sender address."),
    pending: bool = typer.Option(False, "--pending", help="Only transactions not yet final."),
    limit: int = typer.Option(20, "--limit", min=1, help="Most recent N."),
    *,
    rt: Runtime,
) -> None:
    """Pending and recent transactions, newest first."""
    from chainops.core.journal import open_journal
    from chainops.core.transaction import Transaction

    chain = _chain_name(rt, rt.network) if rt.network else None
    with open_journal(rt.journal_file()) as store:
        if pending:
            ops = store.non_terminal(kind="transaction", platform=chain, owner=account)
        else:
            ops = store.list_operations(kind="transaction", platform=chain, owner=account)
    txs = [op for op in ops if isinstance(op, Transaction)]
    if pending:
        txs = [tx for tx in txs if is_pending(tx)]
    if account is not None:
        txs = [tx for tx in txs if tx.owner.lower() == account.lower()]
    rows = [tx_summary(tx) for tx in reversed(txs)][:limit]
    if rt.as_json:
        rt.show(rows)
    elif not rows:
        err.print("no transactions")
    else:
        for row in rows:
            print(f"{row['client_id']}  {row['state']:<10} {row['chain']:<10} {row['hash']}")


@command(tx_app, "status", account=False, journal=True)
def tx_status(ref: str = TX_ID, *, rt: Runtime) -> None:
    """The journal's record; for a pending transaction, also what the node says now."""
    from chainops.core.errors import ChainopsError

    tx = _load(rt, ref)
    summary = tx_summary(tx)
    if is_pending(tx):
        try:
            net = _network(rt, tx)
            summary["on_chain"] = rt.run(lambda: receipts(net, tx))
        except ChainopsError as exc:  # the journal's record is still worth showing
            summary["on_chain"] = {"error": str(exc)}
    rt.show(summary, str(tx.client_id))


def _check_sender(tx: Transaction, signer: Any) -> None:
    from chainops.core.errors import ConfigurationError

    if str(signer.address).lower() != str(tx.sender).lower():
        raise ConfigurationError(
            f"{tx.client_id} was sent by {tx.sender}; the key given is {signer.address}"
        )


async def _live(evm: Any, tx: Transaction) -> Transaction:
    """The operator's own (restored and tracked) copy of ``tx``."""
    from chainops.core.errors import NotFound
    from chainops.core.transaction import Transaction

    for restored in evm.restored:
        if str(restored.client_id) == str(tx.client_id):
            live: Transaction = restored
            return live
    loaded = evm.journal.load(str(tx.client_id), Transaction)
    if loaded is None:
        raise NotFound(f"{tx.client_id} vanished from the journal")
    return loaded  # type: ignore[no-any-return]


@command(tx_app, "wait")
def tx_wait(
    ref: str = TX_ID,
    confirmations: int | None = typer.Option(
        None, "--confirmations", min=1, help="Blocks deep (default: the network's)."
    ),
    timeout: float = typer.Option(120.0, "--timeout", min=0.1, help="Seconds before exit 5."),
    *,
    rt: Runtime,
) -> None:
    """Wait until confirmed N deep (exit 0), failed (exit 4) or the timeout (exit 5)."""
    tx = _load(rt, ref)
    net = _network(rt, tx)
    resume = rt.resume_tx_wait(str(tx.client_id), *_depth_args(confirmations))
    if tx.state.name in _FAILED or (tx.is_terminal and tx.state.name not in _SETTLED):
        rt.show(tx_summary(tx, net), tx.state.name)
        raise typer.Exit(code=int(ExitCode.FAILED))
    if tx.state.name in _SETTLED:
        depth = confirmations or net.confirmations
        with rt.waiting(str(tx.client_id), resume):
            reached = rt.run(lambda: wait_depth(net, tx, depth, timeout))
        rt.show(tx_summary(tx, net) | {"confirmations": reached}, "confirmed")
        return
    signer = rt.signer()
    _check_sender(tx, signer)

    async def body() -> dict[str, Any]:
        evm = await rt.connect(signer)
        try:
            live = await _live(evm, tx)
            with rt.waiting(str(tx.client_id), resume):
                await live.wait(confirmations=confirmations, timeout=timeout)
            return tx_summary(live, net)
        finally:
            await evm.close()

    rt.show(rt.run(body), "confirmed")


def _depth_args(confirmations: int | None) -> tuple[str, ...]:
    return () if confirmations is None else ("--confirmations", str(confirmations))


def _replacement(cancel: bool) -> None:
    """Register ``tx speed-up`` or ``tx cancel``: one body, one signature."""
    action = "cancel" if cancel else "speed up"

    def replace(ref: str = TX_ID, *, rt: Runtime) -> None:
        from chainops.core.errors import ConfigurationError

        tx = _load(rt, ref)
        net = _network(rt, tx)
        if not is_pending(tx):
            raise ConfigurationError(
                f"{tx.client_id} is already {tx.state.name}; nothing to {action}"
            )
        signer = rt.signer()
        _check_sender(tx, signer)
        rt.confirm(
            rt.describe(str(signer.address)) | {action: f"{tx.client_id} (nonce {tx.nonce})"}
        )

        async def body() -> dict[str, Any]:
            evm = await rt.connect(signer)
            try:
                live = await _live(evm, tx)
                if live.is_terminal:
                    raise ConfigurationError(f"{live.client_id} is already {live.state.name}")
                attempt = await (live.cancel() if cancel else live.speed_up())
                return tx_summary(live, net) | {"new_attempt": str(attempt.hash)}
            finally:
                await evm.close()

        rt.show(rt.run(body), "cancel sent" if cancel else "speed-up sent")

    replace.__doc__ = (
        "Replace a pending transaction with a 0-value self-transfer at the same nonce."
        if cancel
        else "Re-sign a pending transaction at the same nonce with +10 % or more on fees."
    )
    command(tx_app, "cancel" if cancel else "speed-up", acts=True)(replace)


_replacement(cancel=False)
_replacement(cancel=True)
