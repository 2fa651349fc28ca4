"""API key types: HMAC secrets, and RSA or Ed25519 public keys registered with the venue."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
from collections.abc import Iterable
from typing import Literal
from urllib.parse import unquote_plus

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

__all__ = [
    "ED25519",
    "HMAC",
    "RSA",
    "KeyType",
    "hmac_sign",
    "key_type",
    "new_key_pair",
    "public_key_type",
    "valid_signature",
]

KeyType = Literal["HMAC_SHA256", "RSA", "ED25519"]  # Binance's names for its key types
HMAC: KeyType = "HMAC_SHA256"
RSA: KeyType = "RSA"
ED25519: KeyType = "ED25519"
RSA_BITS = 2048  # the smaller of the two sizes Binance accepts

_NAMES: dict[str, KeyType] = {
    "hmac": HMAC,
    "hmac_sha256": HMAC,
    "rsa": RSA,
    "ed25519": ED25519,
}

PublicKey = ed25519.Ed25519PublicKey | rsa.RSAPublicKey


def key_type(name: str) -> KeyType:
    """``"hmac"``, ``"rsa"`` or ``"ed25519"`` (any case, or Binance's own name) as a KeyType."""
    found = _NAMES.get(name.lower())
    if found is None:
        raise ValueError(f"key_type must be one of hmac, rsa, ed25519, got {name!r}")
    return found


def hmac_sign(secret: str, payload: str) -> str:
    """Hex HMAC-SHA256 of ``payload`` (the query string, the body, or both concatenated)."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def new_key_pair(kind: KeyType) -> tuple[str, str]:
    """A fresh (public, private) PEM pair: SubjectPublicKeyInfo and unencrypted PKCS#8."""
    private: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
    if kind == ED25519:
        private = ed25519.Ed25519PrivateKey.generate()
    elif kind == RSA:
        private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    else:
        raise ValueError(f"{kind} keys are shared secrets, not key pairs")
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return _public_pem(private.public_key()), private_pem.decode()


def public_key_type(pem: str) -> KeyType:
    """The type of a PEM public key; ValueError unless it is RSA or Ed25519."""
    return ED25519 if isinstance(_load(pem), ed25519.Ed25519PublicKey) else RSA


def valid_signature(
    kind: KeyType, key: str, forms: Iterable[str], signature: str, *, encoded: bool
) -> bool:
    """Whether ``signature`` signs one of ``forms`` of the payload with ``key``.

    ``key`` is the HMAC secret or the PEM public key. An RSA or Ed25519 signature
    is base64, percent-encoded when ``encoded`` (a query string or form body).
    """
    if kind == HMAC:
        sent = signature.lower()  # Binance reads hex HMAC signatures in either case
        return any(hmac.compare_digest(hmac_sign(key, form), sent) for form in forms)
    raw = _base64(_percent_decoded(signature) if encoded else signature)
    if raw is None:
        return False
    try:
        public = _load(key)
    except ValueError:  # an account built by hand with a broken key verifies nothing
        return False
    return any(_verifies(public, raw, form.encode()) for form in forms)


def _verifies(public: PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        if isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(signature, data)
        else:
            public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def _percent_decoded(text: str) -> str:
    # a form-encoded "+" is a space, as Binance decodes it: an unescaped base64 "+" fails
    return unquote_plus(text, errors="replace")


def _base64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


@functools.lru_cache(maxsize=256)
def _load(pem: str) -> PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a PEM public key: {exc}") from None
    if not isinstance(key, ed25519.Ed25519PublicKey | rsa.RSAPublicKey):
        raise ValueError(f"only RSA and Ed25519 public keys are accepted, got {type(key).__name__}")
    return key


def _public_pem(key: PublicKey) -> str:
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem.decode()
