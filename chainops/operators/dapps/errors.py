"""Typed refusals shared by the DEX protocols (raised before anything is sent)."""

from __future__ import annotations

from chainops.core.errors import SlippageExceeded, ValidationError
from chainops.core.order import Order


class InsufficientLiquidity(ValidationError):
    """The pool cannot fill the trade before its price limit.

    ``amount_in`` and ``amount_out`` (raw) are the most it can fill: what it would take
    and what it would deliver; quote that amount instead, or split the trade.
    """

    def __init__(self, message: str, *, amount_in: int, amount_out: int) -> None:
        super().__init__(message)
        self.amount_in = amount_in
        self.amount_out = amount_out


class AmountOverflow(ValidationError):
    """An amount the contracts cannot hold (a V2 reserve above ``uint112``): the swap
    would revert on chain, so it is refused here."""


class DustAmount(ValidationError):
    """A trade so small that the pool's rounding leaves nothing of it (zero output)."""


class SwapSlippageExceeded(SlippageExceeded):
    """A swap refused in simulation because the price moved past its limit; nothing was
    sent, and ``order`` is the swap's Order, FAILED, as journalled."""

    def __init__(self, message: str, *, order: Order) -> None:
        super().__init__(message)
        self.order = order


class NoRoute(ValidationError):
    """No candidate route between the two tokens can fill the trade (missing pools, too
    little liquidity, or an amount that rounds to nothing on every route)."""
