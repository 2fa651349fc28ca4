"""Solana keys: solana CLI keypair files, base58 secret keys, environment variables.

The secret never appears in ``repr``, ``str``, logs, errors or pickles: errors say
what was wrong with the input, never echo it (solders' own ``str(Keypair)`` prints
the secret, so the keypair object is kept private).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from chainops.core.errors import ConfigurationError, InvalidIdentifier, ValidationError
from chainops.core.ids import SolanaPubkey, SolanaSignature, b58decode
from chainops.wallets.files import write_private

__all__ = [
    "KEYPAIR_PATH_ENV",
    "KEY_ENV",
    "SolanaSigner",
    "load_signer",
    "parse_pubkey",
    "trusted_pubkey",
    "trusted_signature",
]

KEY_ENV = "CHAINOPS_SOLANA_KEY"  # base58 secret key or a JSON byte array
KEYPAIR_PATH_ENV = "CHAINOPS_SOLANA_KEYPAIR"  # path of a solana CLI keypair file


def _from_secret_bytes(raw: bytes) -> Keypair:
    if len(raw) == 64:
        try:
            return Keypair.from_bytes(raw)
        except ValueError:
            raise ValidationError(
                "invalid Solana secret key: its public half does not match the secret"
            ) from None
    if len(raw) == 32:
        return Keypair.from_seed(raw)
    raise ValidationError(f"invalid Solana secret key: expected 64 (or 32) bytes, got {len(raw)}")


class SolanaSigner:
    """An ed25519 key held in this process; signs transaction messages."""

    __slots__ = ("_keypair", "pubkey", "solders_pubkey")

    def __init__(self, keypair: Keypair) -> None:
        self._keypair = keypair
        self.solders_pubkey: Pubkey = keypair.pubkey()
        self.pubkey = SolanaPubkey(str(self.solders_pubkey))

    @classmethod
    def generate(cls) -> SolanaSigner:
        """A fresh random key (tests, devnets)."""
        return cls(Keypair())

    @classmethod
    def from_bytes(cls, raw: bytes | bytearray | list[int]) -> SolanaSigner:
        """64 bytes (secret + public, the solana CLI form) or a 32-byte seed."""
        if isinstance(raw, list):
            if not all(isinstance(b, int) and 0 <= b < 256 for b in raw):
                raise ValidationError("invalid Solana secret key: not a list of byte values")
            raw = bytes(raw)
        return cls(_from_secret_bytes(bytes(raw)))

    @classmethod
    def from_base58(cls, text: str) -> SolanaSigner:
        """A base58 secret key as wallets export it (64 bytes; a 32-byte seed also works)."""
        try:
            raw = b58decode(text.strip())
        except ValidationError:
            raise ValidationError("invalid Solana secret key: not base58") from None
        return cls.from_bytes(raw)

    @classmethod
    def from_text(cls, text: str) -> SolanaSigner:
        """A JSON byte array (keypair file contents) or base58."""
        stripped = text.strip()
        if stripped.startswith("["):
            try:
                values = json.loads(stripped)
            except json.JSONDecodeError:
                raise ValidationError("invalid Solana keypair: malformed JSON array") from None
            if not isinstance(values, list):
                raise ValidationError("invalid Solana keypair: expected a JSON array of bytes")
            return cls.from_bytes(values)
        return cls.from_base58(stripped)

    @classmethod
    def from_keypair_file(cls, path: str | os.PathLike[str]) -> SolanaSigner:
        """A solana CLI keypair file (``~/.config/solana/id.json``: a JSON array of 64 bytes)."""
        file = Path(path).expanduser()
        try:
            text = file.read_text()
        except OSError as exc:
            raise ConfigurationError(f"cannot read keypair file {file}: {exc.strerror}") from None
        try:
            return cls.from_text(text)
        except ValidationError as exc:
            raise ValidationError(f"{file}: {exc}") from None

    @classmethod
    def from_env(cls) -> SolanaSigner:
        """``CHAINOPS_SOLANA_KEY`` (base58 / JSON array), else ``CHAINOPS_SOLANA_KEYPAIR``."""
        value = os.environ.get(KEY_ENV)
        if value:
            try:
                return cls.from_text(value)
            except ValidationError as exc:
                raise ValidationError(f"{KEY_ENV}: {exc}") from None
        path = os.environ.get(KEYPAIR_PATH_ENV)
        if path:
            return cls.from_keypair_file(path)
        raise ConfigurationError(f"set {KEY_ENV} (base58 or JSON array) or {KEYPAIR_PATH_ENV}")

    def sign(self, message: bytes) -> bytes:
        """The 64-byte ed25519 signature of a serialised message."""
        return bytes(self._keypair.sign_message(message))

    def sign_solders(self, message: bytes) -> Signature:
        return self._keypair.sign_message(message)

    def write_keypair_file(self, path: str | os.PathLike[str]) -> Path:
        """Save in the solana CLI format: owner-only (0600 whatever was there), atomically."""
        file = Path(path)
        file.parent.mkdir(parents=True, exist_ok=True)
        write_private(file, json.dumps(list(bytes(self._keypair))))
        return file

    def __repr__(self) -> str:
        return f"SolanaSigner(pubkey={self.pubkey!s})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("SolanaSigner cannot be pickled: it would copy the secret key")

    def __getstate__(self) -> Any:
        raise TypeError("SolanaSigner cannot be pickled: it would copy the secret key")


def load_signer(
    *,
    secret_key: str | None = None,
    keypair_path: str | os.PathLike[str] | None = None,
    signer: SolanaSigner | None = None,
) -> SolanaSigner:
    """The first of: a signer, a secret (base58 / JSON array), a keypair file, the environment."""
    if signer is not None:
        return signer
    if secret_key:
        return SolanaSigner.from_text(secret_key)
    if keypair_path:
        return SolanaSigner.from_keypair_file(keypair_path)
    return SolanaSigner.from_env()


def parse_pubkey(value: object, what: str) -> Pubkey:
    """A user-given public key as solders' type; a bad one raises InvalidIdentifier."""
    if type(value) is str or type(value) is SolanaPubkey:
        try:
            return Pubkey.from_string(value)  # native parse; a failure is explained below
        except ValueError:
            pass
    try:
        return Pubkey.from_string(SolanaPubkey(value))
    except ValidationError as exc:
        raise InvalidIdentifier(f"{what}: {exc}") from None


def trusted_pubkey(key: Pubkey) -> SolanaPubkey:
    """A solders key as our id type without re-decoding it (solders already validated it)."""
    return str.__new__(SolanaPubkey, str(key))


def trusted_signature(text: str) -> SolanaSignature:
    """A signature solders just produced from our own signing: valid by construction."""
    return str.__new__(SolanaSignature, text)
