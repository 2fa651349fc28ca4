"""``chainops send``: native and ERC-20 transfers through the EvmOperator."""

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
    confirm_or_abort,
    connect,
    describe,
    err,
    fail,
    journal_file,
    parse_amount,
    run,
    settings_for,
    show,
    signer_for,
    tx_summary,
)
from chainops.config import Network, resolve_network
from chainops.core.assets import Token
from chainops.core.errors import ChainopsError
from chainops.core.ids import EvmAddress

NO_WAIT = typer.Option(False, "--no-wait", help="Return once broadcast; `tx wait` follows it.")
CONFIRMATIONS = typer.Option(
    None, "--confirmations", min=1, help="Blocks to wait for (default: the network's)."
)
TIMEOUT = typer.Option(120.0, "--timeout", min=0.1, help="Seconds to wait before exit code 5.")


def token_for(net: Network, asset: str) -> Token | None:
    """None for the native asset; else the network's token by symbol or address."""
    from chainops.deployments import deployment, register_address_book

    if asset.upper() == net.chain.native_symbol.upper():
        return None
    if net.chain.is_local:
        from chainops.devnet.world import World

        register_address_book(World.address_book(), net.chain.name)
    return deployment(net.chain.name).token(asset)


def send(
    amount: str = typer.Argument(..., help="Amount in whole units, e.g. 0.5 (a dot, no commas)."),
    asset: str = typer.Argument("", help="Token symbol or address (default: the native asset)."),
    to: str = typer.Option(..., "--to", help="Recipient address."),
    config: Path | None = CONFIG,
    network: str | None = NETWORK,
    rpc_url: str | None = RPC_URL,
    wallet: str | None = WALLET,
    journal: Path | None = JOURNAL,
    no_wait: bool = NO_WAIT,
    confirmations: int | None = CONFIRMATIONS,
    timeout: float = TIMEOUT,
    yes: bool = YES,
    as_json: bool = JSON,
) -> None:
    """Send the native asset or an ERC-20 token; shows network and account, then asks."""
    try:
        value = parse_amount(amount)
        recipient = EvmAddress(to)
        settings = settings_for(config, network, rpc_url)
        net = resolve_network(settings)
        token = token_for(net, asset or net.chain.native_symbol)
        raw = token.to_raw(value) if token is not None else None  # too precise: refused here
        symbol = net.chain.native_symbol if token is None else token.symbol
        path = journal_file(journal)
        signer = signer_for(settings, wallet)
    except ChainopsError as exc:
        raise fail(exc, as_json) from None
    lines = describe(net, str(signer.address))
    lines |= {"send": f"{value} {symbol}", "to": str(recipient)}
    if token is not None:
        lines["token"] = str(token.address)
    confirm_or_abort(lines, yes, as_json)

    async def body() -> dict[str, Any]:
        settings_extra: dict[str, Any] = {"close_timeout": 0.0} if no_wait else {}
        evm = await connect(net, signer, path, **settings_extra)
        try:
            if token is None:
                tx = await evm.send(to=recipient, value=value, priority=net.fee.priority)
            else:
                from chainops.abis import load_abi

                handle = evm.contract(str(token.address), load_abi("ERC20"))
                request = handle.request("transfer", str(recipient), raw, priority=net.fee.priority)
                tx = await evm.send(request)
            if not no_wait:
                with err.status(f"waiting for {tx.hash} ..."):
                    await tx.wait(confirmations=confirmations, timeout=timeout)
            return tx_summary(tx, net) | {"amount": str(value), "asset": symbol}
        finally:
            await evm.close()

    result = run(body, as_json)
    show(result, as_json, "sent" if no_wait else "confirmed")


__all__ = ["send", "token_for"]
