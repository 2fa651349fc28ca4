"""Well-known contract and token addresses per chain, and token lookup by symbol.

``canonical.json`` (package data) holds the canonical deployments of Ethereum,
Arbitrum, Optimism, Base, Polygon and BSC: the wrapped native token (as
``WETH9``), Uniswap V2 factory and router, Uniswap V3 factory, SwapRouter02,
QuoterV2 and NonfungiblePositionManager, and the major stablecoins, as Uniswap's
own npm packages publish them (a test compares). The devnet world adds its own with
:func:`register_address_book`.
"""

from chainops.deployments.registry import (
    AmbiguousToken,
    Deployment,
    UnknownToken,
    deployment,
    deployments,
    find_token,
    register_address_book,
    register_deployment,
)

__all__ = [
    "AmbiguousToken",
    "Deployment",
    "UnknownToken",
    "deployment",
    "deployments",
    "find_token",
    "register_address_book",
    "register_deployment",
]
