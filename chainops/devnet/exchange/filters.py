"""Symbols and their exchangeInfo filters: PRICE_FILTER, LOT_SIZE, NOTIONAL."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from chainops.devnet.exchange import errors

__all__ = ["DEFAULT_SYMBOLS", "MAX_PRICE", "SymbolSpec"]

MAX_PRICE = Decimal(1_000_000)  # PRICE_FILTER maxPrice of every symbol


def fmt(value: Decimal) -> str:
    """Binance prints 8 decimals on the wire."""
    return f"{value:.8f}"


@dataclass(frozen=True)
class SymbolSpec:
    """One spot symbol and its filters."""

    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    min_notional: Decimal
    mid_price: Decimal  # where the seeded market maker centres its book

    @property
    def symbol(self) -> str:
        return self.base + self.quote

    def check_price(self, price: Decimal) -> None:
        """PRICE_FILTER for a price or a stop price: positive, on the tick, at most maxPrice."""
        if price <= 0 or price > MAX_PRICE or price % self.tick_size != 0:
            raise errors.filter_failure("PRICE_FILTER")

    def check(self, price: Decimal | None, qty: Decimal, *, market: bool) -> None:
        """Raise -1013 with the failing filter's name, as the venue does."""
        if price is not None:
            self.check_price(price)
        if qty < self.min_qty or qty > self.max_qty or (qty - self.min_qty) % self.step_size:
            raise errors.filter_failure("LOT_SIZE")
        if price is not None and not market and price * qty < self.min_notional:
            raise errors.filter_failure("NOTIONAL")

    def info(self) -> dict[str, object]:
        """The symbol's exchangeInfo entry."""
        return {
            "symbol": self.symbol,
            "status": "TRADING",
            "baseAsset": self.base,
            "baseAssetPrecision": 8,
            "quoteAsset": self.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": [
                "LIMIT",
                "LIMIT_MAKER",
                "MARKET",
                "STOP_LOSS",
                "STOP_LOSS_LIMIT",
                "TAKE_PROFIT",
                "TAKE_PROFIT_LIMIT",
            ],
            "icebergAllowed": False,
            "ocoAllowed": True,
            "otoAllowed": False,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": False,
            "cancelReplaceAllowed": True,
            "isMarginTradingAllowed": False,
            "defaultSelfTradePreventionMode": "NONE",
            "allowedSelfTradePreventionModes": ["NONE"],
            "isSpotTradingAllowed": True,
            "permissions": ["SPOT"],
            "permissionSets": [["SPOT"]],
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": fmt(self.tick_size),
                    "maxPrice": fmt(MAX_PRICE),
                    "tickSize": fmt(self.tick_size),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": fmt(self.min_qty),
                    "maxQty": fmt(self.max_qty),
                    "stepSize": fmt(self.step_size),
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": fmt(self.min_notional),
                    "applyMinToMarket": False,
                    "maxNotional": "9000000.00000000",
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
            ],
        }


DEFAULT_SYMBOLS = (
    SymbolSpec(
        base="ETH",
        quote="USDT",
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.0001"),
        min_qty=Decimal("0.0001"),
        max_qty=Decimal("9000"),
        min_notional=Decimal("5"),
        mid_price=Decimal("2000"),
    ),
    SymbolSpec(
        base="BTC",
        quote="USDT",
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.00001"),
        min_qty=Decimal("0.00001"),
        max_qty=Decimal("900"),
        min_notional=Decimal("5"),
        mid_price=Decimal("60000"),
    ),
)
