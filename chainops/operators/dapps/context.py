"""What every DAppOperator shares: the EVM operator, the address book, token resolution,
amount checks, deadlines and sending with simulation errors translated."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from chainops.core.addressbook import AddressBook
from chainops.core.assets import Token, to_decimal
from chainops.core.errors import (
    ConfigurationError,
    InvalidAmount,
    Reverted,
    SlippageExceeded,
    ValidationError,
)
from chainops.core.ids import EvmAddress
from chainops.core.transaction import Transaction
from chainops.deployments.registry import UnknownToken as UnknownToken
from chainops.operators.dapps.checks import check_deadline
from chainops.operators.dapps.quote import DEFAULT_DEADLINE_SECONDS
from chainops.operators.evm.operator import EvmOperator
from chainops.operators.evm.requests import TxRequest

# Revert reasons that mean "the price moved past the limit" on V2 and V3 routers.
SLIPPAGE_REASONS = (
    "INSUFFICIENT_OUTPUT_AMOUNT",
    "EXCESSIVE_INPUT_AMOUNT",
    "Too little received",
    "Too much requested",
    "Price slippage check",
    "INSUFFICIENT_A_AMOUNT",
    "INSUFFICIENT_B_AMOUNT",
)
NATIVE = "ETH"


class UnknownPool(ValidationError):
    """No pool for the requested tokens (and fee tier)."""


class DexContext:
    """An EVM operator plus the address book of the chain's contracts, tokens and pools."""

    def __init__(self, evm: EvmOperator, book: AddressBook) -> None:
        if book.chain_id != evm.chain_id:
            raise ConfigurationError(
                f"address book is for chain {book.chain_id}, operator for {evm.chain_id}"
            )
        self.evm = evm
        self.book = book
        self._tokens = {
            symbol: Token(t.symbol, t.decimals, evm.chain.name, EvmAddress(t.address))
            for symbol, t in book.tokens.items()
        }
        self._by_address = {str(t.address).lower(): t for t in self._tokens.values()}
        wrapped = book.contracts.get("WETH9", "").lower()
        self.wrapped = next(
            (k for k, t in book.tokens.items() if t.kind == "weth" or t.address.lower() == wrapped),
            "WETH",
        )
        # The chain's own coin by its symbol; "ETH" only where that coin is ether: on Polygon
        # or BSC it would name POL or BNB, while bridged ether there is the token WETH.
        self.native_symbols = {evm.native.symbol.upper()}

    def is_native(self, ref: str) -> bool:
        """Whether ``ref`` names the chain's native coin (swapped through the wrapped one)."""
        return ref.strip().upper() in self.native_symbols

    def token(self, ref: str | Token) -> Token:
        """A token by symbol or address (the native coin resolves to its wrapped token)."""
        if isinstance(ref, Token):
            return ref
        key = ref.strip()
        if self.is_native(key):
            key = self.wrapped
        found = self._tokens.get(key.upper()) or self._by_address.get(key.lower())
        if found is None:
            native = self.evm.native.symbol
            if key.upper() == NATIVE:
                raise UnknownToken(
                    f"{ref!r} is not {self.evm.chain.name}'s coin: its native coin is {native}"
                    f" (wrapped {self.wrapped}); bridged ether, where there is one, is WETH"
                )
            known = ", ".join(sorted(self._tokens))
            raise UnknownToken(f"unknown token {ref!r} (known: {native}, {known})")
        return found

    def token_at(self, address: str) -> Token:
        found = self._by_address.get(address.lower())
        if found is None:
            raise UnknownToken(f"no token at {address}")
        return found

    def contract_address(self, name: str) -> str:
        try:
            return self.book.contract(name)
        except ConfigurationError as exc:
            raise ConfigurationError(f"this chain's address book lacks {name}: {exc}") from None

    @staticmethod
    def raw_amount(token: Token, amount: Decimal | int | str, what: str = "amount") -> int:
        """``amount`` in raw units: positive and no finer than the token's decimals."""
        value = to_decimal(amount, what=what)
        if value <= 0:
            raise InvalidAmount(f"{what} must be positive, got {value}")
        try:
            return token.to_raw(value)
        except InvalidAmount:
            raise InvalidAmount(
                f"{what} {value} has more decimals than {token.symbol} ({token.decimals})"
            ) from None

    async def block(self) -> tuple[int, int]:
        """The latest block's (number, timestamp)."""
        head = await self.evm.batcher.call("eth_getBlockByNumber", ["latest", False])
        return int(head["number"], 16), int(head["timestamp"], 16)

    async def deadline(self, deadline: int | None, seconds: int | None = None) -> int:
        """A unix deadline: given (must be in the future) or chain time + ``seconds``."""
        check_deadline(deadline)
        check_deadline(seconds, "deadline seconds")
        _, now = await self.block()
        return self.deadline_at(now, deadline, seconds)

    @staticmethod
    def deadline_at(now: int, deadline: int | None, seconds: int | None = None) -> int:
        """The deadline check against a chain time already read."""
        deadline = check_deadline(deadline)
        seconds = check_deadline(seconds, "deadline seconds")
        if deadline is None:
            # From the later of chain time and the local clock: a devnet whose head is
            # hours old (loaded from a cached state) mines its next block at wall-clock
            # time, so a chain-time deadline would already have passed.
            base = max(now, int(time.time()))
            return base + (DEFAULT_DEADLINE_SECONDS if seconds is None else seconds)
        if deadline <= now:
            raise ValidationError(
                f"deadline {deadline} is not after the chain's time {now} "
                f"(local clock {int(time.time())})"
            )
        return deadline

    async def send(self, request: TxRequest) -> Transaction:
        """Send through the operator; a simulated slippage revert is SlippageExceeded."""
        try:
            return await self.evm.send(request)
        except Reverted as exc:
            reason = exc.reason or str(exc)
            if any(marker in reason for marker in SLIPPAGE_REASONS):
                raise SlippageExceeded(
                    f"the price moved past the allowed slippage ({reason}); nothing was sent"
                ) from exc
            raise

    async def receipt(self, tx: Transaction) -> dict[str, Any]:
        """The full JSON receipt (with logs) of a mined transaction."""
        result: dict[str, Any] = await self.evm.batcher.call(
            "eth_getTransactionReceipt", [str(tx.hash)]
        )
        if result is None:
            raise ValidationError(f"{tx.hash} has no receipt yet")
        return result
