"""Uniswap V2: the router library's exact math and the DApp operator (swaps, liquidity)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chainops.operators.dapps.lazy import lazy_namespace

if TYPE_CHECKING:
    from chainops.operators.dapps.uniswap.v2.operator import LiquidityPlan, UniswapV2, V2Position

_EXPORTS = {"LiquidityPlan": "operator", "UniswapV2": "operator", "V2Position": "operator"}
__all__ = [
    "LiquidityPlan",
    "UniswapV2",
    "V2Position",
]
__getattr__, __dir__ = lazy_namespace(__name__, _EXPORTS)
