"""Argument checks shared by the DEX wrappers: each refuses bad input with a typed error
before anything is read or sent."""

from __future__ import annotations

import math
from decimal import Decimal

from chainops.core.attempt import check_uint
from chainops.core.durations import check_seconds
from chainops.core.errors import ValidationError

MAX_UINT256 = 2**256 - 1


def check_deadline(value: object, what: str = "deadline") -> int | None:
    """None, or positive finite seconds as an int (floats and Decimals are floored)."""
    if value is None:
        return None
    check_seconds(value, what)
    assert isinstance(value, int | float | Decimal)  # just checked
    seconds = math.floor(value)  # exact for ints and Decimals, however large
    if seconds <= 0:  # under a second: floored to nothing
        raise ValidationError(f"{what} must be positive in whole seconds, got {value!r}")
    return seconds


def check_positive_int(value: object, what: str) -> int:
    """A positive int that fits in uint256 (bool, float and str refused)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_UINT256:
        raise ValidationError(f"{what} must be a positive int, got {value!r}")
    return value


def check_token_id(value: object) -> int:
    """An NFT token id: a non-negative int that fits in uint256 (bool and str refused)."""
    token_id = check_uint(value, "token id")
    if token_id > MAX_UINT256:
        raise ValidationError(f"token id {token_id} does not fit in uint256")
    return token_id


def check_path(path: object) -> list[str]:
    """A swap path: a list of at least two token symbols or addresses (a bare str refused)."""
    if not isinstance(path, list | tuple) or not all(isinstance(p, str) for p in path):
        raise ValidationError(
            f"path must be a list of token symbols or addresses, e.g. ['WETH', 'USDC'], "
            f"not {path!r}"
        )
    if len(path) < 2:
        raise ValidationError("a swap path needs at least two tokens")
    return list(path)
