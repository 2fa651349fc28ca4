"""The chainops demo: start the devnet world, show it, wrap ETH through an operator, stop.

Run with `make demo` (which sets everything up first).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.table import Table

from chainops.abis import load_abi
from chainops.cli.render import address_book_tables
from chainops.core.errors import ChainopsError
from chainops.devnet.world import World
from chainops.operators.base import OperatorFactory
from chainops.operators.evm.operator import EvmOperator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))  # the demo parts live beside this file

from demo_cex import run_cex_demo  # noqa: E402
from demo_dex import run_dex_demo  # noqa: E402

console = Console()


async def wrap_eth(world: World, journal: Path, amount: Decimal) -> None:
    account = world.book.accounts[1]
    weth = world.book.contracts["WETH9"]
    operator = OperatorFactory.create(
        "devnet", rpc_url=world.rpc_url, private_key=account.private_key, journal_path=journal
    )
    assert isinstance(operator, EvmOperator)
    async with operator as evm:
        token = evm.contract(weth, load_abi("WETH9"))

        async def weth_balance() -> Decimal:
            raw = token.decode_result(
                "balanceOf", await evm.call(token.request("balanceOf", evm.owner))
            )
            return Decimal(raw) / 10**18

        before = await weth_balance()
        console.print(f"\n[bold]Wrapping {amount} ETH into WETH[/bold] as {evm.owner}")
        tx = await evm.send(token.request("deposit", value=amount))
        console.print(f"  sent {tx.hash}\n  nonce {tx.nonce}, state {tx.state.name}")
        await tx.wait()
        after = await weth_balance()
        assert tx.receipt is not None
        table = Table(title="wrap result", title_justify="left")
        table.add_column("field")
        table.add_column("value", overflow="fold")
        table.add_row("client id", str(tx.client_id))
        table.add_row("tx hash", str(tx.hash))
        table.add_row("state", tx.state.name)
        table.add_row("block", str(tx.receipt.block_number))
        table.add_row("gas used", str(tx.receipt.gas_used))
        table.add_row("fee paid", str(tx.fee))
        table.add_row("WETH before", f"{before:f}")
        table.add_row("WETH after", f"{after:f}")
        table.add_row("journal", str(journal))
        console.print(table)
        if after - before != amount:
            raise SystemExit(f"WETH balance moved by {after - before}, expected {amount}")


def main() -> int:
    console.print("[bold]chainops demo[/bold]: starting the devnet world…")
    try:
        world = World.start()
    except ChainopsError as exc:
        console.print(f"[red]could not start the devnet:[/red] {exc}")
        return 1
    try:
        origin = "from the cached state" if world.started_from_cache else "deployed from scratch"
        console.print(
            f"devnet up in {world.startup_seconds:.2f} s ({origin}): "
            f"chain id [bold]{world.chain_id}[/bold], RPC [bold]{world.rpc_url}[/bold]\n"
        )
        for table in address_book_tables(world.book, world.rpc_url):
            console.print(table)
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(wrap_eth(world, Path(tmp) / "journal.sqlite", Decimal("1.5")))
        console.rule("Uniswap V2 and V3: swaps, a V3 position, fees collected")
        asyncio.run(run_dex_demo(world, console))
        console.rule("A limit order on the local Binance-compatible exchange")
        asyncio.run(run_cex_demo(console))
    finally:
        world.stop()
        console.print("\ndevnet stopped cleanly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
