"""One way to wait: ``await op.wait()`` for orders and transactions, bound or not."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from core_factories import make_attempt, make_order, make_receipt, make_tx

from chainops.core.attempt import AttemptKind, TxAttempt
from chainops.core.errors import (
    ConfigurationError,
    InsufficientFunds,
    Rejected,
    Reverted,
    UnknownOutcome,
    ValidationError,
)
from chainops.core.order import Order, OrderState, OrderUpdate
from chainops.core.transaction import Transaction, TxState, TxUpdate

OS = OrderState
TS = TxState


async def settle_later(change: Any) -> None:
    """Apply ``change`` after the waiter has parked (next loop turns)."""
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    change()


def mined(tx: Transaction, *, status: int = 1, confirmations: int = 1) -> TxUpdate:
    attempt = tx.latest_attempt
    assert attempt is not None
    state = TS.INCLUDED if status else TS.REVERTED
    return TxUpdate(
        state=state, receipt=make_receipt(attempt, status=status), confirmations=confirmations
    )


def broadcast_tx() -> Transaction:
    tx = make_tx()
    tx.add_attempt(make_attempt(0))
    tx.mark_broadcast(0)
    return tx


class TestOrderWait:
    def test_wait_for_is_not_public(self) -> None:
        assert not hasattr(make_order(), "wait_for")

    async def test_returns_on_filled(self) -> None:
        order = make_order()
        order.transition(OS.OPEN)
        waiter = asyncio.create_task(order.wait(timeout=5))
        await settle_later(lambda: order.transition(OS.FILLED))
        assert await waiter is order
        assert await order.wait(timeout=5) is order  # already final: at once

    @pytest.mark.parametrize("state", [OS.CANCELED, OS.EXPIRED])
    async def test_other_final_states_return(self, state: OrderState) -> None:
        order = make_order()
        order.transition(state)
        assert await order.wait(timeout=1) is order

    async def test_failed_raises_the_recorded_error(self) -> None:
        order = make_order()
        waiter = asyncio.create_task(order.wait(timeout=5))
        await settle_later(
            lambda: order.apply(OrderUpdate(state=OS.FAILED, error=InsufficientFunds("no USDT")))
        )
        with pytest.raises(InsufficientFunds, match="no USDT"):
            await waiter

    async def test_failed_without_an_error_is_a_refusal(self) -> None:
        order = make_order()
        order.transition(OS.FAILED)
        with pytest.raises(Rejected, match="o1"):
            await order.wait(timeout=5)

    async def test_timeout_is_an_unknown_outcome_not_a_failure(self) -> None:
        order = make_order()
        order.transition(OS.OPEN)
        with pytest.raises(UnknownOutcome, match=r"o1 is OPEN .*pending, not failed"):
            await order.wait(timeout=0.01)
        assert order._watchers == ()  # the waiter cleaned up after itself
        assert order.state is OS.OPEN

    async def test_unknown_keeps_waiting_until_reconciled(self) -> None:
        order = make_order()
        order.transition(OS.UNKNOWN)
        waiter = asyncio.create_task(order.wait(timeout=5))
        await settle_later(lambda: order.transition(OS.OPEN))
        assert not waiter.done()
        order.transition(OS.CANCELED)
        assert await waiter is order

    async def test_wakes_up_on_a_change_from_another_thread(self) -> None:
        order = make_order()
        order.transition(OS.OPEN)
        thread = threading.Timer(0.01, lambda: order.transition(OS.FILLED))
        thread.start()
        try:
            assert await order.wait(timeout=5) is order
        finally:
            thread.join()

    def test_a_broken_waiter_never_fails_the_change(self, caplog: pytest.LogCaptureFixture) -> None:
        order = make_order()

        def broken() -> None:
            raise RuntimeError("event loop is closed")

        order._watchers += (broken,)
        assert order.transition(OS.OPEN)
        assert order.state is OS.OPEN and "waiter failed" in caplog.text

    async def test_bound_controller_decides(self) -> None:
        order = make_order()
        seen: list[tuple[Any, dict[str, Any]]] = []

        class Venue:
            async def wait(
                self, operation: Any, /, *, timeout: float | None = None, **options: Any
            ) -> Any:
                seen.append((operation, {"timeout": timeout, **options}))
                operation.transition(OS.FILLED)
                return operation

        order.bind(Venue())
        assert await order.wait(timeout=7) is order
        assert seen == [(order, {"timeout": 7})]
        assert order.state is OS.FILLED

    async def test_bound_controller_errors_propagate(self) -> None:
        class Venue:
            async def wait(
                self, operation: Any, /, *, timeout: float | None = None, **options: Any
            ) -> Any:
                raise UnknownOutcome("venue unreachable")

        order = make_order()
        order.bind(Venue())
        with pytest.raises(UnknownOutcome, match="unreachable"):
            await order.wait(timeout=5)

    def test_binding_is_not_serialised(self) -> None:
        order = make_order()
        order.bind(object())  # type: ignore[arg-type]
        again = Order.from_json(order.to_json())
        assert again == order and again._controller is None


class TestTransactionWait:
    async def test_confirmed_returns(self) -> None:
        tx = broadcast_tx()
        waiter = asyncio.create_task(tx.wait(timeout=5))
        await settle_later(lambda: tx.apply(mined(tx)))
        assert not waiter.done()  # INCLUDED is not CONFIRMED yet
        tx.apply(TxUpdate(state=TS.CONFIRMED, confirmations=3))
        assert await waiter is tx

    async def test_confirmations_deep_enough_returns_while_included(self) -> None:
        tx = broadcast_tx()
        waiter = asyncio.create_task(tx.wait(confirmations=2, timeout=5))
        await settle_later(lambda: tx.apply(mined(tx, confirmations=1)))
        assert not waiter.done()
        tx.apply(TxUpdate(confirmations=2))
        assert await waiter is tx
        assert tx.state is TS.INCLUDED

    async def test_reverted_raises_with_the_reason(self) -> None:
        tx = broadcast_tx()
        waiter = asyncio.create_task(tx.wait(confirmations=3, timeout=5))
        await settle_later(lambda: tx.apply(mined(tx, status=0)))
        with pytest.raises(Reverted, match="STF") as caught:
            await waiter
        assert caught.value.reason == "STF"

    @pytest.mark.parametrize("state", [TS.DROPPED, TS.REPLACED, TS.EXPIRED, TS.REJECTED])
    async def test_other_failures_raise(self, state: TxState) -> None:
        tx = broadcast_tx()
        tx.transition(state)
        with pytest.raises(Rejected, match=state.name):
            await tx.wait(timeout=5)

    async def test_a_recorded_error_is_raised_as_its_class(self) -> None:
        tx = broadcast_tx()
        tx.transition(TS.DROPPED, error=InsufficientFunds("balance too low"))
        with pytest.raises(InsufficientFunds, match="balance too low"):
            await tx.wait(timeout=5)

    async def test_a_won_cancel_is_a_refusal(self) -> None:
        tx = broadcast_tx()
        cancel = make_attempt(1, kind=AttemptKind.CANCEL)
        tx.add_attempt(cancel)
        receipt = make_receipt(cancel)
        tx.apply(TxUpdate(state=TS.CONFIRMED, receipt=receipt, confirmations=1))
        with pytest.raises(Rejected, match="canceled"):
            await tx.wait(timeout=5)

    async def test_timeout_is_an_unknown_outcome(self) -> None:
        tx = broadcast_tx()
        with pytest.raises(UnknownOutcome, match=r"tx1 is BROADCAST .*pending, not failed"):
            await tx.wait(timeout=0.01)
        assert tx._watchers == ()

    async def test_bad_confirmations_are_refused(self) -> None:
        with pytest.raises(ValidationError):
            await broadcast_tx().wait(confirmations=-1)

    async def test_wakes_up_on_a_change_from_another_thread(self) -> None:
        tx = broadcast_tx()
        update = mined(tx, confirmations=1)
        thread = threading.Timer(0.01, lambda: tx.apply(update))
        thread.start()
        try:
            assert await tx.wait(confirmations=1, timeout=5) is tx
        finally:
            thread.join()

    async def test_bound_operator_decides(self) -> None:
        calls: list[tuple[str, Any]] = []

        class Operator:
            async def wait(
                self,
                tx: Transaction,
                *,
                confirmations: int | None = None,
                timeout: float | None = None,
            ) -> Transaction:
                calls.append(("wait", (confirmations, timeout)))
                return tx

            async def speed_up(self, tx: Transaction) -> TxAttempt:
                calls.append(("speed_up", None))
                return make_attempt(1)

            async def cancel(self, tx: Transaction) -> TxAttempt:
                calls.append(("cancel", None))
                return make_attempt(2)

        tx = broadcast_tx()
        tx.bind(Operator())
        assert await tx.wait(confirmations=2, timeout=9) is tx  # not settled: the operator said so
        assert (await tx.speed_up()).index == 1
        assert (await tx.cancel()).index == 2
        assert calls == [("wait", (2, 9)), ("speed_up", None), ("cancel", None)]

    async def test_speed_up_needs_an_operator(self) -> None:
        tx = broadcast_tx()
        with pytest.raises(ConfigurationError, match="not tracked"):
            await tx.speed_up()

        class WaitOnly:
            async def wait(
                self, operation: Any, /, *, timeout: float | None = None, **options: Any
            ) -> Any:
                return operation

        tx.bind(WaitOnly())
        assert await tx.wait(timeout=1) is tx
        with pytest.raises(ConfigurationError, match="not tracked"):
            await tx.cancel()
