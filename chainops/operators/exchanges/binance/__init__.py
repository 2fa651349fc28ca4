"""The Binance spot adapter."""

from chainops.operators.exchanges.binance.adapter import BinanceSpot

__all__ = ["BinanceSpot"]
