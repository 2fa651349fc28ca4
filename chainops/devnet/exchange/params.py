"""Strict request-parameter parsing: ASCII digits only, Binance's patterns, typed errors.

Every numeric and id parameter of every route goes through here, so malformed
input is a Binance error body (4xx), never an exception inside a handler.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal

from chainops.devnet.exchange import errors

__all__ = [
    "CLIENT_ID_RANGE",
    "client_id",
    "decimal",
    "enum",
    "integer",
    "limit",
    "recv_window",
    "symbol",
    "symbol_list",
    "time_range",
]

# re.ASCII and fullmatch: no Unicode digits ('²', Arabic-Indic) and no trailing newline
DECIMAL_RANGE = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
INTEGER_RANGE = r"^[0-9]{1,20}$"
CLIENT_ID_RANGE = r"^[\.A-Z\:/a-z0-9_-]{1,36}$"
SYMBOL_RANGE = r"^[A-Z0-9-_.]{1,20}$"
RECV_WINDOW_RANGE = r"^[0-9]{1,20}(\.[0-9]{1,3})?$"
_DECIMAL = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?", re.ASCII)
_INTEGER = re.compile(r"[0-9]{1,20}", re.ASCII)
_CLIENT_ID = re.compile(r"[.A-Z:/a-z0-9_-]{1,36}", re.ASCII)
_SYMBOL = re.compile(r"[A-Z0-9_.-]{1,20}", re.ASCII)
_RECV_WINDOW = re.compile(r"[0-9]{1,20}(\.[0-9]{1,3})?", re.ASCII)
_INT64_MAX = 2**63 - 1  # the venue's ids and times are Java longs

Params = Mapping[str, str]


def _text(params: Params, name: str, required: bool) -> str | None:
    text = params.get(name)
    if text is None or text == "":
        if required:
            raise errors.mandatory(name)
        return None
    return text


def decimal(params: Params, name: str, *, required: bool = True) -> Decimal | None:
    """A plain decimal such as ``0.01`` (no sign, exponent or Unicode digits)."""
    text = _text(params, name, required)
    if text is None:
        return None
    if not _DECIMAL.fullmatch(text):
        raise errors.illegal(name, DECIMAL_RANGE)
    return Decimal(text)


def integer(
    params: Params, name: str, *, required: bool = False, maximum: int = _INT64_MAX
) -> int | None:
    """A non-negative integer of ASCII digits that fits the venue's longs."""
    text = _text(params, name, required)
    if text is None:
        return None
    if not _INTEGER.fullmatch(text) or int(text) > maximum:
        raise errors.illegal(name, INTEGER_RANGE)
    return int(text)


def recv_window(params: Params) -> Decimal | None:
    """``recvWindow`` in milliseconds, with up to three decimals (microseconds)."""
    text = _text(params, "recvWindow", False)
    if text is None:
        return None
    if not _RECV_WINDOW.fullmatch(text):
        raise errors.illegal("recvWindow", RECV_WINDOW_RANGE)
    return Decimal(text)


def client_id(params: Params, name: str, *, required: bool = False) -> str | None:
    """A client order id in Binance's pattern."""
    text = _text(params, name, required)
    if text is None:
        return None
    if not _CLIENT_ID.fullmatch(text):
        raise errors.illegal(name, CLIENT_ID_RANGE)
    return text


def symbol(params: Params, name: str = "symbol", *, required: bool = True) -> str | None:
    """A symbol name in Binance's pattern (whether it is listed is the engine's question)."""
    text = _text(params, name, required)
    if text is None:
        return None
    if not _SYMBOL.fullmatch(text):
        raise errors.illegal(name, SYMBOL_RANGE)
    return text


def symbol_list(params: Params, name: str = "symbols") -> list[str] | None:
    """``symbols=["ETHUSDT","BTCUSDT"]``: a JSON array of symbol names."""
    text = params.get(name)
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise errors.ApiError(-1100, f"Illegal characters found in parameter '{name}'.")
    for item in value:
        if not _SYMBOL.fullmatch(item):
            raise errors.illegal(name, SYMBOL_RANGE)
    return [str(v) for v in value]


def enum(
    params: Params, name: str, allowed: tuple[str, ...], *, required: bool = True
) -> str | None:
    """One of ``allowed``; the venue's enum error otherwise."""
    text = _text(params, name, required)
    if text is None:
        return None
    if text not in allowed:
        raise errors.bad_enum(name)
    return text


def limit(params: Params, default: int, maximum: int = 1000) -> int:
    """``limit``: at least 1 (0 is refused, not read as the default), at most ``maximum``."""
    value = integer(params, "limit")
    if value is None:
        return default
    if value < 1:
        raise errors.illegal("limit", INTEGER_RANGE)
    return min(value, maximum)


def time_range(params: Params, max_hours: int) -> tuple[int | None, int | None]:
    """``startTime`` and ``endTime``, at most ``max_hours`` apart when both are sent (-1127)."""
    start, end = integer(params, "startTime"), integer(params, "endTime")
    if start is not None and end is not None and end - start > max_hours * 3_600_000:
        raise errors.ApiError(-1127, f"More than {max_hours} hours between startTime and endTime.")
    return start, end
