"""Keccak-256 (Ethereum's hash), from the fastest backend installed.

safe-pysha3 hashes a transaction in about 1 µs; eth-hash's pycryptodome backend
takes about 4 µs through cffi, and an operator hashes each transaction several
times (the signing digest, the hash of the signed bytes, the checks on both).
"""

from __future__ import annotations

from collections.abc import Callable

__all__: list[str] = []  # internal: the hash the operators use


def _pick() -> Callable[[bytes], bytes]:
    try:
        from sha3 import keccak_256  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - safe-pysha3 is a dependency
        from eth_hash.auto import keccak

        return keccak

    def keccak256(data: bytes) -> bytes:
        return keccak_256(data).digest()  # type: ignore[no-any-return]

    return keccak256


keccak256: Callable[[bytes], bytes] = _pick()
