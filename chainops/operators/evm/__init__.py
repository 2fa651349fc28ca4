"""The EVM BlockchainOperator; importing this package registers it with OperatorFactory."""

from chainops.operators.evm.operator import EvmConfiguration, EvmOperator
from chainops.operators.evm.signer import LocalSigner, SignedTx

__all__ = ["EvmConfiguration", "EvmOperator", "LocalSigner", "SignedTx"]
