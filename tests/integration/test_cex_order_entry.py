"""Order entry over the WebSocket API, with REST when the socket cannot send."""

from __future__ import annotations

import socket
from collections import Counter
from decimal import Decimal
from typing import Any

from cex_helpers import AMOUNT, ETH, venue

from chainops.core.order import OrderState
from chainops.operators.exchanges import BinanceSpot

PRICE = Decimal("1999.90")


def count_ws_methods(sim: Any) -> Counter[str]:
    """Wrap the simulator's WebSocket API trading methods with a call counter."""
    calls: Counter[str] = Counter()
    for name in ("order.place", "order.cancel"):
        handler = sim.hub.signed_methods[name]

        def counted(account: Any, params: Any, handler: Any = handler, name: str = name) -> Any:
            calls[name] += 1
            return handler(account, params)

        sim.hub.signed_methods[name] = counted
    return calls


async def test_orders_go_over_the_websocket_api() -> None:
    async with venue() as (sim, _, make):
        calls = count_ws_methods(sim)
        op = await make(user_stream=False).start()
        order = await op.place(ETH, "BUY", "LIMIT", AMOUNT, PRICE)
        assert order.state is OrderState.OPEN and order.venue_id is not None
        filled = await op.place(ETH, "BUY", "MARKET", AMOUNT)
        assert filled.state is OrderState.FILLED and filled.fills
        await op.cancel(order)
        assert order.state is OrderState.CANCELED
        assert calls == Counter({"order.place": 2, "order.cancel": 1})


async def test_rest_when_the_websocket_api_is_unreachable() -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"ws://127.0.0.1:{probe.getsockname()[1]}/ws-api/v3"
    async with venue() as (sim, account, _):
        calls = count_ws_methods(sim)
        op = BinanceSpot.connect(account.api_key, account.secret, base_url=sim.url,
                                 stream_url=sim.stream_url, ws_api_url=dead,
                                 user_stream=False)  # fmt: skip
        async with op:
            order = await op.place(ETH, "BUY", "LIMIT", AMOUNT, PRICE)
            assert order.state is OrderState.OPEN
            assert sim.order_requests[order.client_id] == 1 and not calls


async def test_rest_only_when_configured() -> None:
    async with venue() as (sim, _, make):
        calls = count_ws_methods(sim)
        op = await make(user_stream=False, order_entry="rest").start()
        assert op.ws_api is None
        order = await op.place(ETH, "SELL", "LIMIT", AMOUNT, Decimal("2000.10"))
        assert order.state is OrderState.OPEN and not calls


async def test_venue_refusal_over_the_websocket_api_is_typed() -> None:
    from chainops.core.errors import InsufficientFunds

    async with venue() as (_sim, _, make):
        op = await make(user_stream=False).start()
        try:
            await op.place(ETH, "BUY", "LIMIT", Decimal("100"), PRICE)
        except InsufficientFunds as exc:
            assert "insufficient balance" in str(exc)
        else:
            raise AssertionError("an order beyond the balance was accepted")
        assert op.tracker.all()[0].state is OrderState.FAILED
