"""FullMath: 512-bit-safe multiply-divide, as Python integers (exact, overflow-checked)."""

from __future__ import annotations

from chainops.core.errors import ValidationError

MAX_UINT256 = 2**256 - 1
Q96 = 2**96
Q128 = 2**128


def mul_div(a: int, b: int, denominator: int) -> int:
    """floor(a * b / denominator); the result must fit in 256 bits, as on chain."""
    if denominator <= 0:
        raise ValidationError("mul_div by zero")
    result = a * b // denominator
    if result > MAX_UINT256:
        raise ValidationError("mul_div overflows uint256")
    return result


def mul_div_rounding_up(a: int, b: int, denominator: int) -> int:
    """ceil(a * b / denominator); the result must fit in 256 bits."""
    if denominator <= 0:
        raise ValidationError("mul_div by zero")
    result = -(-(a * b) // denominator)
    if result > MAX_UINT256:
        raise ValidationError("mul_div overflows uint256")
    return result


def div_rounding_up(a: int, b: int) -> int:
    """ceil(a / b) for non-negative integers (UnsafeMath.divRoundingUp)."""
    return -(-a // b)
