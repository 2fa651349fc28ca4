"""ERC-20 tokens: metadata (bytes32 symbols too), balances, allowances, transfer, approve.

Calls never rely on a token's boolean return value, so tokens that return
nothing (USDT-style) work; success is the receipt's status.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from eth_abi.abi import decode

from chainops.abis import load_abi
from chainops.core.assets import Token, to_decimal
from chainops.core.errors import InsufficientFunds, ValidationError
from chainops.core.ids import EvmAddress
from chainops.core.transaction import Transaction
from chainops.operators.dapps.context import DexContext
from chainops.operators.evm.operator import EvmOperator
from chainops.operators.evm.requests import TxRequest

MAX_UINT256 = 2**256 - 1


def decode_text(raw: bytes) -> str:
    """A ``string`` return value, or a ``bytes32`` one (older tokens such as MKR)."""
    if len(raw) == 32:
        return raw.rstrip(b"\0").decode("utf-8", errors="replace")
    try:
        (text,) = decode(["string"], raw)
    except Exception:  # eth_abi raises several types for malformed data
        raise ValidationError("token returned neither a string nor bytes32") from None
    return str(text)


async def token_metadata(evm: EvmOperator, address: str) -> tuple[str, str, int]:
    """(name, symbol, decimals) read from the token contract."""
    handle = evm.contract(address, load_abi("ERC20"))
    name_raw, symbol_raw, decimals_raw = await asyncio.gather(
        evm.call(handle.request("name")),
        evm.call(handle.request("symbol")),
        evm.call(handle.request("decimals")),
    )
    decimals = int(handle.decode_result("decimals", decimals_raw))
    return decode_text(name_raw), decode_text(symbol_raw), decimals


class Erc20:
    """One ERC-20 token on the operator's chain."""

    def __init__(self, evm: EvmOperator, token: Token) -> None:
        self.evm = evm
        self.token = token
        self.handle = evm.contract(str(token.address), load_abi("ERC20"))

    @classmethod
    async def at(cls, evm: EvmOperator, address: str) -> Erc20:
        """A token read from its contract (symbol may be bytes32)."""
        _, symbol, decimals = await token_metadata(evm, address)
        return cls(evm, Token(symbol or "UNKNOWN", decimals, evm.chain.name, EvmAddress(address)))

    async def _uint(self, function: str, *args: object) -> int:
        raw = await self.evm.call(self.handle.request(function, *args))
        return int(self.handle.decode_result(function, raw))

    async def balance_raw(self, owner: str | None = None) -> int:
        return await self._uint("balanceOf", EvmAddress(owner or self.evm.owner))

    async def balance(self, owner: str | None = None) -> Decimal:
        return self.token.from_raw(await self.balance_raw(owner))

    async def allowance_raw(self, spender: str, owner: str | None = None) -> int:
        owner_address = EvmAddress(owner or self.evm.owner)
        return await self._uint("allowance", owner_address, EvmAddress(spender))

    async def allowance(self, spender: str, owner: str | None = None) -> Decimal:
        return self.token.from_raw(await self.allowance_raw(spender, owner))

    def transfer_request(self, to: str, raw: int) -> TxRequest:
        return self.handle.request("transfer", EvmAddress(to), raw)

    def approve_request(self, spender: str, raw: int) -> TxRequest:
        return self.handle.request("approve", EvmAddress(spender), raw)

    async def transfer(self, to: str, amount: Decimal | int | str) -> Transaction:
        """Send ``amount`` to ``to``; refused before sending if the balance is short."""
        raw = self._positive(amount)
        have = await self.balance_raw()
        if have < raw:
            raise InsufficientFunds(
                f"{self.evm.owner} holds {self.token.from_raw(have)} {self.token.symbol}, "
                f"cannot send {self.token.from_raw(raw)}"
            )
        return await self.evm.send(self.transfer_request(to, raw))

    async def approve(
        self, spender: str, amount: Decimal | int | str | None = None, *, unlimited: bool = False
    ) -> Transaction:
        """Approve exactly ``amount`` (the default); ``unlimited=True`` approves 2**256-1."""
        if unlimited == (amount is not None):
            raise ValidationError("approve needs an amount, or unlimited=True (not both)")
        raw = MAX_UINT256 if unlimited else self._positive(amount, allow_zero=True)
        return await self.evm.send(self.approve_request(spender, raw))

    async def ensure_allowance(
        self, spender: str, amount: Decimal | int | str | None = None, *, raw: int | None = None
    ) -> Transaction | None:
        """Approve exactly what is missing for ``amount``; None when the allowance suffices.

        Idempotent: a second call sends nothing. Tokens that refuse changing a non-zero
        allowance (USDT-style) are reset to 0 first.
        """
        need = raw if raw is not None else self._positive(amount)
        current = await self.allowance_raw(spender)
        if current >= need:
            return None
        if current:
            reset = await self.evm.send(self.approve_request(spender, 0))
            await reset.wait()
        tx = await self.evm.send(self.approve_request(spender, need))
        await tx.wait()
        return tx

    def _positive(self, amount: Decimal | int | str | None, *, allow_zero: bool = False) -> int:
        if amount is None:
            raise ValidationError("an amount is required")
        if allow_zero and to_decimal(amount) == 0:
            return 0  # approve(spender, 0) revokes
        return DexContext.raw_amount(self.token, amount)
