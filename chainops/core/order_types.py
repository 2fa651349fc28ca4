"""Order types: how an order is priced, and which ones wait for a stop price."""

from __future__ import annotations

from chainops.core.history import LabelEnum

__all__ = ["OrderType"]


class OrderType(LabelEnum):
    """How the order is priced."""

    LIMIT = "LIMIT"
    MARKET = "MARKET"
    LIMIT_MAKER = "LIMIT_MAKER"  # post-only: rejected rather than taking liquidity
    # stop orders wait for a trade at ``stop_price``, then work as MARKET or LIMIT
    STOP_LOSS = "STOP_LOSS"
    STOP_LOSS_LIMIT = "STOP_LOSS_LIMIT"
    TAKE_PROFIT = "TAKE_PROFIT"
    TAKE_PROFIT_LIMIT = "TAKE_PROFIT_LIMIT"

    @property
    def is_stop(self) -> bool:
        """Triggered by a trade at the order's ``stop_price``."""
        return self.value.startswith(("STOP_", "TAKE_"))

    @property
    def priced(self) -> bool:
        """Takes a limit price (MARKET, STOP_LOSS and TAKE_PROFIT do not)."""
        return self.value not in ("MARKET", "STOP_LOSS", "TAKE_PROFIT")
