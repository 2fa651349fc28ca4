"""The Uniswap V3 core libraries in exact Python integers, one module per library:
FullMath, TickMath, SqrtPriceMath, SwapMath, LiquidityAmounts (periphery)."""
