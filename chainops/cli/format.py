"""How values print: plain decimals, prices with sensible precision, times as ISO dates.

:func:`plain` walks a result (dicts, lists, Decimals, decimal strings) and returns
the same shape with every number written the way a user reads it: ``0`` rather
than ``0E-8``, ``2000.5`` rather than ``2000.500000000000000000000000000``, a
price to 8 significant digits, a Unix time (seconds or milliseconds) under a time
key as an ISO-8601 date in UTC. JSON output and tables go through it alike.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

# keys whose numbers are prices: shown to 8 significant digits
_PRICE_KEYS = re.compile(r"(^|_)(price|prices|mid|bid|ask|vwap)($|_)")
# keys whose integers are instants
_TIME_KEYS = re.compile(r"(^|_)(deadline|time|timestamp|at)$")
_NUMBER = re.compile(r"-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")
PRICE_DIGITS = 8
# no asset we know has more decimals; more digits are computation noise, not value
MAX_PLACES = 18


def decimal_text(value: Decimal, places: int | None = None) -> str:
    """``value`` as a plain decimal (no exponent, no trailing zeros), at most ``places``."""
    if not value.is_finite():
        return str(value)
    exponent = value.as_tuple().exponent
    if places is not None and isinstance(exponent, int) and exponent < -places:
        value = value.quantize(Decimal(1).scaleb(-places))
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def price_text(value: Decimal) -> str:
    """A price to 8 significant digits, plainly written."""
    if not value.is_finite() or value == 0:
        return decimal_text(value)
    digits = value.adjusted() + 1
    return decimal_text(round(value, max(PRICE_DIGITS - digits, 0)))


def iso_time(value: int | float) -> str:
    """A Unix time in seconds or milliseconds as an ISO-8601 date in UTC."""
    seconds = value / 1000 if value > 10**11 else value
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def plain(value: Any, key: str = "") -> Any:
    """``value`` with every number written for people (see the module doc)."""
    if isinstance(value, dict):
        return {k: plain(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, key) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and _TIME_KEYS.search(key) and value > 10**9:
        return iso_time(value)
    if isinstance(value, int | float):
        return value if isinstance(value, int) else decimal_text(Decimal(str(value)))
    if isinstance(value, Decimal):
        return _number(value, key)
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        try:
            return _number(Decimal(value), key)
        except InvalidOperation:
            return value
    return value if isinstance(value, str) else str(value)


def _number(value: Decimal, key: str) -> str:
    if _PRICE_KEYS.search(key):
        return price_text(value)
    return decimal_text(value, MAX_PLACES)
