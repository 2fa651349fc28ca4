"""The simulator's WebSocket API session authentication, spoken by hand."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from chainops.devnet.exchange import ExchangeSimulator
from chainops.devnet.exchange.accounts import Account

FUNDS = {"USDT": "10000", "ETH": "5"}
ORDER = {"symbol": "ETHUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
         "quantity": "0.01", "price": "1990"}  # fmt: skip


def signature(account: Account, payload: str) -> str:
    if not account.private_key:
        return hmac.new(account.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    key = serialization.load_pem_private_key(account.private_key.encode(), None)
    if isinstance(key, rsa.RSAPrivateKey):
        raw = key.sign(payload.encode(), padding.PKCS1v15(), hashes.SHA256())
    else:
        assert isinstance(key, ed25519.Ed25519PrivateKey)
        raw = key.sign(payload.encode())
    return base64.b64encode(raw).decode()


class Api:
    """One WebSocket API connection; ``call`` sends a request and returns its reply."""

    def __init__(self, sim: ExchangeSimulator, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.sim, self.ws = sim, ws
        self._ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        request_id = next(self._ids)
        await self.ws.send_json({"id": request_id, "method": method, "params": params})
        reply: dict[str, Any] = await self.ws.receive_json(timeout=5)
        assert reply["id"] == request_id
        return reply

    def signed(self, account: Account, **params: Any) -> dict[str, Any]:
        params = {"apiKey": account.api_key, "timestamp": self.sim.now_ms()} | params
        payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        return params | {"signature": signature(account, payload)}

    async def logon(self, account: Account) -> dict[str, Any]:
        return await self.call("session.logon", **self.signed(account))


@asynccontextmanager
async def api() -> AsyncIterator[tuple[ExchangeSimulator, Api]]:
    async with (
        ExchangeSimulator(seed=5) as sim,
        aiohttp.ClientSession() as session,
        session.ws_connect(sim.ws_api_url) as ws,
    ):
        yield sim, Api(sim, ws)


def weight(reply: dict[str, Any]) -> int:
    (limit,) = [r for r in reply["rateLimits"] if r["rateLimitType"] == "REQUEST_WEIGHT"]
    return int(limit["count"])


async def test_logon_status_logout_replies_and_weights() -> None:
    async with api() as (sim, ws):
        account = sim.create_account(FUNDS, key_type="ed25519")
        status = await ws.call("session.status")
        assert status["status"] == 200
        result = status["result"]
        assert (result["apiKey"], result["authorizedSince"], result["userDataStream"]) == (
            None,
            None,
            False,
        )
        assert result["returnRateLimits"] is True and result["connectedSince"] > 0
        logon = await ws.logon(account)
        assert weight(logon) - weight(status) == 2
        assert logon["result"]["apiKey"] == account.api_key
        since = logon["result"]["authorizedSince"]
        assert result["connectedSince"] <= since <= logon["result"]["serverTime"]
        assert set(logon["result"]) == set(result)
        status = await ws.call("session.status")
        assert (status["result"]["apiKey"], status["result"]["authorizedSince"]) == (
            account.api_key,
            since,
        )
        out = await ws.call("session.logout")
        assert weight(out) - weight(status) == 2
        assert (out["result"]["apiKey"], out["result"]["authorizedSince"]) == (None, None)
        assert (await ws.call("session.logout"))["status"] == 200  # logged out: does nothing


async def test_logon_with_an_hmac_or_rsa_key_is_refused() -> None:
    async with api() as (sim, ws):
        for key_type, name in (("hmac", "HMAC_SHA256"), ("rsa", "RSA")):
            refused = await ws.logon(sim.create_account(FUNDS, key_type=key_type))
            assert refused["status"] == 400
            assert refused["error"] == {"code": -4056, "msg": f"{name} API key is not supported."}
        assert (await ws.call("session.status"))["result"]["apiKey"] is None


async def test_logon_signature_key_and_time_errors() -> None:
    async with api() as (sim, ws):
        account = sim.create_account(FUNDS, key_type="ed25519")
        other = sim.create_account(FUNDS, key_type="ed25519")
        forged = ws.signed(account) | {"signature": ws.signed(other)["signature"]}
        bad = await ws.call("session.logon", **forged)
        assert bad["error"] == {"code": -1022, "msg": "Signature for this request is not valid."}
        unknown = await ws.call("session.logon", **(ws.signed(account) | {"apiKey": "nobody"}))
        assert unknown["status"] == 401 and unknown["error"]["code"] == -2015
        unsigned = {k: v for k, v in ws.signed(account).items() if k != "signature"}
        assert (await ws.call("session.logon", **unsigned))["error"]["code"] == -1102
        stale = ws.signed(account, timestamp=sim.now_ms() - 60_000, recvWindow=5000)
        assert (await ws.call("session.logon", **stale))["error"]["code"] == -1021
        assert (await ws.call("session.status"))["result"]["apiKey"] is None


async def test_a_logged_on_connection_trades_unsigned_and_still_takes_signed_requests() -> None:
    async with api() as (sim, ws):
        me = sim.create_account(FUNDS, key_type="ed25519")
        other = sim.create_account(FUNDS)  # an HMAC key: it signs its own request ad hoc
        await ws.logon(me)
        placed = await ws.call("order.place", **ORDER, timestamp=sim.now_ms())
        assert placed["status"] == 200 and placed["result"]["status"] == "NEW"
        kinds = {r["rateLimitType"] for r in placed["rateLimits"]}
        assert kinds == {"ORDERS", "REQUEST_WEIGHT"}  # counted for the logged-on account
        assert sim.engine.orders[placed["result"]["orderId"]].account is me
        ad_hoc = await ws.call("order.place", **ws.signed(other, **ORDER))
        assert ad_hoc["status"] == 200
        assert sim.engine.orders[ad_hoc["result"]["orderId"]].account is other
        wrong = ws.signed(me, **ORDER) | {"signature": ws.signed(other, **ORDER)["signature"]}
        assert (await ws.call("order.place", **wrong))["error"]["code"] == -1022
        untimed = await ws.call("order.place", **ORDER)
        assert untimed["error"]["code"] == -1102 and "timestamp" in untimed["error"]["msg"]
        late = await ws.call("order.place", **ORDER, timestamp=sim.now_ms() - 10_000)
        assert late["error"]["code"] == -1021
        assert sim.hub.session_calls == 1
        await ws.call("session.logout")
        after = await ws.call("openOrders.status", symbol="ETHUSDT", timestamp=sim.now_ms())
        assert after["status"] != 200  # logged out: unsigned requests name no account


async def test_a_second_logon_changes_the_key_and_status_reports_the_user_stream() -> None:
    async with api() as (sim, ws):
        first = sim.create_account(FUNDS, key_type="ed25519")
        second = sim.create_account(FUNDS, key_type="ed25519")
        await ws.logon(first)
        assert (await ws.logon(second))["result"]["apiKey"] == second.api_key
        orders = await ws.call("openOrders.status", symbol="ETHUSDT", timestamp=sim.now_ms())
        assert orders["result"] == []
        subscribed = await ws.call("userDataStream.subscribe.signature", **ws.signed(second))
        assert subscribed["status"] == 200
        assert (await ws.call("session.status"))["result"]["userDataStream"] is True
