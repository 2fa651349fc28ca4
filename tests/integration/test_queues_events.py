"""The event forwarder (bus -> queue) and typed errors across a queue, on the asyncio queue."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainops.core.bus import EventBus
from chainops.core.errors import ChainopsError, SlippageExceeded
from chainops.core.order import Order, OrderSide, OrderState, OrderType, OrderUpdate
from chainops.operators.exchanges.errors import VenueRejected
from chainops.operators.exchanges.market_events import ConnectorStatus as BusConnectorStatus
from chainops.operators.exchanges.types import Balance
from chainops.queues import Actor, MemoryTransport
from chainops.queues.operator_events import (
    OPERATOR_EVENTS,
    BalancesChanged,
    ConnectorStatus,
    EventForwarder,
    OperatorEvent,
    OrderEventMessage,
)
from chainops.queues.wire_errors import _classes, rebuild_error


def an_order(client_id: str = "co-1") -> Order:
    return Order(
        client_id=client_id,
        platform="binance",
        owner="apikey:x",
        trading_pair="ETH-USDT",
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        amount=Decimal("0.5"),
        price=Decimal("2000"),
    )


async def collect(transport: MemoryTransport, stream: str, n: int) -> list[OperatorEvent]:
    got: list[OperatorEvent] = []
    stop = asyncio.Event()

    async def handle(m: OperatorEvent) -> None:
        got.append(m)
        if len(got) == n:
            stop.set()

    actor = Actor(transport, stream, OPERATOR_EVENTS, handle, group="g", name="c")
    await asyncio.wait_for(actor.run(stop=stop, poll=0.05), 10)
    return got


async def test_order_events_fills_balances_and_status_reach_the_queue_in_order() -> None:
    bus, transport = EventBus(), MemoryTransport()
    reads = 0

    async def balances() -> dict[str, Balance]:
        nonlocal reads
        reads += 1
        return {"ETH": Balance("ETH", Decimal("1.5"), Decimal("0"))}

    forwarder = EventForwarder(bus, transport, "evt", balances=balances, platform="binance")
    order = an_order()
    bus.track(order)  # OrderCreated
    order.apply(OrderUpdate(state=OrderState.OPEN, venue_id="77"))
    bus.publish(BusConnectorStatus(platform="binance", stream="user", status="reconnected"))
    # From another thread, as a WebSocket reader thread would.
    thread = threading.Thread(target=order.apply, args=(OrderUpdate(state=OrderState.CANCELED),))
    thread.start()
    thread.join()
    await forwarder.flush()
    await forwarder.close()
    got = await collect(transport, "evt", 5)
    kinds = [m.event if isinstance(m, OrderEventMessage) else type(m).__name__ for m in got]
    assert kinds == [
        "OrderCreated", "OrderOpened", "ConnectorStatus", "OrderCanceled", "BalancesChanged",
    ]  # fmt: skip
    first = got[0]
    assert isinstance(first, OrderEventMessage) and first.to_order().client_id == "co-1"
    assert isinstance(got[2], ConnectorStatus) and got[2].status == "reconnected"
    assert isinstance(got[4], BalancesChanged) and got[4].balances == {"ETH": ("1.5", "0")}
    assert reads == 1 and forwarder.published == 5


async def test_a_closed_forwarder_publishes_nothing_more() -> None:
    bus, transport = EventBus(), MemoryTransport()
    forwarder = EventForwarder(bus, transport, "evt")
    await forwarder.close()
    bus.track(an_order("co-2"))
    await asyncio.sleep(0.05)
    consumer = await transport.consumer("evt", "g", "c")
    assert forwarder.published == 0 and await consumer.fetch(10, timeout=0.05) == []


NAMES = sorted(_classes())


@given(name=st.sampled_from(NAMES), message=st.text(max_size=40))
def test_every_error_class_comes_back_as_itself(name: str, message: str) -> None:
    error = rebuild_error(name, message)
    assert type(error).__name__ == name and isinstance(error, ChainopsError)
    assert str(error) == message or name == "InvalidTransition"


def test_a_venue_error_keeps_its_code_and_a_refused_swap_its_order() -> None:
    rejected = rebuild_error(
        "VenueRejected", "Order would trigger immediately. (code -2010)", -2010
    )
    assert isinstance(rejected, VenueRejected) and rejected.code == -2010
    assert rejected.venue_message == "Order would trigger immediately."
    order = an_order()
    slipped = rebuild_error("SwapSlippageExceeded", "too little received", order=order)
    assert isinstance(slipped, SlippageExceeded) and slipped.order is order


@pytest.mark.parametrize("name", ["KeyError", "NoSuchError", "Exception"])
def test_an_unknown_error_name_is_a_chainops_error_naming_it(name: str) -> None:
    error = rebuild_error(name, "boom")
    assert type(error) is ChainopsError and str(error) == f"{name}: boom"
