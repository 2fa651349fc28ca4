"""BinanceSpot with an Ed25519 (or RSA) private key instead of an HMAC secret."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cex_helpers import AMOUNT, ETH, adapter, venue
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519

from chainops.core.order import OrderState
from chainops.devnet.exchange import ExchangeSimulator
from chainops.devnet.exchange.accounts import Account
from chainops.operators.exchanges import BinanceSpot, InvalidCredentials
from chainops.operators.exchanges.errors import VenueAuthError

PRICE = Decimal("1999.90")
ASK = Decimal("2000.20")  # inside the seeded spread: a taker's market buy fills it first


def taker(sim: ExchangeSimulator) -> None:
    """Another account buys at market: it lifts the best ask."""
    other = sim.create_account({"USDT": "100000"})
    sim.place_direct(other, "ETHUSDT", side="BUY", type="MARKET", tif="GTC",
                     price=None, qty=AMOUNT, client_id="taker")  # fmt: skip


async def test_places_cancels_and_hears_fills_over_a_logged_on_session() -> None:
    async with venue(key_type="ed25519") as (sim, _, make):
        op = await make().start()
        assert op.ws_api is not None and op.user_stream is not None
        assert (op.ws_api.logons, op.user_stream.mode) == (1, "ws-api")
        resting = await op.place(ETH, "SELL", "LIMIT", AMOUNT, ASK)
        assert resting.state is OrderState.OPEN
        taker(sim)
        await resting.wait(timeout=10)  # the fill arrives on the user stream
        assert resting.state is OrderState.FILLED and len(resting.fills) == 1
        assert next(iter(resting.fills.values())).price == ASK
        order = await op.place(ETH, "BUY", "LIMIT", AMOUNT, PRICE)
        await op.cancel(order)
        assert order.state is OrderState.CANCELED
        # three order requests went over the session, none signed; one logon for them all
        assert (sim.hub.session_calls, op.ws_api.logons, op.ws_api.connects) == (3, 1, 1)
        assert sim.order_requests[resting.client_id] == 1


async def test_logs_on_again_after_a_reconnect() -> None:
    async with venue(key_type="ed25519") as (sim, account, make):
        op = await make(user_stream=False).start()
        assert op.ws_api is not None
        await op.place(ETH, "BUY", "LIMIT", AMOUNT, PRICE)
        for conn in list(sim.hub.open):  # the venue cuts the logged-on connection
            if conn.session.api_key == account.api_key:
                await conn.ws.close()
        async with asyncio.timeout(5):
            while op.ws_api.state().connected:
                await asyncio.sleep(0.01)
        again = await op.place(ETH, "BUY", "LIMIT", AMOUNT, PRICE)
        assert again.state is OrderState.OPEN
        assert (op.ws_api.connects, op.ws_api.logons, sim.hub.session_calls) == (2, 2, 2)


async def test_an_rsa_key_signs_each_websocket_api_request() -> None:
    async with venue(key_type="rsa") as (sim, _, make):
        op = await make().start()
        assert op.ws_api is not None
        order = await op.place(ETH, "BUY", "LIMIT", AMOUNT, PRICE)
        await op.cancel(order)
        assert order.state is OrderState.CANCELED
        assert (op.ws_api.logons, sim.hub.session_calls) == (0, 0)  # no session.logon


@pytest.mark.parametrize("key_type", ["ed25519", "rsa"])
async def test_rest_order_entry_and_account_calls_sign_with_the_key(key_type: str) -> None:
    async with venue(key_type=key_type) as (sim, _, make):
        op = await make(order_entry="rest", user_stream=False).start()
        order = await op.place(ETH, "BUY", "LIMIT", AMOUNT, PRICE)
        assert [o.client_id for o in await op.open_orders(ETH)] == [str(order.client_id)]
        await op.cancel(order)
        assert order.state is OrderState.CANCELED
        assert (await op.balances())["USDT"].free == Decimal("100000")
        assert sim.hub.session_calls == 0


def _pem_files(tmp_path: Path, private: ed25519.Ed25519PrivateKey) -> tuple[str, Path]:
    """The public PEM to register, and the private key encrypted with "pass" in a file."""
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    encrypted = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass"),
    )
    path = tmp_path / "binance-ed25519.pem"
    path.write_bytes(encrypted)
    return public.decode(), path


async def test_an_encrypted_key_file_with_its_passphrase(tmp_path: Path) -> None:
    public, path = _pem_files(tmp_path, ed25519.Ed25519PrivateKey.generate())
    async with ExchangeSimulator(seed=3) as sim:
        account = sim.create_account({"USDT": "1000"}, key_type="ed25519", public_key=public)
        assert account.private_key == ""  # the venue only ever saw the public key
        for key in (path, str(path)):
            op = BinanceSpot.connect(
                account.api_key,
                private_key=key,
                private_key_passphrase="pass",
                base_url=sim.url,
                ws_api_url=sim.ws_api_url,
                user_stream=False,
            )
            async with op:
                order = await op.place(ETH, "BUY", "LIMIT", AMOUNT, PRICE)
                await op.cancel(order)
                assert order.state is OrderState.CANCELED


async def test_a_key_the_venue_does_not_know_is_refused_at_logon() -> None:
    async with venue(key_type="ed25519") as (sim, account, _):
        stranger = Account(
            account.api_key, "", private_key=_pkcs8(ed25519.Ed25519PrivateKey.generate())
        )
        op = adapter(sim, stranger, user_stream=False)
        with pytest.raises(VenueAuthError) as refused:
            await op.start()
        assert refused.value.code == -1022
        await op.close()
        assert sim.order_requests == {}


def _pkcs8(key: Any, password: bytes | None = None) -> str:
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()


ED = ed25519.Ed25519PrivateKey.generate()
PLAIN, LOCKED = _pkcs8(ED), _pkcs8(ED, b"pw")
PUBLIC_PEM = (
    ED.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
EC = _pkcs8(ec.generate_private_key(ec.SECP256K1()))
ED448 = _pkcs8(ed448.Ed448PrivateKey.generate())
NOT_ACCEPTED = "takes Ed25519 or RSA"
BAD_KEYS: list[tuple[str, dict[str, Any], str]] = [
    ("both secret and key", {"api_secret": "s" * 64, "private_key": PLAIN}, "not both"),
    ("neither", {}, "needs api_secret"),
    ("a PEM as api_secret", {"api_secret": PLAIN}, "pass it as private_key"),
    ("garbled PEM", {"private_key": PLAIN.replace("M", "x", 3)}, "not a readable PEM"),
    ("a public key", {"private_key": PUBLIC_PEM}, "holds a public key"),
    ("a missing file", {"private_key": "/nonexistent/binance.pem"}, "neither PEM text nor"),
    ("a directory", {"private_key": "/"}, "neither PEM text nor"),
    ("an empty file", {"private_key": "EMPTY"}, "not a readable PEM"),
    ("an EC key", {"private_key": EC}, NOT_ACCEPTED),
    ("an Ed448 key", {"private_key": ED448}, NOT_ACCEPTED),
    ("encrypted, no passphrase", {"private_key": LOCKED}, "encrypted"),
    ("wrong passphrase", {"private_key": LOCKED, "private_key_passphrase": "no"}, "is wrong"),
    ("passphrase, plain key", {"private_key": PLAIN, "private_key_passphrase": "pw"}, "not encr"),
    ("passphrase, no key", {"api_secret": "s", "private_key_passphrase": "pw"}, "without a"),
]


@pytest.mark.parametrize(("label", "keys", "match"), BAD_KEYS, ids=[c[0] for c in BAD_KEYS])
async def test_bad_key_input_is_refused_before_anything_is_sent(
    label: str, keys: dict[str, Any], match: str, tmp_path: Path
) -> None:
    if keys.get("private_key") == "EMPTY":
        (tmp_path / "empty.pem").write_text("")
        keys = {"private_key": tmp_path / "empty.pem"}
    async with ExchangeSimulator(seed=3, liquidity_levels=0) as sim:
        before = sim.weights.used
        with pytest.raises(InvalidCredentials, match=match) as refused:
            BinanceSpot.connect("key", **keys, base_url=sim.url, ws_api_url=sim.ws_api_url)
        assert sim.weights.used == before  # not even a ping
        secret_lines = PLAIN.splitlines()[1:-1]
        assert not any(line in str(refused.value) for line in secret_lines)
