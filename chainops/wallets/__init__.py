"""Named wallets: encrypted keystore files (Web3 Secret Storage v3, scrypt) in the data dir."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chainops.wallets.store import WalletExists, WalletInfo, WalletNotFound, WalletStore

__all__ = ["WalletExists", "WalletInfo", "WalletNotFound", "WalletStore"]


def __getattr__(name: str) -> Any:
    # The store needs eth_account; a Solana key file (chainops.wallets.files) must not.
    if name in __all__:
        from chainops.wallets import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
