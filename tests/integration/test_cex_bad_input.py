"""Bad input: a typed error before anything is sent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

import pytest
from cex_helpers import AMOUNT, ETH, adapter, venue

from chainops.core.errors import (
    AuthenticationError,
    InvalidAmount,
    InvalidIdentifier,
    ValidationError,
)
from chainops.operators.exchanges import (
    BinanceSpot,
    Capability,
    RuleViolation,
    UnknownTradingPair,
    Unsupported,
)

PRICE = Decimal("1999.90")

CASES: list[tuple[str, dict[str, Any], type[Exception]]] = [
    ("unknown pair", {"trading_pair": "DOGE-USDT"}, UnknownTradingPair),
    ("malformed pair", {"trading_pair": "ETHUSDT"}, InvalidIdentifier),
    ("price off tick", {"price": Decimal("1999.905")}, RuleViolation),
    ("amount off step", {"amount": Decimal("0.01005")}, RuleViolation),
    ("amount below minimum", {"amount": Decimal("0.00005")}, RuleViolation),
    ("amount above maximum", {"amount": Decimal("9001")}, RuleViolation),
    ("notional below minimum", {"amount": Decimal("0.001")}, RuleViolation),
    ("negative amount", {"amount": Decimal("-0.01")}, InvalidAmount),
    ("zero amount", {"amount": Decimal(0)}, InvalidAmount),
    ("negative price", {"price": Decimal("-1")}, InvalidAmount),
    ("zero price", {"price": Decimal(0)}, InvalidAmount),
    ("float amount", {"amount": 0.01}, InvalidAmount),
    ("market order with a price", {"order_type": "MARKET"}, ValidationError),
    ("limit order without a price", {"price": None}, ValidationError),
    ("unknown side", {"side": "HOLD"}, ValidationError),
    ("unknown order type", {"order_type": "STOP"}, ValidationError),
    ("unknown time in force", {"time_in_force": "GTX"}, ValidationError),
    (
        "LIMIT_MAKER with IOC",
        {"order_type": "LIMIT_MAKER", "time_in_force": "IOC"},
        ValidationError,
    ),
    ("client id too long", {"client_id": "x" * 37}, InvalidIdentifier),
]


@pytest.mark.parametrize(("label", "change", "error"), CASES, ids=[c[0] for c in CASES])
async def test_bad_order_is_refused_before_sending(
    label: str, change: dict[str, Any], error: type[Exception]
) -> None:
    async with venue() as (sim, _, make):
        op = await make(user_stream=False).start()
        args: dict[str, Any] = {
            "trading_pair": ETH,
            "side": "BUY",
            "order_type": "LIMIT",
            "amount": AMOUNT,
            "price": PRICE,
        } | change
        with pytest.raises(error):
            await op.place(**args)
        assert sim.order_requests == {}
        assert op.tracker.all() == []  # nothing journalled either


async def test_bad_choices_name_the_choices() -> None:
    async with venue() as (sim, _, make):
        op = await make(user_stream=False).start()
        with pytest.raises(ValidationError, match=r"^side must be one of BUY, SELL, got 'hold'$"):
            await op.place(ETH, "hold", "LIMIT", AMOUNT, PRICE)
        with pytest.raises(ValidationError, match=r"^time in force must be one of .*'GTX'$"):
            await op.place(ETH, "BUY", "LIMIT", AMOUNT, PRICE, time_in_force="GTX")
        assert sim.order_requests == {}


async def test_bad_credentials() -> None:
    async with venue() as (sim, account, _):
        wrong_secret = adapter(sim, account.__class__(account.api_key, "0" * 64))
        with pytest.raises(AuthenticationError):
            await wrong_secret.start()
        await wrong_secret.close()
        unknown_key = adapter(sim, account.__class__("nobody", account.secret))
        with pytest.raises(AuthenticationError):
            await unknown_key.start()
        await unknown_key.close()


async def test_bad_credentials_on_rest_only() -> None:
    async with venue() as (sim, account, _):
        op = adapter(sim, account.__class__(account.api_key, "1" * 64), user_stream=False)
        await op.start()
        try:
            with pytest.raises(AuthenticationError, match="-1022"):
                await op.balances()
        finally:
            await op.close()


class NoFok(BinanceSpot):
    capabilities: ClassVar[frozenset[Capability]] = frozenset(Capability) - {Capability.FOK}


async def test_unsupported_operation_is_a_clear_error() -> None:
    async with venue() as (sim, account, _):
        op = NoFok.connect(
            account.api_key,
            account.secret,
            base_url=sim.url,
            stream_url=sim.stream_url,
            ws_api_url=sim.ws_api_url,
            user_stream=False,
        )
        async with op:
            with pytest.raises(Unsupported, match="fok"):
                await op.place(ETH, "BUY", "LIMIT", AMOUNT, PRICE, time_in_force="FOK")
        assert sim.order_requests == {}


def test_configuration_errors() -> None:
    with pytest.raises(ValueError):
        BinanceSpot.connect("key", "secret", base_url="ftp://nowhere")
    with pytest.raises(ValueError):
        BinanceSpot.connect("", "secret")
    with pytest.raises(ValueError):
        BinanceSpot.connect("key", "secret", recv_window_ms=70_000)
