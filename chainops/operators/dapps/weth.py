"""WETH9: wrap ETH with ``deposit()`` and unwrap with ``withdraw``.

The devnet's WETH9 (from the Uniswap V2 periphery package) has no payable
fallback, so plain ETH sent to it reverts: wrapping always calls ``deposit()``.
"""

from __future__ import annotations

from decimal import Decimal

from chainops.abis import load_abi
from chainops.core.assets import Token
from chainops.core.errors import InsufficientFunds
from chainops.core.transaction import Transaction
from chainops.operators.dapps.context import DexContext
from chainops.operators.dapps.erc20 import Erc20


class Weth(Erc20):
    """The wrapped native token."""

    def __init__(self, ctx: DexContext, token: Token | None = None) -> None:
        super().__init__(ctx.evm, token or ctx.token("WETH"))
        self.weth = ctx.evm.contract(str(self.token.address), load_abi("WETH9"))

    async def wrap(self, amount: Decimal | int | str) -> Transaction:
        """Turn ``amount`` ETH into WETH."""
        raw = DexContext.raw_amount(self.token, amount)
        value = self.token.from_raw(raw)
        have = await self.evm.balance()
        if have < value:
            raise InsufficientFunds(f"{self.evm.owner} has {have} ETH, cannot wrap {value}")
        return await self.evm.send(self.weth.request("deposit", value=value))

    async def unwrap(self, amount: Decimal | int | str) -> Transaction:
        """Turn ``amount`` WETH back into ETH."""
        raw = DexContext.raw_amount(self.token, amount)
        have = await self.balance_raw()
        if have < raw:
            raise InsufficientFunds(
                f"{self.evm.owner} holds {self.token.from_raw(have)} WETH, cannot unwrap "
                f"{self.token.from_raw(raw)}"
            )
        return await self.evm.send(self.weth.request("withdraw", raw))
