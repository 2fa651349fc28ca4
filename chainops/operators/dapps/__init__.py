"""DAppOperators: ERC-20, WETH, Uniswap V2 and V3 (with exact pool math)."""
