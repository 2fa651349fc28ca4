"""Named wallets: encrypted keystore files (Web3 Secret Storage v3, scrypt) in the data dir."""

from chainops.wallets.store import (
    WalletExists,
    WalletInfo,
    WalletNotFound,
    WalletStore,
)

__all__ = ["WalletExists", "WalletInfo", "WalletNotFound", "WalletStore"]
