"""The wallet store: one encrypted keystore file per named wallet.

Keys are only ever held decrypted in memory, for as long as it takes to build a
signer or to export them on explicit request. Files are written atomically with
owner-only permissions.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account

from chainops.config.paths import data_dir
from chainops.core.errors import AuthenticationError, ConfigurationError, ValidationError
from chainops.core.ids import EvmAddress
from chainops.wallets.files import write_private

_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
# The Web3 Secret Storage default work factor; only tests lower it (CHAINOPS_SCRYPT_N).
DEFAULT_SCRYPT_N = 2**18
MIN_PASSWORD_LENGTH = 8


class WalletNotFound(ConfigurationError):
    """No wallet by that name in the store."""


class WalletExists(ValidationError):
    """A wallet by that name already exists; it is never overwritten."""


@dataclass(frozen=True)
class WalletInfo:
    """A wallet as listed: never its key."""

    name: str
    address: EvmAddress
    path: Path

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "address": str(self.address), "path": str(self.path)}


def _scrypt_n() -> int:
    value = os.environ.get("CHAINOPS_SCRYPT_N")
    if not value:
        return DEFAULT_SCRYPT_N
    n = int(value) if value.isdigit() else 0
    if n < 2 or n & (n - 1):
        raise ConfigurationError(f"CHAINOPS_SCRYPT_N must be a power of two >= 2, not {value!r}")
    return n


class WalletStore:
    """Keystore files in ``directory`` (default: ``<data dir>/wallets``)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or data_dir() / "wallets"

    def path(self, name: str) -> Path:
        if not _NAME_RE.fullmatch(name):
            raise ValidationError(
                f"invalid wallet name {name!r}: lower-case letters, digits, _ and - (max 64)"
            )
        return self.directory / f"{name}.json"

    def create(self, name: str, password: str) -> WalletInfo:
        """A new random key, encrypted under ``password``."""
        account = Account.create()
        return self._write(name, bytes(account.key), password)

    def import_key(self, name: str, private_key: str, password: str) -> WalletInfo:
        """Store an existing key (hex) under ``name``."""
        try:
            key = bytes(Account.from_key(private_key.strip()).key)
        except Exception:
            # the library's message may echo the input; ours never does
            raise ValidationError("invalid private key (expected 64 hex digits)") from None
        return self._write(name, key, password)

    def list(self) -> list[WalletInfo]:
        if not self.directory.is_dir():
            return []
        found = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                found.append(self.get(path.stem))
            except ConfigurationError:
                continue  # not one of ours: listing skips it rather than failing
        return found

    def get(self, name: str) -> WalletInfo:
        path = self.path(name)
        data = self._read(path, name)
        address = data.get("address")
        if not isinstance(address, str):
            raise ConfigurationError(f"keystore {path} has no address")
        return WalletInfo(name, EvmAddress("0x" + address.removeprefix("0x")), path)

    def keystore(self, name: str) -> Path:
        """The keystore file of an existing wallet, for a signer to decrypt.

        ``LocalSigner.from_keystore(store.keystore(name), password)``: a wrong password
        raises AuthenticationError there. A missing wallet raises WalletNotFound here.
        """
        path = self.path(name)
        self._read(path, name)
        return path

    def export_key(self, name: str, password: str) -> str:
        """The private key as hex. Only for an explicit, confirmed export."""
        path = self.path(name)
        data = self._read(path, name)
        try:
            return "0x" + bytes(Account.decrypt(data, password)).hex()
        except ValueError:
            raise AuthenticationError(f"wrong password for wallet {name!r}") from None
        except Exception:  # a missing field, an unknown kdf: the file, not the password
            raise ConfigurationError(f"{path} is not a valid v3 keystore") from None

    def _read(self, path: Path, name: str) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            known = ", ".join(w.name for w in self.list()) if path.parent.is_dir() else ""
            raise WalletNotFound(
                f"no wallet {name!r} in {self.directory}"
                + (f" (known: {known})" if known else "; create one with `chainops wallet new`")
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigurationError(f"cannot read keystore {path}: {exc}") from None
        if not isinstance(data, dict) or "crypto" not in data:
            raise ConfigurationError(f"{path} is not a v3 keystore")
        return data

    def _write(self, name: str, key: bytes, password: str) -> WalletInfo:
        path = self.path(name)
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValidationError(
                f"wallet password too short: at least {MIN_PASSWORD_LENGTH} characters"
            )
        if path.exists():
            raise WalletExists(f"wallet {name!r} already exists at {path}")
        document = Account.encrypt(key, password, kdf="scrypt", iterations=_scrypt_n())
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            write_private(path, json.dumps(document), overwrite=False)
        except FileExistsError:
            raise WalletExists(f"wallet {name!r} already exists at {path}") from None
        return self.get(name)
