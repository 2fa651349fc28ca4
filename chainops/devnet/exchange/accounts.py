"""Accounts of the simulator: API key, its secret or public key, balances with locks."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from decimal import Decimal

from chainops.devnet.exchange import errors
from chainops.devnet.exchange.signatures import (
    HMAC,
    KeyType,
    key_type,
    new_key_pair,
    public_key_type,
)

__all__ = ["PAPER_FUNDS", "Account", "Balance", "new_account"]

# what a paper account of ``python -m chainops.devnet.exchange`` starts with (no ``--fund``)
PAPER_FUNDS: dict[str, Decimal | str | int] = {"USDT": "10000", "ETH": "10"}


@dataclass
class Balance:
    free: Decimal = Decimal(0)
    locked: Decimal = Decimal(0)


@dataclass(eq=False)
class Account:
    """One trading account; every amount is an exact Decimal.

    An HMAC account signs with ``secret``; an RSA or Ed25519 one registered
    ``public_key`` (PEM), which is all the venue verifies with. ``private_key`` is
    the caller's copy of a generated pair's private half (PEM), empty otherwise.
    """

    api_key: str
    secret: str
    balances: dict[str, Balance] = field(default_factory=dict)
    commission: Decimal = Decimal("0.001")  # Binance's base spot rate, paid in what is received
    key_type: KeyType = HMAC
    public_key: str = ""
    private_key: str = field(default="", repr=False)

    @property
    def verifying_key(self) -> str:
        """What signatures are checked against: the HMAC secret or the PEM public key."""
        return self.secret if self.key_type == HMAC else self.public_key

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


def new_account(
    api_key: str, kind: str = "hmac", secret: str | None = None, public_key: str | None = None
) -> Account:
    """An unfunded account of key type ``kind`` (``hmac``, ``rsa`` or ``ed25519``).

    HMAC: ``secret``, or a random one. RSA/Ed25519: ``public_key`` (PEM) registers the
    caller's key, or a pair is made and its private half returned in ``private_key``.
    """
    wanted = key_type(kind)
    if wanted == HMAC:
        if public_key is not None:
            raise ValueError("an HMAC account takes a secret, not a public key")
        return Account(api_key, secret or secrets.token_hex(32))
    if secret is not None:
        raise ValueError(f"an {wanted} account takes a public key, not a secret")
    if public_key is None:
        public_key, private_key = new_key_pair(wanted)
    else:
        private_key = ""
        if public_key_type(public_key) != wanted:
            raise ValueError(f"the public key is not an {wanted} key")
    return Account(api_key, "", key_type=wanted, public_key=public_key, private_key=private_key)
