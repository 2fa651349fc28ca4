"""Uniswap V3: exact pool math (``math/``, as the Solidity libraries), pool state and its
offline swap, path encoding, both routers, the DApp operator and positions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chainops.operators.dapps.lazy import lazy_namespace

if TYPE_CHECKING:
    from chainops.operators.dapps.uniswap.v3.operator import UniswapV3
    from chainops.operators.dapps.uniswap.v3.pool import V3PoolState
    from chainops.operators.dapps.uniswap.v3.positions import MintPlan, V3Position, V3Positions

_EXPORTS = {
    "MintPlan": "positions",
    "UniswapV3": "operator",
    "V3PoolState": "pool",
    "V3Position": "positions",
    "V3Positions": "positions",
}
__all__ = [
    "MintPlan",
    "UniswapV3",
    "V3PoolState",
    "V3Position",
    "V3Positions",
]
__getattr__, __dir__ = lazy_namespace(__name__, _EXPORTS)
