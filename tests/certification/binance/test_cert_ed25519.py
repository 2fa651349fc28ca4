"""Real clients signing with Ed25519 (and RSA) API keys against the simulator.

Each client is configured with the private key PEM the simulator handed out, the way a
user registers a public key with Binance and keeps the private one: python-binance
(``private_key=``), binance-sdk-spot (``private_key`` in its configurations, with
``session.logon`` on the WebSocket API) and ccxt / ccxt.pro (the PEM as ``secret``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt
import ccxt.pro as ccxtpro
import pytest
from binance import AsyncClient, Client
from binance.ws.reconnecting_websocket import ReconnectingWebsocket
from binance_common.configuration import ConfigurationRestAPI, ConfigurationWebSocketAPI
from binance_sdk_spot.spot import Spot
from cert_helpers import FUNDS, ccxt_urls, simulator

from chainops.devnet.exchange import ExchangeSimulator
from chainops.devnet.exchange.accounts import Account
from chainops.devnet.exchange.background import BackgroundSimulator

WAIT = 10
SYMBOL = "ETH/USDT"


@pytest.fixture(scope="module")
def venue() -> Iterator[BackgroundSimulator]:
    with BackgroundSimulator(seed=11) as sim:
        yield sim


def _urls(sim: BackgroundSimulator | ExchangeSimulator) -> dict[str, str]:
    return {
        "API_URL": f"{sim.url}/api",
        "MARGIN_API_URL": f"{sim.url}/sapi",
        "WS_API_URL": sim.ws_api_url,
    }


# -- python-binance ----------------------------------------------------------


@pytest.mark.parametrize("key_type", ["ed25519", "rsa"])
def test_python_binance_client_places_and_cancels_with_a_private_key(
    venue: BackgroundSimulator, key_type: str, tmp_path: Path
) -> None:
    account = venue.create_account(FUNDS, key_type=key_type)
    pem = tmp_path / "key.pem"
    pem.write_text(account.private_key)
    for private_key in (account.private_key, pem):  # PEM text, or a Path to the file
        client = type("Sim", (Client,), _urls(venue))(account.api_key, private_key=private_key)
        try:
            placed = client.create_order(
                symbol="ETHUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.01",
                price="1990",
            )  # fmt: skip
            assert placed["status"] == "NEW"
            got = client.get_order(symbol="ETHUSDT", orderId=placed["orderId"])
            assert got["price"] == "1990.00000000"
            canceled = client.cancel_order(symbol="ETHUSDT", orderId=placed["orderId"])
            assert canceled["status"] == "CANCELED"
            assert client.get_open_orders(symbol="ETHUSDT") == []
        finally:
            client.close_connection()


async def test_python_binance_websocket_api_signs_each_request_with_ed25519(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ReconnectingWebsocket, "TIMEOUT", 0.5)  # a quiet venue closes faster
    async with simulator() as (sim, _, _):
        account = sim.create_account(FUNDS, key_type="ed25519")
        cls = type("Sim", (AsyncClient,), _urls(sim))
        client = await cls.create(account.api_key, private_key=account.private_key)
        try:
            placed = await client.ws_create_order(
                symbol="ETHUSDT", side="SELL", type="LIMIT", timeInForce="GTC", quantity="0.01",
                price="2100",
            )  # fmt: skip
            assert placed["status"] == "NEW"
            canceled = await client.ws_cancel_order(symbol="ETHUSDT", orderId=placed["orderId"])
            assert canceled["status"] == "CANCELED"
            assert sim.hub.session_calls == 0  # python-binance never logs a session on
        finally:
            await client.close_connection()


# -- binance-sdk-spot ---------------------------------------------------------


def sdk(sim: BackgroundSimulator, account: Account, **ws_api: Any) -> Spot:
    keys: dict[str, Any] = {"api_key": account.api_key}
    if account.private_key:
        keys["private_key"] = account.private_key
    else:
        keys["api_secret"] = account.secret
    return Spot(
        config_rest_api=ConfigurationRestAPI(**keys, base_path=sim.url),
        config_ws_api=ConfigurationWebSocketAPI(**keys, stream_url=sim.ws_api_url, **ws_api),
    )


@pytest.mark.parametrize("key_type", ["ed25519", "rsa"])
def test_binance_sdk_rest_with_a_private_key(venue: BackgroundSimulator, key_type: str) -> None:
    rest = sdk(venue, venue.create_account(FUNDS, key_type=key_type)).rest_api
    placed = rest.new_order(
        symbol="ETHUSDT", side="BUY", type="LIMIT", time_in_force="GTC", quantity=0.01,
        price=1990.0,
    ).data()  # fmt: skip
    assert placed.status == "NEW"
    assert rest.get_order(symbol="ETHUSDT", order_id=placed.order_id).data().status == "NEW"
    canceled = rest.delete_order(symbol="ETHUSDT", order_id=placed.order_id).data()
    assert canceled.status == "CANCELED"


def session_calls(sim: BackgroundSimulator) -> int:
    return sim.call(lambda: sim.sim.hub.session_calls)


def test_binance_sdk_websocket_api_logs_on_with_ed25519(venue: BackgroundSimulator) -> None:
    account = venue.create_account(FUNDS, key_type="ed25519")
    client = sdk(venue, account)

    async def trade() -> None:
        ws = await client.websocket_api.create_connection()
        try:
            status = (await ws.session_status()).data().result
            assert (status.api_key, status.authorized_since) == (None, None)
            logon = (await ws.session_logon()).data().result
            assert logon.api_key == account.api_key and logon.authorized_since
            assert logon.connected_since <= logon.authorized_since <= logon.server_time
            status = (await ws.session_status()).data().result
            assert status.api_key == account.api_key and status.user_data_stream is False
            before = session_calls(venue)
            placed = (
                await ws.order_place(
                    symbol="ETHUSDT", side="BUY", type="LIMIT", time_in_force="GTC",
                    quantity=0.01, price=1990.0,
                )
            ).data().result  # fmt: skip
            assert placed.status == "NEW"
            canceled = (await ws.order_cancel(symbol="ETHUSDT", order_id=placed.order_id)).data()
            assert canceled.result.status == "CANCELED"
            assert session_calls(venue) - before == 2  # neither carried a signature
            out = (await ws.session_logout()).data().result
            assert (out.api_key, out.authorized_since) == (None, None)
            # logged out, the SDK signs each request again
            account_status = (await ws.account_status()).data().result
            assert {b.asset for b in account_status.balances} >= {"ETH", "USDT"}
            assert session_calls(venue) - before == 2
        finally:
            await ws.close_connection()

    asyncio.run(trade())


def test_binance_sdk_session_logon_with_an_hmac_key_is_refused(venue: BackgroundSimulator) -> None:
    client = sdk(venue, venue.create_account(FUNDS))

    async def logon() -> tuple[Any, Any]:
        ws = await client.websocket_api.create_connection()
        try:
            refused = (await ws.session_logon()).data()  # the SDK hands the error back
            return refused, (await ws.session_status()).data().result
        finally:
            await ws.close_connection()

    refused, status = asyncio.run(logon())
    assert refused == {"error": {"code": -4056, "msg": "HMAC_SHA256 API key is not supported."}}
    assert status.api_key is None


# -- ccxt ------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", ["ed25519", "rsa"])
async def test_ccxt_rest_with_the_pem_as_secret(key_type: str) -> None:
    async with simulator() as (sim, _, _):
        account = sim.create_account(FUNDS, key_type=key_type)
        exchange = ccxt.binance({"apiKey": account.api_key, "secret": account.private_key})
        exchange.urls["api"] = ccxt_urls(exchange.urls["api"], sim)
        try:
            await exchange.load_markets()
            placed = await exchange.create_order(SYMBOL, "limit", "buy", 0.01, 1990)
            assert placed["status"] == "open"
            fetched = await exchange.fetch_order(placed["id"], SYMBOL)
            assert fetched["price"] == 1990
            canceled = await exchange.cancel_order(placed["id"], SYMBOL)
            assert canceled["status"] == "canceled"
            balance = await exchange.fetch_balance()
            assert balance["USDT"]["free"] == 100000
        finally:
            await exchange.close()


async def test_ccxt_pro_websocket_api_and_user_stream_with_ed25519() -> None:
    async with simulator() as (sim, _, other):
        account = sim.create_account(FUNDS, key_type="ed25519")
        exchange = ccxtpro.binance({"apiKey": account.api_key, "secret": account.private_key})
        exchange.urls["api"] = ccxt_urls(exchange.urls["api"], sim)
        try:
            await exchange.load_markets()
            orders_task = asyncio.ensure_future(exchange.watch_orders(SYMBOL))
            await asyncio.sleep(0.5)  # the user-stream subscription (signed) reaches the venue
            placed = await asyncio.wait_for(
                exchange.create_order_ws(SYMBOL, "limit", "sell", 0.01, 2000.2), WAIT
            )
            assert placed["status"] == "open"
            orders = await asyncio.wait_for(orders_task, WAIT)
            assert orders[-1]["id"] == placed["id"]
            sim.place_direct(other, "ETHUSDT", side="BUY", type="MARKET", tif="GTC",
                             price=None, qty=Decimal("0.01"), client_id="taker")  # fmt: skip
            filled = await asyncio.wait_for(exchange.watch_orders(SYMBOL), WAIT)
            assert filled[-1]["status"] == "closed"
            rest = await asyncio.wait_for(
                exchange.create_order_ws(SYMBOL, "limit", "buy", 0.01, 1990), WAIT
            )
            canceled = await asyncio.wait_for(exchange.cancel_order_ws(rest["id"], SYMBOL), WAIT)
            assert canceled["status"] == "canceled"
        finally:
            await exchange.close()
