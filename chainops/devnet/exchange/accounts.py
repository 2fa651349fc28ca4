"""Accounts of the simulator: API key, secret, balances with locks."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from chainops.devnet.exchange import errors

__all__ = ["PAPER_FUNDS", "Account", "Balance"]

# what a paper account of ``python -m chainops.devnet.exchange`` starts with (no ``--fund``)
PAPER_FUNDS: dict[str, Decimal | str | int] = {"USDT": "10000", "ETH": "10"}


@dataclass
class Balance:
    free: Decimal = Decimal(0)
    locked: Decimal = Decimal(0)


@dataclass(eq=False)
class Account:
    """One trading account; every amount is an exact Decimal."""

    api_key: str
    secret: str
    balances: dict[str, Balance] = field(default_factory=dict)
    commission: Decimal = Decimal("0.001")  # Binance's base spot rate, paid in what is received

    def balance(self, asset: str) -> Balance:
        return self.balances.setdefault(asset, Balance())

    def deposit(self, asset: str, amount: Decimal) -> None:
        self.balance(asset).free += amount

    def lock(self, asset: str, amount: Decimal) -> None:
        bal = self.balance(asset)
        if amount > bal.free:
            raise errors.insufficient_balance()
        bal.free -= amount
        bal.locked += amount

    def unlock(self, asset: str, amount: Decimal) -> None:
        bal = self.balance(asset)
        bal.locked -= amount
        bal.free += amount

    def spend_locked(self, asset: str, amount: Decimal) -> None:
        self.balance(asset).locked -= amount

    def spend_free(self, asset: str, amount: Decimal) -> None:
        bal = self.balance(asset)
        if amount > bal.free:
            raise errors.insufficient_balance()
        bal.free -= amount

    def to_json(self) -> list[dict[str, str]]:
        return [
            {"asset": a, "free": f"{b.free:.8f}", "locked": f"{b.locked:.8f}"}
            for a, b in sorted(self.balances.items())
        ]
