"""Typed errors across a queue: an error travels as its class name, message and venue code.

The strategy side rebuilds the same class from the modules that define
chainops' errors, so ``except VenueRejected`` works the same remote as local.
"""

from __future__ import annotations

import importlib
import inspect
from functools import cache

from chainops.core.errors import ChainopsError, SlippageExceeded
from chainops.core.order import Order

__all__ = ["error_class", "rebuild_error"]

_MODULES = (
    "chainops.core.errors",
    "chainops.operators.exchanges.errors",
    "chainops.operators.dapps.errors",
    "chainops.operators.dapps.uniswap.v3.pool",
    "chainops.operators.dapps.uniswap.v3.prices",
    "chainops.queues.errors",
)


@cache
def _classes() -> dict[str, type[ChainopsError]]:
    found: dict[str, type[ChainopsError]] = {}
    for name in _MODULES:
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, ChainopsError):
                found.setdefault(attr, value)
    return found


def error_class(name: str) -> type[ChainopsError] | None:
    """The error class called ``name`` (None when it is not one of chainops')."""
    return _classes().get(name)


def rebuild_error(
    name: str, message: str, code: int | None = None, *, order: Order | None = None
) -> ChainopsError:
    """An instance of the error class ``name`` (ChainopsError naming it when unknown).

    ``code`` is the venue's error code; ``order`` the order a SlippageExceeded refused.
    """
    cls = error_class(name)
    error: ChainopsError | None = None
    if cls is not None:
        try:
            error = cls(message)
        except TypeError:  # a constructor with required extras (e.g. InsufficientLiquidity)
            error = _bare(cls, message)
    if error is None:
        return ChainopsError(f"{name}: {message}")
    if isinstance(error, SlippageExceeded):
        error.order = order
    if code is not None and hasattr(cls, "code"):
        error.code = code  # type: ignore[attr-defined]
        error.venue_message = message.removesuffix(f" (code {code})")  # type: ignore[attr-defined]
    return error


def _bare(cls: type[ChainopsError], message: str) -> ChainopsError | None:
    try:
        error = cls.__new__(cls)
        Exception.__init__(error, message)
    except TypeError:
        return None
    return error
