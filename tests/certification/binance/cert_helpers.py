"""Shared set-up of the certification suites: a simulator, funded accounts, URL overrides."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from chainops.devnet.exchange import ExchangeSimulator
from chainops.devnet.exchange.accounts import Account

FUNDS = {"USDT": "100000", "ETH": "20", "BTC": "1"}
BINANCE_HOSTS = (
    "https://api.binance.com",
    "https://fapi.binance.com",
    "https://dapi.binance.com",
    "https://eapi.binance.com",
    "https://www.binance.com",
    "https://papi.binance.com",
)


def ccxt_urls(urls: dict[str, Any], sim: ExchangeSimulator) -> dict[str, Any]:
    """ccxt's ``urls['api']`` with every Binance host replaced by the simulator's (REST and WS)."""
    out: dict[str, Any] = {}
    for key, value in urls.items():
        if isinstance(value, dict):
            out[key] = ccxt_urls(value, sim)
        elif isinstance(value, str):
            for host in BINANCE_HOSTS:
                value = value.replace(host, sim.url)
            value = value.replace("wss://stream.binance.com:9443", sim.stream_url)
            value = value.replace("wss://ws-api.binance.com:443/ws-api/v3", sim.ws_api_url)
            out[key] = value
        else:
            out[key] = value
    return out


@asynccontextmanager
async def simulator(seed: int = 11) -> AsyncIterator[tuple[ExchangeSimulator, Account, Account]]:
    """A seeded simulator with two funded accounts (a trader and a counterparty)."""
    async with ExchangeSimulator(seed=seed) as sim:
        yield sim, sim.create_account(FUNDS), sim.create_account(FUNDS)
