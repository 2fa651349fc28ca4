"""``chainops send``: native and ERC-20 transfers through the EvmOperator."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from chainops.cli.options import command
from chainops.cli.runtime import Runtime, check_places, parse_amount
from chainops.cli.txview import tx_summary

if TYPE_CHECKING:
    from chainops.config import Network
    from chainops.core.assets import Token

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


@command(None, "send", acts=True)
def send(
    amount: str = typer.Argument(..., help="Amount in whole units, e.g. 0.5 (a dot, no commas)."),
    asset: str = typer.Argument("", help="Token symbol or address (default: the native asset)."),
    to: str = typer.Option(..., "--to", help="Recipient address."),
    no_wait: bool = NO_WAIT,
    confirmations: int | None = CONFIRMATIONS,
    timeout: float = TIMEOUT,
    *,
    rt: Runtime,
) -> None:
    """Send the native asset or an ERC-20 token; shows network and account, then asks."""
    from chainops.core.ids import EvmAddress

    value = parse_amount(amount)
    recipient = EvmAddress(to)
    if int(str(recipient), 16) == 0:
        from chainops.core.errors import ValidationError

        # Nobody holds the zero address's key: what is sent there is gone for good.
        raise ValidationError("refusing to send to the zero address: nothing sent there returns")
    net = rt.net()
    token = token_for(net, asset or net.chain.native_symbol)
    check_places(value, net.chain.native_decimals if token is None else token.decimals)
    raw = token.to_raw(value) if token is not None else None
    symbol = net.chain.native_symbol if token is None else token.symbol
    signer = rt.signer()
    shown = f"{format(value, 'f')} {symbol}"
    lines = rt.describe(str(signer.address)) | {"send": shown, "to": str(recipient)}
    if token is not None:
        lines["token"] = str(token.address)
    rt.confirm(lines)

    async def body() -> dict[str, Any]:
        evm = await rt.connect(signer)
        try:
            if token is None:
                tx = await evm.send(to=recipient, value=value, priority=net.fee.priority)
            else:
                from chainops.abis import load_abi
                from chainops.core.errors import InsufficientFunds
                from chainops.operators.dapps.erc20 import Erc20

                held = await Erc20(evm, token).balance_raw()
                if raw is not None and held < raw:  # the transfer would revert: send nothing
                    raise InsufficientFunds(
                        f"{evm.owner} holds {token.from_raw(held)} {symbol}, cannot send {shown}"
                    )
                handle = evm.contract(str(token.address), load_abi("ERC20"))
                request = handle.request("transfer", str(recipient), raw, priority=net.fee.priority)
                tx = await evm.send(request)
            if not no_wait:
                with rt.waiting_tx(str(tx.client_id)):
                    await tx.wait(confirmations=confirmations, timeout=timeout)
            return tx_summary(tx, net) | {"amount": value, "asset": symbol}
        finally:
            await evm.close()

    rt.show(rt.run(body), "sent" if no_wait else "confirmed")


__all__ = ["send", "token_for"]
