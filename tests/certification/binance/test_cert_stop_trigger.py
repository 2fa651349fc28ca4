"""python-binance: stop orders wait for a trade at their stop price, then work (also in an OCO)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from binance import AsyncClient
from cert_helpers import simulator
from test_cert_python_binance import connect

from chainops.devnet.exchange import ExchangeSimulator

SYMBOL = "ETHUSDT"


@pytest.fixture
async def venue() -> AsyncIterator[tuple[ExchangeSimulator, AsyncClient, AsyncClient]]:
    async with simulator() as (sim, trader, other):
        a, b = await connect(sim, trader), await connect(sim, other)
        try:
            yield sim, a, b
        finally:
            await a.close_connection()
            await b.close_connection()


async def best_bid(client: AsyncClient) -> Decimal:
    return Decimal((await client.get_orderbook_ticker(symbol=SYMBOL))["bidPrice"])


async def sell_down_to(client: AsyncClient, price: Decimal) -> None:
    """Another account sells into the bids down to ``price``: the tape prints there."""
    await client.create_order(
        symbol=SYMBOL, side="SELL", type="LIMIT", timeInForce="IOC", quantity="0.5",
        price=f"{price:f}",
    )  # fmt: skip


async def test_stop_loss_limit_waits_then_works_once_a_trade_prints_at_its_stop(venue: Any) -> None:
    _sim, client, other = venue
    bid = await best_bid(client)
    stop = await client.create_order(
        symbol=SYMBOL, side="SELL", type="STOP_LOSS_LIMIT", timeInForce="GTC", quantity="0.01",
        stopPrice=f"{bid:f}", price=f"{bid - 1:f}",
    )  # fmt: skip
    before = await client.get_order(symbol=SYMBOL, orderId=stop["orderId"])
    assert before["status"] == "NEW" and before["isWorking"] is False
    await other.create_order(
        symbol=SYMBOL, side="SELL", type="LIMIT", timeInForce="IOC", quantity="0.01",
        price=f"{bid + 1:f}",
    )  # fmt: skip  # no trade (priced above the bids): the stop keeps waiting
    assert (await client.get_order(symbol=SYMBOL, orderId=stop["orderId"]))["isWorking"] is False
    await sell_down_to(other, bid)
    after = await client.get_order(symbol=SYMBOL, orderId=stop["orderId"])
    assert after["isWorking"] is True and after["workingTime"] != -1
    assert Decimal(after["executedQty"]) > 0  # a limit sell at bid - 1 meets the bids below
    mine = await client.get_my_trades(symbol=SYMBOL, orderId=stop["orderId"])
    assert mine and all(Decimal(t["price"]) >= bid - 1 for t in mine)


async def test_oco_stop_leg_triggers_and_the_venue_ends_the_take_profit_leg(venue: Any) -> None:
    _sim, client, other = venue
    bid = await best_bid(client)
    oco = await client.create_oco_order(
        symbol=SYMBOL, side="SELL", quantity="0.01", aboveType="LIMIT_MAKER",
        abovePrice=f"{bid + 5:f}", belowType="STOP_LOSS", belowStopPrice=f"{bid:f}",
    )  # fmt: skip
    take_profit, stop_loss = (r["orderId"] for r in oco["orderReports"])
    await sell_down_to(other, bid)
    stopped = await client.get_order(symbol=SYMBOL, orderId=stop_loss)
    assert stopped["status"] == "FILLED" and stopped["type"] == "STOP_LOSS"
    other_leg = await client.get_order(symbol=SYMBOL, orderId=take_profit)
    assert other_leg["status"] in ("CANCELED", "EXPIRED")
    assert Decimal(other_leg["executedQty"]) == 0
    done = await client.v3_get_order_list(orderListId=oco["orderListId"])
    assert done["listOrderStatus"] == "ALL_DONE"
    assert await client.get_open_orders(symbol=SYMBOL) == []
