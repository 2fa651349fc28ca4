"""Request signatures for the three Binance API key types: HMAC, Ed25519 and RSA."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from chainops.operators.exchanges.errors import InvalidCredentials

__all__ = ["Signer", "hmac_signer", "load_signer"]

KeyKind = Literal["hmac", "ed25519", "rsa"]
MAX_PEM_BYTES = 64 * 1024  # a 4096-bit RSA key is ~3 KB: anything far larger is not a key


class Signer:
    """Signs payloads with one API key: hex HMAC-SHA256, or base64 Ed25519 / RSA-SHA256."""

    __slots__ = ("_sign", "kind")

    def __init__(self, kind: KeyKind, sign: Callable[[bytes], str]) -> None:
        self.kind = kind
        self._sign = sign

    @property
    def session_logon(self) -> bool:
        """Whether the key may authenticate a WebSocket API connection (Ed25519 only)."""
        return self.kind == "ed25519"

    def sign(self, payload: str) -> str:
        """The signature of ``payload`` as the venue reads it (JSON-safe, not URL-encoded)."""
        return self._sign(payload.encode())

    def query_signature(self, payload: str) -> str:
        """:meth:`sign`, URL-encoded for a query string (base64 has ``+``, ``/``, ``=``)."""
        signature = self.sign(payload)
        return signature if self.kind == "hmac" else quote(signature, safe="")

    def __repr__(self) -> str:
        return f"Signer({self.kind})"


def hmac_signer(secret: str) -> Signer:
    """A signer for an HMAC key's secret."""
    key = secret.encode()
    return Signer("hmac", lambda data: hmac.digest(key, data, hashlib.sha256).hex())


def load_signer(
    *,
    secret: str | None = None,
    private_key: str | None = None,
    passphrase: str | None = None,
) -> Signer:
    """The signer of an HMAC ``secret`` or of an Ed25519/RSA ``private_key`` (PEM text or
    the path of a PEM file, ``passphrase`` if it is encrypted).

    Raises InvalidCredentials when neither or both are given, or the key cannot sign.
    """
    if secret and private_key:
        raise InvalidCredentials(
            "give api_secret (an HMAC key) or private_key (an Ed25519 or RSA key), not both"
        )
    if private_key:
        return _asymmetric(_pem(private_key), passphrase)
    if passphrase:
        raise InvalidCredentials("private_key_passphrase was given without a private_key")
    if not secret:
        raise InvalidCredentials(
            "an API key needs api_secret (HMAC) or private_key (Ed25519 or RSA, PEM)"
        )
    if "PRIVATE KEY-----" in secret:
        raise InvalidCredentials("api_secret holds a PEM private key: pass it as private_key")
    return hmac_signer(secret)


def _pem(source: str) -> bytes:
    """PEM text as given, or read from the file it names."""
    if "-----BEGIN" in source:
        return source.strip().encode()
    path = Path(source.strip()).expanduser()
    try:
        if not path.is_file():
            raise InvalidCredentials("private_key is neither PEM text nor the path of a file")
        if path.stat().st_size > MAX_PEM_BYTES:
            raise InvalidCredentials(f"private_key file {path} is too large to be a key")
        return path.read_bytes()
    except OSError as exc:  # the name itself may be unusable (too long, bad characters)
        raise InvalidCredentials(f"private_key file cannot be read: {exc.strerror}") from None


def _asymmetric(pem: bytes, passphrase: str | None) -> Signer:
    # imported here: an HMAC key never loads the cryptography package
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

    password = passphrase.encode() if passphrase else None
    try:
        key = serialization.load_pem_private_key(pem, password=password)
    except TypeError as exc:  # a passphrase missing for an encrypted key, or given for a plain one
        raise InvalidCredentials(f"private_key: {exc}") from None
    except UnsupportedAlgorithm:
        raise InvalidCredentials("private_key uses an algorithm Binance does not take") from None
    except ValueError:
        if b"PUBLIC KEY-----" in pem:
            raise InvalidCredentials(
                "private_key holds a public key: sign with the private half of the pair"
            ) from None
        raise InvalidCredentials(
            "private_key is not a readable PEM private key (or its passphrase is wrong)"
        ) from None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        ed_key = key
        return Signer("ed25519", lambda data: base64.b64encode(ed_key.sign(data)).decode())
    if isinstance(key, rsa.RSAPrivateKey):
        rsa_key = key
        return Signer(
            "rsa",
            lambda data: base64.b64encode(
                rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
            ).decode(),
        )
    kind = type(key).__name__.removeprefix("_").removesuffix("PrivateKey")
    raise InvalidCredentials(f"private_key is a {kind} key; Binance takes Ed25519 or RSA keys")
