"""The Solana BlockchainOperator (OperatorFactory imports it on first use of a cluster).

Needs the ``solana`` extra (solana-py and solders); without it, importing this package
raises ModuleNotFoundError whose message names the extra.
"""

try:
    from chainops.operators.solana.errors import (
        InsufficientBalance,
        SimulationFailed,
        TokenAccountMissing,
        TransactionExpired,
        TransactionFailed,
    )
    from chainops.operators.solana.keys import SolanaSigner, load_signer
    from chainops.operators.solana.operator import SolanaConfiguration, SolanaOperator
    from chainops.operators.solana.transport import SolanaTransport
except ModuleNotFoundError as exc:  # without the extra: one line naming it
    from chainops.extras import missing_module

    raise missing_module(exc, "solana", "solders", "solana", feature=__name__) from None

__all__ = [
    "InsufficientBalance",
    "SimulationFailed",
    "SolanaConfiguration",
    "SolanaOperator",
    "SolanaSigner",
    "SolanaTransport",
    "TokenAccountMissing",
    "TransactionExpired",
    "TransactionFailed",
    "load_signer",
]
