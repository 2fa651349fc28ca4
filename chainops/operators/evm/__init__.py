"""The EVM BlockchainOperator (OperatorFactory imports it on first use of an EVM chain)."""

from chainops.operators.evm.configuration import EvmConfiguration
from chainops.operators.evm.operator import EvmOperator
from chainops.operators.evm.signer import LocalSigner, SignedTx

__all__ = ["EvmConfiguration", "EvmOperator", "LocalSigner", "SignedTx"]
