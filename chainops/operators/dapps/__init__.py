"""DAppOperators: ERC-20, WETH, Uniswap V2 and V3 (with exact pool math).

Shared parts live here (context, quote, slippage, swaps, erc20, weth); each protocol
and version has its own package (``uniswap/v2``, ``uniswap/v3`` with ``math/`` mirroring
the Solidity libraries). The public names below are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chainops.operators.dapps.lazy import lazy_namespace

if TYPE_CHECKING:
    from chainops.deployments.registry import UnknownToken
    from chainops.operators.dapps.context import DexContext, UnknownPool
    from chainops.operators.dapps.erc20 import Erc20
    from chainops.operators.dapps.errors import (
        AmountOverflow,
        DustAmount,
        InsufficientLiquidity,
        NoRoute,
        SwapSlippageExceeded,
    )
    from chainops.operators.dapps.quote import Quote, TradeKind
    from chainops.operators.dapps.slippage import DEFAULT_SLIPPAGE, Bps, SlippageOutOfRange
    from chainops.operators.dapps.swaps import SwapExecutor
    from chainops.operators.dapps.uniswap.cache import PoolCache
    from chainops.operators.dapps.uniswap.mixed import UniswapMixed
    from chainops.operators.dapps.uniswap.routing import Route, UniswapRoutes
    from chainops.operators.dapps.uniswap.v2.operator import LiquidityPlan, UniswapV2, V2Position
    from chainops.operators.dapps.uniswap.v3.operator import UniswapV3
    from chainops.operators.dapps.uniswap.v3.pool import TicksNotLoaded, V3PoolState
    from chainops.operators.dapps.uniswap.v3.positions import MintPlan, V3Position, V3Positions
    from chainops.operators.dapps.uniswap.v3.prices import InvalidTickRange
    from chainops.operators.dapps.weth import Weth

_EXPORTS = {
    "DEFAULT_SLIPPAGE": "slippage",
    "Bps": "slippage",
    "DexContext": "context",
    "Erc20": "erc20",
    "AmountOverflow": "errors",
    "DustAmount": "errors",
    "InsufficientLiquidity": "errors",
    "InvalidTickRange": "uniswap.v3.prices",
    "LiquidityPlan": "uniswap.v2.operator",
    "MintPlan": "uniswap.v3.positions",
    "NoRoute": "errors",
    "Route": "uniswap.routing",
    "UniswapMixed": "uniswap.mixed",
    "UniswapRoutes": "uniswap.routing",
    "PoolCache": "uniswap.cache",
    "Quote": "quote",
    "SlippageOutOfRange": "slippage",
    "SwapExecutor": "swaps",
    "SwapSlippageExceeded": "errors",
    "TicksNotLoaded": "uniswap.v3.pool",
    "TradeKind": "quote",
    "UniswapV2": "uniswap.v2.operator",
    "UniswapV3": "uniswap.v3.operator",
    "UnknownPool": "context",
    "UnknownToken": "context",  # the deployments' own class, re-exported
    "V2Position": "uniswap.v2.operator",
    "V3PoolState": "uniswap.v3.pool",
    "V3Position": "uniswap.v3.positions",
    "V3Positions": "uniswap.v3.positions",
    "Weth": "weth",
}
__all__ = [
    "DEFAULT_SLIPPAGE",
    "AmountOverflow",
    "Bps",
    "DexContext",
    "DustAmount",
    "Erc20",
    "InsufficientLiquidity",
    "InvalidTickRange",
    "LiquidityPlan",
    "MintPlan",
    "NoRoute",
    "PoolCache",
    "Quote",
    "Route",
    "SlippageOutOfRange",
    "SwapExecutor",
    "SwapSlippageExceeded",
    "TicksNotLoaded",
    "TradeKind",
    "UniswapMixed",
    "UniswapRoutes",
    "UniswapV2",
    "UniswapV3",
    "UnknownPool",
    "UnknownToken",
    "V2Position",
    "V3PoolState",
    "V3Position",
    "V3Positions",
    "Weth",
]
__getattr__, __dir__ = lazy_namespace(__name__, _EXPORTS)
