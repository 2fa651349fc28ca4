"""TickBitmap: where initialized ticks are, one 256-bit word per 256 spaced ticks.

The bitmap itself lives on chain; here a sorted list of the initialized compressed
ticks (``tick // spacing``) of the loaded words stands in for it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from chainops.operators.dapps.uniswap.v3.math.tick_math import MAX_TICK, MIN_TICK


def position(compressed: int) -> tuple[int, int]:
    """(word, bit) of a compressed tick: ``int16(compressed >> 8)``, ``uint8(compressed)``."""
    return compressed >> 8, compressed & 0xFF


def compress(tick: int, spacing: int) -> int:
    """``tick / spacing`` rounded toward negative infinity, as the library compresses."""
    return tick // spacing


def word_range(spacing: int) -> tuple[int, int]:
    """The first and last bitmap word any tick of this spacing can occupy."""
    return position(compress(MIN_TICK, spacing))[0], position(compress(MAX_TICK, spacing))[0]


def ticks_in_word(word: int, bits: int, spacing: int) -> list[int]:
    """The initialized ticks a bitmap word value marks."""
    out = []
    while bits:
        low = bits & -bits
        out.append(((word << 8) + low.bit_length() - 1) * spacing)
        bits ^= low
    return out


def next_initialized_tick_within_one_word(
    initialized: Sequence[int], tick: int, spacing: int, lte: bool
) -> tuple[int, bool, int]:
    """(next tick, initialized, word read): the library's search within one word.

    ``initialized`` is the sorted compressed ticks known to be initialized; the caller
    checks that the returned word was loaded.
    """
    compressed = compress(tick, spacing)
    if lte:
        word = position(compressed)[0]
        start = word << 8
        i = bisect_right(initialized, compressed) - 1
        if i >= 0 and initialized[i] >= start:
            return initialized[i] * spacing, True, word
        return start * spacing, False, word
    word = position(compressed + 1)[0]
    end = (word << 8) + 255
    i = bisect_left(initialized, compressed + 1)
    if i < len(initialized) and initialized[i] <= end:
        return initialized[i] * spacing, True, word
    return end * spacing, False, word
