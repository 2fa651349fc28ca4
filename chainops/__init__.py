"""chainops: execution toolkit for on-chain (EVM, Solana) and exchange trading.

The names users reach for most are importable from here, e.g.
``from chainops import EvmOperator, UniswapV3, Bps, Order``. Each is imported
on first use, so ``import chainops`` (and the CLI's start-up) stays cheap;
``chainops.core``, ``chainops.operators`` and their packages hold the rest.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs more than all of this
if TYPE_CHECKING:
    from typing import Any

    from chainops.core import (
        ChainopsError,
        EventBus,
        Order,
        OrderSide,
        OrderState,
        OrderType,
        Priority,
        Transaction,
        TxState,
        UnknownOutcome,
    )
    from chainops.operators.base import OperatorFactory
    from chainops.operators.dapps import Bps, Erc20, UniswapV2, UniswapV3, Weth
    from chainops.operators.evm import EvmOperator, LocalSigner
    from chainops.operators.exchanges import BinanceSpot, ExchangeOperator
    from chainops.operators.solana import SolanaOperator
    from chainops.wallets import WalletStore

# public name -> the package that offers it (its public namespace, not a module path,
# so a package may reorganise its modules without breaking this table)
_EXPORTS = {
    "ChainopsError": "chainops.core",
    "EventBus": "chainops.core",
    "Order": "chainops.core",
    "OrderSide": "chainops.core",
    "OrderState": "chainops.core",
    "OrderType": "chainops.core",
    "Priority": "chainops.core",
    "Transaction": "chainops.core",
    "TxState": "chainops.core",
    "UnknownOutcome": "chainops.core",
    "OperatorFactory": "chainops.operators.base",
    "EvmOperator": "chainops.operators.evm",
    "LocalSigner": "chainops.operators.evm",
    "SolanaOperator": "chainops.operators.solana",
    "BinanceSpot": "chainops.operators.exchanges",
    "ExchangeOperator": "chainops.operators.exchanges",
    "Bps": "chainops.operators.dapps",
    "Erc20": "chainops.operators.dapps",
    "UniswapV2": "chainops.operators.dapps",
    "UniswapV3": "chainops.operators.dapps",
    "Weth": "chainops.operators.dapps",
    "WalletStore": "chainops.wallets",
}

__all__ = [
    "BinanceSpot",
    "Bps",
    "ChainopsError",
    "Erc20",
    "EventBus",
    "EvmOperator",
    "ExchangeOperator",
    "LocalSigner",
    "OperatorFactory",
    "Order",
    "OrderSide",
    "OrderState",
    "OrderType",
    "Priority",
    "SolanaOperator",
    "Transaction",
    "TxState",
    "UniswapV2",
    "UniswapV3",
    "UnknownOutcome",
    "WalletStore",
    "Weth",
    "__version__",
]


def __getattr__(name: str) -> Any:
    package = _EXPORTS.get(name)
    if package is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(package), name)
    globals()[name] = value  # resolved once: later lookups skip this hook
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
