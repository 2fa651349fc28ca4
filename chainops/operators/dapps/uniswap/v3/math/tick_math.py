"""TickMath: tick <-> sqrtPriceX96 (Q64.96), bit-for-bit as the Uniswap V3 library."""

from __future__ import annotations

from functools import lru_cache

from chainops.core.errors import ValidationError

MIN_TICK = -887272
MAX_TICK = 887272
MIN_SQRT_RATIO = 4295128739
MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342

# 2**128 / sqrt(1.0001)**(2**i) in Q128.128, for bit i of |tick| (the library's constants).
_FACTORS = (
    (0x2, 0xFFF97272373D413259A46990580E213A),
    (0x4, 0xFFF2E50F5F656932EF12357CF3C7FDCC),
    (0x8, 0xFFE5CACA7E10E4E61C3624EAA0941CD0),
    (0x10, 0xFFCB9843D60F6159C9DB58835C926644),
    (0x20, 0xFF973B41FA98C081472E6896DFB254C0),
    (0x40, 0xFF2EA16466C96A3843EC78B326B52861),
    (0x80, 0xFE5DEE046A99A2A811C461F1969C3053),
    (0x100, 0xFCBE86C7900A88AEDCFFC83B479AA3A4),
    (0x200, 0xF987A7253AC413176F2B074CF7815E54),
    (0x400, 0xF3392B0822B70005940C7A398E4B70F3),
    (0x800, 0xE7159475A2C29B7443B29C7FA6E889D9),
    (0x1000, 0xD097F3BDFD2022B8845AD8F792AA5825),
    (0x2000, 0xA9F746462D870FDF8A65DC1F90E061E5),
    (0x4000, 0x70D869A156D2A1B890BB3DF62BAF32F7),
    (0x8000, 0x31BE135F97D08FD981231505542FCFA6),
    (0x10000, 0x9AA508B5B7A84E1C677DE54F3E99BC9),
    (0x20000, 0x5D6AF8DEDB81196699C329225EE604),
    (0x40000, 0x2216E584F5FA1EA926041BEDFE98),
    (0x80000, 0x48A170391F7DC42444E8FA2),
)
_MAX_UINT256 = 2**256 - 1


# Swaps keep meeting the same initialized ticks and word edges: remember their prices.
@lru_cache(maxsize=65536)
def get_sqrt_ratio_at_tick(tick: int) -> int:
    """sqrt(1.0001**tick) * 2**96, rounded up as on chain."""
    if not MIN_TICK <= tick <= MAX_TICK:
        raise ValidationError(f"tick {tick} outside [{MIN_TICK}, {MAX_TICK}]")
    absolute = abs(tick)
    ratio = 0xFFFCB933BD6FAD37AA2D162D1A594001 if absolute & 1 else 2**128
    for bit, factor in _FACTORS:
        if absolute & bit:
            ratio = (ratio * factor) >> 128
    if tick > 0:
        ratio = _MAX_UINT256 // ratio
    return (ratio >> 32) + (1 if ratio % (1 << 32) else 0)


def get_tick_at_sqrt_ratio(sqrt_price_x96: int) -> int:
    """The greatest tick whose sqrt ratio is <= ``sqrt_price_x96``.

    log2 of the Q128.128 ratio to 14 fractional bits by repeated squaring, scaled to
    log base sqrt(1.0001); the error bounds leave two candidate ticks, and one exact
    ``get_sqrt_ratio_at_tick`` picks between them.
    """
    if not MIN_SQRT_RATIO <= sqrt_price_x96 < MAX_SQRT_RATIO:
        raise ValidationError(f"sqrtPriceX96 {sqrt_price_x96} outside the valid range")
    ratio = sqrt_price_x96 << 32
    msb = ratio.bit_length() - 1
    r = ratio >> (msb - 127) if msb >= 128 else ratio << (127 - msb)
    log_2 = (msb - 128) << 64
    for bit in range(63, 49, -1):
        r = (r * r) >> 127
        f = r >> 128
        log_2 |= f << bit
        r >>= f
    log_sqrt10001 = log_2 * _LOG_SQRT10001_SCALE
    low = (log_sqrt10001 - _LOW_ERROR) >> 128
    high = (log_sqrt10001 + _HIGH_ERROR) >> 128
    if low == high:
        return low
    return high if get_sqrt_ratio_at_tick(high) <= sqrt_price_x96 else low


# 2**64 / log2(sqrt(1.0001)), and the error bounds of the 14-bit log approximation.
_LOG_SQRT10001_SCALE = 255738958999603826347141
_LOW_ERROR = 3402992956809132418596140100660247210
_HIGH_ERROR = 291339464771989622907027621153398088495
