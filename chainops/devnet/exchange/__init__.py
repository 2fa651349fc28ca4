"""A Binance-compatible spot exchange simulator on loopback: the test venue and a paper venue."""

from chainops.devnet.exchange.faults import Faults
from chainops.devnet.exchange.filters import DEFAULT_SYMBOLS, SymbolSpec
from chainops.devnet.exchange.server import ExchangeSimulator

__all__ = ["DEFAULT_SYMBOLS", "ExchangeSimulator", "Faults", "SymbolSpec"]
