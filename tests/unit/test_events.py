from __future__ import annotations

import asyncio
import logging
import threading
from decimal import Decimal

import pytest
from core_factories import (
    at,
    force_state,
    make_attempt,
    make_fill,
    make_order,
    make_receipt,
    make_tx,
)

from chainops.core.bus import EventBus
from chainops.core.errors import Rejected
from chainops.core.events import (
    Event,
    OperationEvent,
    OrderCanceled,
    OrderCancelRequested,
    OrderCompleted,
    OrderCreated,
    OrderEvent,
    OrderExpired,
    OrderFailed,
    OrderFilled,
    OrderOpened,
    OrderUnknown,
    OrderUpdated,
    TxAttemptAdded,
    TxAttemptBroadcast,
    TxAttemptFailed,
    TxBroadcast,
    TxConfirmed,
    TxCreated,
    TxDropped,
    TxEvent,
    TxExpired,
    TxFinalized,
    TxIncluded,
    TxRejected,
    TxReorged,
    TxReplaced,
    TxReverted,
    TxSigned,
    event_for,
    events_for,
)
from chainops.core.history import Change, ErrorInfo, HistoryEntry
from chainops.core.order import ORDER_STATES, OrderState, OrderUpdate
from chainops.core.transaction import TX_STATES, TxState, TxUpdate

ORDER_EXPECTED: dict[OrderState, type[OrderEvent]] = {
    OrderState.PENDING_CREATE: OrderCreated,
    OrderState.OPEN: OrderOpened,
    OrderState.PARTIALLY_FILLED: OrderUpdated,
    OrderState.PENDING_CANCEL: OrderCancelRequested,
    OrderState.FILLED: OrderCompleted,
    OrderState.CANCELED: OrderCanceled,
    OrderState.FAILED: OrderFailed,
    OrderState.EXPIRED: OrderExpired,
    OrderState.UNKNOWN: OrderUnknown,
}

TX_EXPECTED: dict[TxState, type[TxEvent]] = {
    TxState.CREATED: TxCreated,
    TxState.SIGNED: TxSigned,
    TxState.BROADCAST: TxBroadcast,
    TxState.INCLUDED: TxIncluded,
    TxState.CONFIRMED: TxConfirmed,
    TxState.FINALIZED: TxFinalized,
    TxState.REVERTED: TxReverted,
    TxState.REPLACED: TxReplaced,
    TxState.DROPPED: TxDropped,
    TxState.EXPIRED: TxExpired,
    TxState.REJECTED: TxRejected,
}


@pytest.mark.parametrize(("source", "target"), ORDER_STATES.edges())
def test_every_order_transition_has_an_event(source: OrderState, target: OrderState) -> None:
    order = make_order()
    force_state(order, source)
    seen: list[Event] = []
    bus = EventBus()
    bus.subscribe(Event, seen.append)
    bus.track(order, announce=False)
    order.transition(target, reason="why", at=at(3))
    assert len(seen) == 1
    event = seen[0]
    assert type(event) is ORDER_EXPECTED[target]
    assert isinstance(event, OrderEvent)
    assert (event.previous, event.state) == (source, target)
    assert event.order is order and event.operation is order
    assert event.client_id == order.client_id and event.platform == "binance"
    assert event.reason == "why" and event.at == at(3)


@pytest.mark.parametrize(("source", "target"), TX_STATES.edges())
def test_every_tx_transition_has_an_event(source: TxState, target: TxState) -> None:
    tx = make_tx()
    attempt = make_attempt()
    tx.add_attempt(attempt)
    force_state(tx, source)
    tx.receipt = make_receipt(attempt, status=0 if target is TxState.REVERTED else 1)
    tx.winning_attempt = 0
    seen: list[Event] = []
    bus = EventBus()
    bus.subscribe(Event, seen.append)
    bus.track(tx, announce=False)
    tx.transition(target)
    assert len(seen) == 1
    event = seen[0]
    assert isinstance(event, TxEvent)
    backwards = TX_STATES.is_backwards(source, target)
    assert type(event) is (TxReorged if backwards else TX_EXPECTED[target])
    assert (event.previous, event.state) == (source, target)
    assert event.transaction is tx


def test_reorg_examples() -> None:
    tx = make_tx()
    assert type(event_for(tx, TxState.INCLUDED, TxState.BROADCAST)) is TxReorged
    assert type(event_for(tx, TxState.CONFIRMED, TxState.INCLUDED)) is TxReorged
    assert type(event_for(tx, TxState.BROADCAST, TxState.INCLUDED)) is TxIncluded


def test_creation_events() -> None:
    assert type(event_for(make_order(), None, OrderState.PENDING_CREATE)) is OrderCreated
    assert type(event_for(make_tx(), None, "CREATED")) is TxCreated
    with pytest.raises(TypeError):
        event_for(object(), None, "X")  # type: ignore[arg-type]


def test_history_entries_map_to_events() -> None:
    order = make_order()
    order.apply(OrderUpdate(state=OrderState.OPEN, venue_id="9", fills=(make_fill(1),)))
    kinds = [[type(e) for e in events_for(order, entry)] for entry in order.history]
    assert kinds == [[OrderCreated], [], [OrderOpened], [OrderFilled], [OrderUpdated]]
    filled = events_for(order, order.history[3])[0]
    assert isinstance(filled, OrderFilled) and filled.fill == make_fill(1)

    tx = make_tx()
    tx.add_attempt(make_attempt(0))
    tx.mark_broadcast(0)
    tx.attempt_failed(0, Rejected("nonce too low"))
    tx_kinds = [[type(e) for e in events_for(tx, entry)] for entry in tx.history]
    assert tx_kinds == [
        [TxCreated],
        [TxAttemptAdded],
        [],
        [TxSigned],
        [TxAttemptBroadcast],
        [TxBroadcast],
        [TxAttemptFailed],
    ]


def test_tracked_order_scenario() -> None:
    bus = EventBus()
    seen: list[OrderEvent] = []
    bus.subscribe(OrderEvent, seen.append)
    order = make_order()
    bus.track(order)
    order.apply(OrderUpdate(state=OrderState.OPEN, venue_id="1"))
    order.add_fill(make_fill(1, "0.5"))
    order.add_fill(make_fill(1, "0.5"))  # duplicate: no event
    order.add_fill(make_fill(2, "0.5"))
    assert [type(e) for e in seen] == [
        OrderCreated,
        OrderOpened,
        OrderFilled,
        OrderUpdated,
        OrderFilled,
        OrderCompleted,
    ]
    assert seen[-1].order.filled_base == Decimal(1)


def test_failure_events_carry_the_error() -> None:
    bus = EventBus()
    failed: list[OrderFailed] = []
    bus.subscribe(OrderFailed, failed.append)
    order = make_order()
    bus.track(order, announce=False)
    order.apply(OrderUpdate(state=OrderState.FAILED, error=Rejected("insufficient balance")))
    assert failed[0].error == ErrorInfo("Rejected", "insufficient balance")

    reverted: list[TxReverted] = []
    bus.subscribe(TxReverted, reverted.append)
    tx = make_tx()
    bus.track(tx)
    a0 = make_attempt(0)
    tx.add_attempt(a0)
    tx.apply(TxUpdate(state=TxState.REVERTED, receipt=make_receipt(a0, status=0)))
    assert reverted[0].error == ErrorInfo("Reverted", "STF")


def test_announce_only_for_new_operations() -> None:
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe(Event, seen.append)
    order = make_order()
    order.transition(OrderState.OPEN)
    bus.track(order)
    assert seen == []
    remove = bus.track(make_order("o2"))
    assert [type(e) for e in seen] == [OrderCreated]
    remove()


class TestSubscribe:
    def test_base_class_receives_subclasses(self) -> None:
        bus = EventBus()
        updated: list[Event] = []
        everything: list[Event] = []
        txs: list[Event] = []
        bus.subscribe(OrderUpdated, updated.append)
        bus.subscribe(Event, everything.append)
        bus.subscribe(TxEvent, txs.append)
        order = make_order()
        bus.track(order)
        order.transition(OrderState.OPEN)
        order.transition(OrderState.PENDING_CANCEL)
        assert [type(e) for e in updated] == [OrderOpened, OrderCancelRequested]
        assert len(everything) == 3 and txs == []

    def test_unsubscribe_handle(self) -> None:
        bus = EventBus()
        seen: list[Event] = []
        sub = bus.subscribe(Event, seen.append)
        assert sub.active
        bus.publish(Event())
        sub()
        sub.cancel()
        assert not sub.active
        bus.publish(Event())
        assert len(seen) == 1
        with bus.subscribe(Event, seen.append):
            bus.publish(Event())
        bus.publish(Event())
        assert len(seen) == 2

    def test_failing_callback_is_isolated(self, caplog: pytest.LogCaptureFixture) -> None:
        bus = EventBus()
        seen: list[Event] = []

        def broken(event: Event) -> None:
            raise RuntimeError("subscriber bug")

        bus.subscribe(Event, broken)
        bus.subscribe(Event, seen.append)
        with caplog.at_level(logging.ERROR, logger="chainops.events"):
            bus.publish(Event())
        assert len(seen) == 1
        assert "subscriber bug" in caplog.text

    def test_async_callback_refused(self) -> None:
        async def handler(event: Event) -> None:
            pass

        with pytest.raises(TypeError, match="stream"):
            EventBus().subscribe(Event, handler)

    def test_publish_from_threads(self) -> None:
        bus = EventBus()
        seen: list[Event] = []
        lock = threading.Lock()

        def record(event: Event) -> None:
            with lock:
                seen.append(event)

        bus.subscribe(Event, record)

        def work() -> None:
            for _ in range(500):
                bus.publish(Event())
                # subscribe/unsubscribe churn while publishing
                bus.subscribe(OperationEvent, record).cancel()

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(seen) == 2000


class TestStream:
    async def test_receives_matching_events(self) -> None:
        bus = EventBus()
        async with bus.stream(OrderEvent) as events:
            order = make_order()
            bus.track(order)
            order.transition(OrderState.OPEN)
            bus.publish(Event())  # not an OrderEvent
            order.transition(OrderState.CANCELED)
            got = [await asyncio.wait_for(events.__anext__(), 1) for _ in range(3)]
        assert [type(e) for e in got] == [OrderCreated, OrderOpened, OrderCanceled]

    async def test_iteration_ends_when_closed(self) -> None:
        bus = EventBus()
        stream = bus.stream(Event)
        bus.publish(Event(at=at(1)))
        bus.publish(Event(at=at(2)))
        stream.close()
        bus.publish(Event(at=at(3)))  # after close: not delivered
        assert [e.at async for e in stream] == [at(1), at(2)]

    async def test_consumer_wakes_up(self) -> None:
        bus = EventBus()
        stream = bus.stream(Event)

        async def consume() -> list[Event]:
            return [e async for e in stream]

        task = asyncio.create_task(consume())
        await asyncio.sleep(0)
        bus.publish(Event())
        await asyncio.sleep(0)
        bus.close()
        assert len(await asyncio.wait_for(task, 1)) == 1

    async def test_overflow_drops_oldest(self, caplog: pytest.LogCaptureFixture) -> None:
        bus = EventBus()
        stream = bus.stream(Event, maxsize=3)
        with caplog.at_level(logging.WARNING, logger="chainops.events"):
            for i in range(5):
                bus.publish(Event(at=at(i)))
        assert stream.dropped == 2
        assert "dropped" in caplog.text
        await stream.aclose()
        assert [e.at async for e in stream] == [at(2), at(3), at(4)]

    async def test_publish_from_another_thread(self) -> None:
        bus = EventBus()
        async with bus.stream(Event) as stream:
            thread = threading.Thread(target=lambda: [bus.publish(Event()) for _ in range(50)])
            thread.start()
            got = [await asyncio.wait_for(stream.__anext__(), 2) for _ in range(50)]
            thread.join()
        assert len(got) == 50

    async def test_unsubscribed_after_context(self) -> None:
        bus = EventBus()
        async with bus.stream(Event) as stream:
            pass
        bus.publish(Event())
        assert [e async for e in stream] == []

    async def test_bad_maxsize(self) -> None:
        with pytest.raises(ValueError):
            EventBus().stream(Event, maxsize=0)

    def test_needs_running_loop(self) -> None:
        with pytest.raises(RuntimeError):
            EventBus().stream(Event)


def test_event_history_entry_types() -> None:
    # every Change value is handled by events_for without error
    order = make_order()
    for change in Change:
        entry = HistoryEntry(at=at(0), change=change, previous="OPEN", state="OPEN", ref=None)
        assert isinstance(events_for(order, entry), list)


def test_each_state_event_names_the_state_it_enters() -> None:
    for order_state, order_cls in ORDER_EXPECTED.items():
        assert order_cls.enters is order_state
    for tx_state, tx_cls in TX_EXPECTED.items():
        assert tx_cls.enters is tx_state
    assert TxReorged.enters is None and OrderFilled.enters is None


def test_state_tables_refuse_two_events_for_one_state_or_a_state_without_one() -> None:
    from chainops.core import events

    class Base(OrderEvent):
        pass

    class Opened(Base):
        enters = OrderState.OPEN

    with pytest.raises(TypeError, match=r"no Base enters \['CANCELED'"):
        events._by_state(Base, OrderState)

    class AlsoOpened(Base):
        enters = OrderState.OPEN

    with pytest.raises(TypeError, match="enter one state"):
        events._by_state(Base, [OrderState.OPEN])
