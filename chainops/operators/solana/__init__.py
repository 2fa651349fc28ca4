"""The Solana BlockchainOperator (OperatorFactory imports it on first use of a cluster).

Needs the ``solana`` extra (solana-py and solders).
"""

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
