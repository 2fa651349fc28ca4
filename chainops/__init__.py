"""chainops: execution toolkit for on-chain (EVM, Solana) and exchange trading."""

__version__ = "0.1.0"
