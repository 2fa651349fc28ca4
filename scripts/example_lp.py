"""Example: a Uniswap V3 liquidity round trip on a running devnet: mint in a price range,
list the position, collect fees, close it.

    CHAINOPS_RPC_URL=http://127.0.0.1:PORT python scripts/example_lp.py
"""

from __future__ import annotations

import asyncio
import os
from decimal import Decimal

from chainops.devnet.world import World
from chainops.operators.base import OperatorFactory
from chainops.operators.dapps import DexContext, V3Positions


async def main() -> None:
    book = World.address_book()
    evm = OperatorFactory.create(
        "devnet",
        rpc_url=os.environ["CHAINOPS_RPC_URL"],
        private_key=os.environ.get("CHAINOPS_PRIVATE_KEY", book.accounts[1].private_key),
    )
    async with evm:
        lp = V3Positions(DexContext(evm, book))  # type: ignore[arg-type]
        plan = await lp.plan_mint(
            "WETH", "USDC", 500, Decimal(1), Decimal(2000), price_range=("1800", "2200")
        )
        print("ticks", plan.tick_lower, plan.tick_upper, "minimums", plan.minimum)
        _, token_id = await lp.mint(plan)
        for position in await lp.positions():
            print(position.to_dict())
        await (await lp.collect(token_id)).wait()
        closed = await lp.close(token_id)
        print("closed", closed.to_dict())


if __name__ == "__main__":
    asyncio.run(main())
