"""Example: quote and send a Uniswap V3 swap on a running devnet, print the Order.

chainops devnet up            # in another terminal; note the RPC URL
CHAINOPS_RPC_URL=http://127.0.0.1:PORT python scripts/example_swap.py
"""

from __future__ import annotations

import asyncio
import os
from decimal import Decimal

from chainops.devnet.world import World
from chainops.operators.base import OperatorFactory
from chainops.operators.dapps import Bps, DexContext, UniswapV3


async def main() -> None:
    book = World.address_book()
    evm = OperatorFactory.create(
        "devnet",
        rpc_url=os.environ["CHAINOPS_RPC_URL"],
        private_key=os.environ.get("CHAINOPS_PRIVATE_KEY", book.accounts[1].private_key),
    )
    async with evm:
        uni = UniswapV3(DexContext(evm, book))  # type: ignore[arg-type]
        quote = await uni.quote_exact_in(
            ["WETH", "USDC"], Decimal("1.5"), fee=500, slippage=Bps(50)
        )
        print("quote:", quote.record())
        order = await (await uni.swap(quote)).wait()
        print(order, "fills:", dict(order.fills), "fees:", order.fees)


if __name__ == "__main__":
    asyncio.run(main())
