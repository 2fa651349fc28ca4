"""Shared setup for the exchange tests: a simulator, a funded account, an adapter factory."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import aiohttp

from chainops.devnet.exchange import ExchangeSimulator
from chainops.devnet.exchange.accounts import Account
from chainops.operators.exchanges import BinanceSpot

ETH = "ETH-USDT"
AMOUNT = Decimal("0.01")


def adapter(sim: ExchangeSimulator, account: Account, **options: Any) -> BinanceSpot:
    """An adapter signing as ``account``: its private key (Ed25519, RSA) or HMAC secret."""
    key = {"private_key": account.private_key} if account.private_key else {}
    return BinanceSpot.connect(
        account.api_key,
        None if account.private_key else account.secret,
        **key,
        base_url=sim.url,
        stream_url=sim.stream_url,
        ws_api_url=sim.ws_api_url,
        **options,
    )


@asynccontextmanager
async def venue(
    seed: int = 3, key_type: str = "hmac", **options: Any
) -> AsyncIterator[tuple[ExchangeSimulator, Account, Callable[..., BinanceSpot]]]:
    """A simulator, a funded account (of ``key_type``) and a factory of adapters closed
    on exit."""
    made: list[BinanceSpot] = []

    def make(**extra: Any) -> BinanceSpot:
        op = adapter(sim, account, **(options | extra))
        made.append(op)
        return op

    async with ExchangeSimulator(seed=seed) as sim:
        account = sim.create_account({"USDT": "100000", "ETH": "50", "BTC": "2"}, key_type=key_type)
        try:
            yield sim, account, make
        finally:
            for op in made:
                await op.close()


async def signed_rest(
    session: aiohttp.ClientSession, sim: ExchangeSimulator, account: Account, method: str,
    path: str, **params: Any,
) -> tuple[int, Any, Any]:  # fmt: skip
    """A REST call HMAC-signed as ``account``, by hand: status, body, headers."""
    query = urlencode(params | {"timestamp": sim.now_ms()})
    signature = hmac.new(account.secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    headers = {"X-MBX-APIKEY": account.api_key}
    url = f"{sim.url}{path}?{query}&signature={signature}"
    async with session.request(method, url, headers=headers) as reply:
        return reply.status, await reply.json(), reply.headers


class Raw:
    """Signed REST calls and WebSocket API parameters of one simulator account, by hand."""

    def __init__(self, sim: ExchangeSimulator, account: Account, session: aiohttp.ClientSession):
        self.sim, self.account, self.session = sim, account, session

    async def call(self, method: str, path: str, signed: bool = True, **params: Any) -> Any:
        if signed:
            params.setdefault("timestamp", self.sim.now_ms())
        query = urlencode(params)
        if signed:
            secret = self.account.secret.encode()
            query += "&signature=" + hmac.new(secret, query.encode(), hashlib.sha256).hexdigest()
        headers = {"X-MBX-APIKEY": self.account.api_key}
        async with self.session.request(
            method, f"{self.sim.url}{path}?{query}", headers=headers
        ) as r:
            return r.status, await r.json()

    def ws_params(self, **params: Any) -> dict[str, Any]:
        params |= {"apiKey": self.account.api_key, "timestamp": self.sim.now_ms()}
        payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        secret = self.account.secret.encode()
        return params | {
            "signature": hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()
        }

    async def open_ids(self) -> set[int]:
        _, orders = await self.call("GET", "/api/v3/openOrders", symbol="ETHUSDT")
        return {o["orderId"] for o in orders}


@asynccontextmanager
async def raw_venue() -> AsyncIterator[Raw]:
    """A simulator and a funded account on it, spoken to by hand."""
    async with ExchangeSimulator(seed=5) as sim, aiohttp.ClientSession() as session:
        yield Raw(sim, sim.create_account({"USDT": "10000", "ETH": "5"}), session)
