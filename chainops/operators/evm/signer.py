"""Local EVM signing: a private key from a value, an encrypted keystore or the environment.

The key never appears in ``repr``, ``str``, logs or errors. Type 2 transactions
without an access list and EIP-155 legacy transactions, given as ints and bytes,
are signed by :mod:`chainops.operators.evm.fastsign` (libsecp256k1 directly,
byte-identical output); every other shape goes through eth-account.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coincurve import PrivateKey
from eth_account import Account
from eth_account.signers.local import LocalAccount

from chainops.core.errors import AuthenticationError, ConfigurationError, ValidationError
from chainops.core.ids import EvmAddress, TxHash
from chainops.operators.evm import fastsign


@dataclass(frozen=True)
class SignedTx:
    """Raw signed bytes and their hash: what the journal keeps before broadcast."""

    raw: bytes
    hash: TxHash


class LocalSigner:
    """Signs EVM transactions with a key held in this process."""

    __slots__ = ("_account", "_key", "address")

    def __init__(self, account: LocalAccount) -> None:
        self._account = account
        # The same secret as a libsecp256k1 key object, for the fast path.
        self._key = PrivateKey(bytes(account.key))
        self.address = EvmAddress(account.address)

    @classmethod
    def from_key(cls, private_key: str | bytes) -> LocalSigner:
        try:
            return cls(Account.from_key(private_key))
        except Exception:
            # The library's message may echo the input; ours never does.
            raise ValidationError(
                "invalid private key (expected 32 bytes or 64 hex digits)"
            ) from None

    @classmethod
    def from_keystore(cls, path: str | Path, password: str) -> LocalSigner:
        """Decrypt an encrypted JSON keystore (Web3 Secret Storage v3)."""
        try:
            data: dict[str, Any] = json.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigurationError(f"cannot read keystore {path}: {exc}") from None
        try:
            key = Account.decrypt(data, password)
        except ValueError:
            raise AuthenticationError(f"wrong password for keystore {path}") from None
        except (KeyError, TypeError, AttributeError):
            raise ConfigurationError(f"keystore {path} is not a valid v3 keystore") from None
        return cls.from_key(key)

    @classmethod
    def from_options(
        cls,
        private_key: str | None = None,
        keystore: str | None = None,
        password: str | None = None,
    ) -> LocalSigner:
        """The key given as a value, else a keystore with its password, else the environment."""
        if private_key:
            return cls.from_key(private_key)
        if keystore:
            if password is None:
                raise ConfigurationError("a keystore needs its password")
            return cls.from_keystore(keystore, password)
        return cls.from_env()

    @classmethod
    def from_env(cls, variable: str = "CHAINOPS_PRIVATE_KEY") -> LocalSigner:
        value = os.environ.get(variable)
        if not value:
            raise ConfigurationError(f"environment variable {variable} is not set")
        return cls.from_key(value.strip())

    def sign(self, tx: dict[str, Any]) -> SignedTx:
        """Sign a transaction dict (chainId must be set: unprotected signatures replay)."""
        if not tx.get("chainId"):
            raise ValidationError("refusing to sign without a chain id (replayable on any chain)")
        fast = fastsign.sign_transaction(tx, self._key, sender=self.address)
        if fast is not None:
            return SignedTx(raw=fast[0], hash=TxHash(fast[1]))
        signed = self._account.sign_transaction(tx)
        return SignedTx(raw=bytes(signed.raw_transaction), hash=TxHash(bytes(signed.hash)))

    def __repr__(self) -> str:
        return f"LocalSigner(address={self.address!s})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("LocalSigner cannot be pickled: it would copy the private key")

    def __getstate__(self) -> Any:
        raise TypeError("LocalSigner cannot be pickled: it would copy the private key")
