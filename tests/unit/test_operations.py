from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from core_factories import (
    BNB,
    ETH,
    SOL_SENDER,
    at,
    force_state,
    make_attempt,
    make_fill,
    make_order,
    make_receipt,
    make_tx,
    solana_attempt,
)

from chainops.core.assets import Fee
from chainops.core.attempt import FeeParams, TxAttempt, TxReceipt
from chainops.core.errors import (
    ChainopsError,
    InvalidAmount,
    InvalidIdentifier,
    InvalidTransition,
    Rejected,
    ValidationError,
)
from chainops.core.history import Change, ErrorInfo, HistoryEntry, to_us
from chainops.core.ids import EvmAddress
from chainops.core.operation import Operation, operation_from_dict, operation_from_json
from chainops.core.order import (
    ORDER_STATES,
    Fill,
    Order,
    OrderSide,
    OrderState,
    OrderType,
    OrderUpdate,
    TimeInForce,
)
from chainops.core.transaction import TX_STATES, Transaction, TxState, TxUpdate

OS = OrderState
TS = TxState


# ---------------------------------------------------------------- state tables


def test_order_table_shape() -> None:
    assert ORDER_STATES.terminal == {OS.FILLED, OS.CANCELED, OS.FAILED, OS.EXPIRED}
    assert ORDER_STATES.initial is OS.PENDING_CREATE
    # UNKNOWN can resolve to every real outcome
    assert ORDER_STATES.table[OS.UNKNOWN] >= {OS.OPEN, OS.FILLED, OS.CANCELED, OS.FAILED}
    assert not ORDER_STATES.can(OS.OPEN, OS.PENDING_CREATE)
    assert not ORDER_STATES.can(OS.PARTIALLY_FILLED, OS.OPEN)


def test_tx_table_shape() -> None:
    assert TX_STATES.terminal == {
        TS.FINALIZED,
        TS.REJECTED,
        TS.REVERTED,
        TS.DROPPED,
        TS.REPLACED,
        TS.EXPIRED,
    }
    assert TX_STATES.can(TS.INCLUDED, TS.BROADCAST)  # reorg
    assert TX_STATES.can(TS.CONFIRMED, TS.INCLUDED)  # deeper reorg
    assert not TX_STATES.can(TS.BROADCAST, TS.SIGNED)  # a speed-up stays BROADCAST
    assert not TX_STATES.can(TS.SIGNED, TS.DROPPED)  # never sent, cannot be dropped
    assert not TX_STATES.can(TS.CONFIRMED, TS.REVERTED)


@pytest.mark.parametrize("source", list(OS))
@pytest.mark.parametrize("target", list(OS))
def test_order_transition_follows_table(source: OrderState, target: OrderState) -> None:
    order = make_order()
    force_state(order, source)
    if source == target:
        assert order.transition(target) is False
    elif ORDER_STATES.can(source, target):
        assert order.transition(target, at=at(1)) is True
        assert order.state is target
        assert order.history[-1].change is Change.TRANSITION
        assert (order.history[-1].previous, order.history[-1].state) == (source.name, target.name)
    else:
        before = order.to_dict()
        with pytest.raises(InvalidTransition) as err:
            order.transition(target)
        assert (err.value.source, err.value.target) == (source.name, target.name)
        assert order.to_dict() == before


@pytest.mark.parametrize("source", list(TS))
@pytest.mark.parametrize("target", list(TS))
def test_tx_transition_follows_table(source: TxState, target: TxState) -> None:
    tx = make_tx()
    attempt = make_attempt()
    tx.add_attempt(attempt)
    force_state(tx, source)
    tx.receipt = make_receipt(attempt, status=0 if target is TS.REVERTED else 1)
    if source == target:
        assert tx.transition(target) is False
    elif TX_STATES.can(source, target):
        assert tx.transition(target) is True
        assert tx.state is target
    else:
        with pytest.raises(InvalidTransition):
            tx.transition(target)
        assert tx.state is source


def test_terminal_states_are_final() -> None:
    for machine in (ORDER_STATES, TX_STATES):
        for state in machine.terminal:
            assert not machine.table[state]
            assert machine.is_terminal(state)


def test_transition_by_name_is_case_insensitive() -> None:
    order = make_order()
    assert order.transition("open")
    assert order.state is OS.OPEN
    with pytest.raises(ValueError):
        order.transition("NOPE")


# ---------------------------------------------------------------- orders


class TestOrderConstruction:
    def test_basic(self) -> None:
        order = make_order(side="sell", order_type="limit")
        assert order.side is OrderSide.SELL and order.order_type is OrderType.LIMIT
        assert order.time_in_force is TimeInForce.GTC
        assert order.state is OS.PENDING_CREATE
        assert order.client_id == "o1" and order.venue_id is None
        assert order.trading_pair.base == "ETH"
        assert order.history[0].change is Change.CREATED
        assert order.created_at == order.updated_at == at(0)
        assert order.kind == "order" and not order.is_terminal
        assert "BUY" in repr(make_order())

    def test_market_defaults_to_ioc(self) -> None:
        order = make_order(order_type=OrderType.MARKET, price=None)
        assert order.time_in_force is TimeInForce.IOC

    def test_limit_needs_price(self) -> None:
        with pytest.raises(ValidationError, match="needs a price"):
            make_order(price=None)

    def test_limit_maker_is_gtc(self) -> None:
        with pytest.raises(ValidationError, match="LIMIT_MAKER"):
            make_order(order_type="LIMIT_MAKER", time_in_force="IOC")

    @pytest.mark.parametrize("amount", [Decimal(0), Decimal(-1), 1.0, "NaN", True])
    def test_bad_amount(self, amount: object) -> None:
        with pytest.raises(InvalidAmount):
            make_order(amount=amount)

    def test_float_price(self) -> None:
        with pytest.raises(InvalidAmount, match="float"):
            make_order(price=2000.0)

    def test_bad_ids(self) -> None:
        with pytest.raises(InvalidIdentifier):
            make_order(client_id="bad id")
        with pytest.raises(InvalidIdentifier):
            make_order(trading_pair="ETHUSDT")
        with pytest.raises(ValidationError):
            make_order(platform=" ")
        with pytest.raises(ValueError):
            make_order(side="hold")

    def test_naive_timestamp_rejected(self) -> None:
        from datetime import datetime

        with pytest.raises(ValidationError, match="timezone"):
            make_order(created_at=datetime(2024, 1, 1))

    def test_quote_record(self) -> None:
        quote = {"block": 12, "min_out": Decimal("1.5"), "pool": "0xabc", "exact_in": True}
        order = make_order(quote=quote)
        assert order.quote == quote
        with pytest.raises(InvalidAmount):
            make_order(quote={"min_out": 1.5})
        with pytest.raises(ValidationError):
            make_order(quote={"x": [1]})


class TestOrderFills:
    def test_duplicate_fill_counts_once(self) -> None:
        order = make_order()
        order.transition(OS.OPEN)
        fill = make_fill(1)
        assert order.add_fill(fill) is True
        assert order.add_fill(fill) is False
        assert order.apply(OrderUpdate(fills=(fill, fill))) is False
        assert order.filled_base == Decimal("0.25")
        assert order.state is OS.PARTIALLY_FILLED
        assert sum(1 for e in order.history if e.change is Change.FILL) == 1

    def test_fills_complete_the_order(self) -> None:
        order = make_order()
        order.apply(OrderUpdate(state=OS.OPEN, venue_id="42"))
        order.apply(OrderUpdate(fills=(make_fill(1), make_fill(2, "0.5"))))
        assert order.state is OS.PARTIALLY_FILLED
        order.apply(OrderUpdate(fills=(make_fill(3),)))
        assert order.state is OS.FILLED and order.is_terminal
        assert order.filled_base == 1
        assert order.filled_quote == 2000
        assert order.average_price == 2000
        assert order.remaining == 0
        assert order.fees == (Fee(BNB, Decimal("0.0003")),)

    def test_market_fill_from_pending(self) -> None:
        order = make_order(order_type="MARKET", price=None)
        order.apply(OrderUpdate(fills=(make_fill(1, "1"),)))
        assert order.state is OS.FILLED
        changes = [(e.change, e.state) for e in order.history[1:]]
        assert changes == [(Change.FILL, "PENDING_CREATE"), (Change.TRANSITION, "FILLED")]

    def test_explicit_state_then_fills(self) -> None:
        order = make_order()
        order.apply(OrderUpdate(state=OS.OPEN, fills=(make_fill(1),)))
        states = [e.state for e in order.history if e.change is Change.TRANSITION]
        assert states == ["OPEN", "PARTIALLY_FILLED"]

    def test_same_fill_from_another_source(self) -> None:
        order = make_order()
        order.add_fill(make_fill(1))
        echo = dataclasses.replace(make_fill(1), timestamp=at(99), fee=None)
        assert order.add_fill(echo) is False
        assert order.fills["t1"].timestamp == at(1)

    def test_conflicting_fill_id_rejected(self) -> None:
        order = make_order()
        order.add_fill(make_fill(1))
        other = make_fill(1, base="0.3")
        with pytest.raises(ValidationError, match="conflicts"):
            order.add_fill(other)
        assert order.filled_base == Decimal("0.25")

    def test_fill_while_pending_cancel_keeps_state(self) -> None:
        order = make_order()
        order.transition(OS.OPEN)
        order.transition(OS.PENDING_CANCEL)
        order.add_fill(make_fill(1))
        assert order.state is OS.PENDING_CANCEL
        order.add_fill(make_fill(2, "0.75"))
        assert order.state is OS.FILLED

    def test_late_fill_after_cancel_is_recorded(self) -> None:
        order = make_order()
        order.transition(OS.OPEN)
        order.transition(OS.CANCELED)
        assert order.add_fill(make_fill(1))
        assert order.state is OS.CANCELED and order.filled_base == Decimal("0.25")

    def test_fill_on_failed_order_is_a_bug(self) -> None:
        order = make_order()
        order.transition(OS.FAILED, error=Rejected("insufficient balance"))
        with pytest.raises(InvalidTransition):
            order.add_fill(make_fill(1))
        assert not order.fills

    def test_no_fills_views(self) -> None:
        order = make_order()
        assert order.average_price is None and order.remaining == 1 and order.fees == ()
        with pytest.raises(TypeError):
            order.fills["x"] = make_fill(1)  # type: ignore[index]

    def test_network_fee_in_fees(self) -> None:
        order = make_order(order_type="MARKET", price=None, platform="anvil")
        gas = Fee(ETH, Decimal("0.0021"))
        assert order.apply(OrderUpdate(network_fee=gas))
        assert not order.apply(OrderUpdate(network_fee=gas))
        order.add_fill(make_fill(1, "1", fee=False))
        assert order.fees == (gas,)

    def test_exact_sums(self) -> None:
        order = make_order(amount=Decimal("100000000000"))
        tiny = Fill(
            fill_id="a",
            price=Decimal(1),
            base_amount=Decimal("99999999999.999999999999"),
            quote_amount=Decimal(1),
        )
        order.add_fill(tiny)
        order.add_fill(
            Fill(
                fill_id="b",
                price=Decimal(1),
                base_amount=Decimal("0.000000000001"),
                quote_amount=Decimal(1),
            )
        )
        assert order.filled_base == Decimal("100000000000.000000000000")
        assert order.state is OS.FILLED

    def test_fill_validation(self) -> None:
        with pytest.raises(ValidationError):
            Fill(fill_id="", price=Decimal(1), base_amount=Decimal(1), quote_amount=Decimal(1))
        with pytest.raises(InvalidAmount):
            Fill(fill_id="x", price=Decimal(0), base_amount=Decimal(1), quote_amount=Decimal(1))
        with pytest.raises(InvalidAmount):
            Fill(
                fill_id="x",
                price=Decimal(1),
                base_amount=1.0,  # type: ignore[arg-type]
                quote_amount=Decimal(1),
            )


class TestOrderStaleness:
    def test_backwards_state_ignored(self) -> None:
        order = make_order()
        order.apply(OrderUpdate(state=OS.OPEN))
        order.add_fill(make_fill(1))
        before = order.to_dict()
        assert order.apply(OrderUpdate(state=OS.OPEN)) is False
        assert order.apply(OrderUpdate(state=OS.PENDING_CREATE)) is False
        assert order.to_dict() == before

    def test_older_sequence_ignored_but_fills_kept(self) -> None:
        order = make_order()
        order.apply(OrderUpdate(state=OS.OPEN, sequence=10))
        order.apply(OrderUpdate(state=OS.PENDING_CANCEL, sequence=20))
        assert order.apply(OrderUpdate(state=OS.CANCELED, sequence=15)) is False
        assert order.state is OS.PENDING_CANCEL
        assert order.apply(OrderUpdate(state=OS.OPEN, sequence=12, fills=(make_fill(1),)))
        assert order.state is OS.PENDING_CANCEL and len(order.fills) == 1
        assert order.last_sequence == 20

    def test_rejected_cancel_needs_ordering_evidence(self) -> None:
        order = make_order()
        order.apply(OrderUpdate(state=OS.OPEN, sequence=1))
        order.apply(OrderUpdate(state=OS.PENDING_CANCEL, sequence=2))
        assert order.apply(OrderUpdate(state=OS.OPEN)) is False  # could be the late ack
        assert order.state is OS.PENDING_CANCEL
        assert order.apply(OrderUpdate(state=OS.OPEN, sequence=3)) is True
        assert order.state is OS.OPEN

    def test_late_report_after_terminal_ignored(self) -> None:
        order = make_order()
        order.apply(OrderUpdate(state=OS.CANCELED))
        assert order.apply(OrderUpdate(state=OS.OPEN)) is False
        assert order.apply(OrderUpdate(state=OS.CANCELED)) is False

    def test_conflicting_terminal_raises_and_changes_nothing(self) -> None:
        order = make_order()
        order.apply(OrderUpdate(state=OS.FILLED))
        before = order.to_dict()
        with pytest.raises(InvalidTransition, match="FILLED -> CANCELED"):
            order.apply(OrderUpdate(state=OS.CANCELED, fills=(make_fill(9),), venue_id="v"))
        assert order.to_dict() == before

    def test_update_for_another_order(self) -> None:
        with pytest.raises(ValidationError):
            make_order().apply(OrderUpdate(client_id="other", state=OS.OPEN))  # type: ignore[arg-type]

    def test_error_recorded(self) -> None:
        order = make_order()
        err = ErrorInfo("Rejected", "Account has insufficient balance")
        order.apply(OrderUpdate(state=OS.FAILED, error=err, reason="-2010"))
        assert order.error == err
        assert order.history[-1].reason == "-2010"
        assert isinstance(order.error.to_exception(), Rejected)


class TestVenueIdAndExecution:
    def test_set_once(self) -> None:
        order = make_order()
        order.venue_id = "123"
        order.venue_id = "123"
        assert order.set_venue_id(123) is False
        with pytest.raises(InvalidTransition, match="venue_id"):
            order.venue_id = "124"
        with pytest.raises(InvalidTransition):
            order.apply(OrderUpdate(venue_id="999"))
        assert order.venue_id == "123"
        assert [e.change for e in order.history].count(Change.VENUE_ID) == 1

    def test_execution_set_once(self) -> None:
        order = make_order(order_type="MARKET", price=None)
        order.execution = "tx1"  # type: ignore[assignment]
        order.execution = "tx1"  # type: ignore[assignment]
        with pytest.raises(InvalidTransition):
            order.execution = "tx2"  # type: ignore[assignment]
        assert order.execution == "tx1"


# ---------------------------------------------------------------- transactions


class TestTransaction:
    def test_construction(self) -> None:
        tx = make_tx(sender="0x" + "ab" * 20, data="0xdead")
        assert tx.sender == tx.owner == EvmAddress("0x" + "ab" * 20)
        assert isinstance(tx.sender, EvmAddress)
        assert tx.data == b"\xde\xad"
        assert tx.chain == "anvil"
        assert tx.state is TS.CREATED and tx.hash is None and tx.winner is None
        with pytest.raises(ValidationError, match="sender"):
            make_tx(sender="nope")
        with pytest.raises(ValidationError):
            make_tx(value=-1)
        with pytest.raises(ValidationError):
            make_tx(data="0xzz")

    def test_attempt_lifecycle(self) -> None:
        tx = make_tx()
        first = make_attempt(0)
        assert tx.add_attempt(first, at=at(1))
        assert tx.state is TS.SIGNED
        assert tx.venue_id == first.hash and tx.hash == first.hash
        assert tx.add_attempt(first) is False
        assert tx.mark_broadcast(0, at=at(2))
        assert tx.state is TS.BROADCAST and tx.attempts[0].broadcast
        assert tx.mark_broadcast(first.hash) is False
        speed_up = make_attempt(1, kind="SPEED_UP")
        assert tx.add_attempt(speed_up)
        assert tx.state is TS.BROADCAST
        assert tx.hash == speed_up.hash and tx.venue_id == first.hash
        assert tx.fee_params == speed_up.fee
        tx.mark_broadcast(1)
        changes = [e.change for e in tx.history]
        assert changes == [
            Change.CREATED,
            Change.ATTEMPT,
            Change.VENUE_ID,
            Change.TRANSITION,
            Change.BROADCAST,
            Change.TRANSITION,
            Change.ATTEMPT,
            Change.BROADCAST,
        ]

    def test_speed_up_must_reuse_nonce(self) -> None:
        tx = make_tx()
        tx.add_attempt(make_attempt(0))
        with pytest.raises(ValidationError, match="nonce"):
            tx.add_attempt(make_attempt(1, nonce=8))

    def test_nonce_taken_from_attempt(self) -> None:
        tx = make_tx(nonce=None)
        tx.add_attempt(make_attempt(0, nonce=3))
        assert tx.nonce == 3

    def test_attempt_index_and_hash_checks(self) -> None:
        tx = make_tx()
        with pytest.raises(ValidationError, match="next attempt index"):
            tx.add_attempt(make_attempt(1))
        tx.add_attempt(make_attempt(0))
        with pytest.raises(ValidationError, match="another hash"):
            tx.add_attempt(make_attempt(0, seed=99))
        with pytest.raises(ValidationError, match="already recorded"):
            tx.add_attempt(make_attempt(1, seed=0))
        with pytest.raises(ValidationError, match="no attempt"):
            tx.mark_broadcast(5)
        with pytest.raises(ValidationError, match="no attempt"):
            tx.mark_broadcast("0x" + "00" * 32)

    def test_hash_must_match_raw(self) -> None:
        good = make_attempt(0)
        with pytest.raises(ValidationError, match="keccak"):
            type(good)(index=0, hash=make_attempt(1).hash, raw=good.raw)
        sol = solana_attempt(0)
        with pytest.raises(ValidationError, match="first signature"):
            type(sol)(index=0, hash=solana_attempt(1).hash, raw=sol.raw)

    def test_no_new_attempt_once_mined(self) -> None:
        tx = make_tx()
        a0 = make_attempt(0)
        tx.add_attempt(a0)
        tx.apply(TxUpdate(state=TS.INCLUDED, receipt=make_receipt(a0)))
        with pytest.raises(InvalidTransition, match="new attempt"):
            tx.add_attempt(make_attempt(1))

    def test_broadcast_after_terminal(self) -> None:
        tx = make_tx()
        tx.add_attempt(make_attempt(0))
        tx.transition(TS.REJECTED, error=ErrorInfo("InsufficientFunds", "no gas"))
        with pytest.raises(InvalidTransition):
            tx.mark_broadcast(0)

    def test_attempt_failed(self) -> None:
        tx = make_tx()
        tx.add_attempt(make_attempt(0))
        err = ErrorInfo("RpcPermanentError", "replacement transaction underpriced")
        assert tx.attempt_failed(0, err)
        assert tx.attempt_failed(0, err) is False
        assert tx.attempts[0].error == err
        assert tx.state is TS.SIGNED

    def test_speed_up_wins(self) -> None:
        tx = make_tx()
        a0, a1 = make_attempt(0), make_attempt(1)
        tx.add_attempt(a0)
        tx.mark_broadcast(0)
        tx.add_attempt(a1)
        tx.mark_broadcast(1)
        receipt = make_receipt(a1, block=50)
        fee = Fee(ETH, Decimal("0.000021"))
        assert tx.apply(
            TxUpdate(state=TS.INCLUDED, receipt=receipt, fee=fee, confirmations=1, sequence=50)
        )
        assert tx.winning_attempt == 1 and tx.winner is not None and tx.winner.hash == a1.hash
        assert tx.hash == a1.hash and tx.fee == fee and tx.confirmations == 1
        assert tx.apply(TxUpdate(confirmations=3, state=TS.CONFIRMED, sequence=52))
        assert tx.apply(TxUpdate(state=TS.FINALIZED, sequence=120))
        assert tx.is_terminal

    def test_receipt_rules(self) -> None:
        tx = make_tx()
        a0 = make_attempt(0)
        tx.add_attempt(a0)
        tx.mark_broadcast(0)
        with pytest.raises(ValidationError, match="without a receipt"):
            tx.apply(TxUpdate(state=TS.INCLUDED))
        with pytest.raises(ValidationError, match="cannot be recorded"):
            tx.apply(TxUpdate(receipt=make_receipt(a0)))
        stranger = make_receipt(make_attempt(5))
        with pytest.raises(ValidationError, match="no attempt"):
            tx.apply(TxUpdate(state=TS.INCLUDED, receipt=stranger))
        with pytest.raises(ValidationError, match="status 0"):
            tx.apply(TxUpdate(state=TS.CONFIRMED, receipt=make_receipt(a0, status=0)))
        with pytest.raises(ValidationError, match="did not revert"):
            tx.apply(TxUpdate(state=TS.REVERTED, receipt=make_receipt(a0)))
        assert tx.state is TS.BROADCAST and tx.receipt is None
        with pytest.raises(ValidationError):
            TxReceipt(transaction_hash=a0.hash, block_number=1, status=2)

    def test_revert_records_reason(self) -> None:
        tx = make_tx()
        a0 = make_attempt(0)
        tx.add_attempt(a0)
        tx.mark_broadcast(0)
        tx.apply(TxUpdate(state=TS.INCLUDED, receipt=make_receipt(a0, status=0)))
        assert tx.state is TS.INCLUDED  # the monitor may wait for depth before REVERTED
        tx.apply(TxUpdate(state=TS.REVERTED))
        assert tx.error == ErrorInfo("Reverted", "STF")
        assert tx.error.to_exception().args == ("STF",)

    def test_reorg(self) -> None:
        tx = make_tx()
        a0 = make_attempt(0)
        tx.add_attempt(a0)
        tx.mark_broadcast(0)
        tx.apply(
            TxUpdate(
                state=TS.INCLUDED, receipt=make_receipt(a0), sequence=100, fee=Fee(ETH, Decimal(1))
            )
        )
        tx.apply(TxUpdate(state=TS.CONFIRMED, confirmations=3, sequence=103))
        # a late INCLUDED report (older head) is ignored
        assert tx.apply(TxUpdate(state=TS.INCLUDED, sequence=101)) is False
        # INCLUDED without any ordering evidence is ignored too
        assert tx.apply(TxUpdate(state=TS.INCLUDED)) is False
        assert tx.state is TS.CONFIRMED
        # a newer head shows the block gone: back to the mempool, receipt cleared
        assert tx.apply(TxUpdate(state=TS.BROADCAST, sequence=104, reason="reorg"))
        assert tx.state is TS.BROADCAST
        assert tx.receipt is None and tx.winning_attempt is None and tx.confirmations == 0
        assert tx.fee is None
        # re-included in another block
        assert tx.apply(
            TxUpdate(state=TS.INCLUDED, receipt=make_receipt(a0, block=105), sequence=105)
        )
        assert tx.receipt is not None and tx.receipt.block_number == 105

    def test_reorg_within_confirmed_keeps_receipt_unless_given(self) -> None:
        tx = make_tx()
        a0 = make_attempt(0)
        tx.add_attempt(a0)
        tx.apply(TxUpdate(state=TS.CONFIRMED, receipt=make_receipt(a0), sequence=10))
        assert tx.apply(
            TxUpdate(state=TS.INCLUDED, receipt=make_receipt(a0, block=11), sequence=12)
        )
        assert tx.state is TS.INCLUDED and tx.receipt.block_number == 11  # type: ignore[union-attr]

    def test_terminal_conflicts(self) -> None:
        tx = make_tx()
        a0 = make_attempt(0)
        tx.add_attempt(a0)
        tx.apply(TxUpdate(state=TS.FINALIZED, receipt=make_receipt(a0), sequence=5))
        assert tx.apply(TxUpdate(state=TS.BROADCAST)) is False
        assert tx.apply(TxUpdate(state=TS.BROADCAST, sequence=9)) is False
        with pytest.raises(InvalidTransition, match="FINALIZED -> DROPPED"):
            tx.apply(TxUpdate(state=TS.DROPPED, sequence=9))

    def test_stale_sequence_ignored_entirely(self) -> None:
        tx = make_tx()
        a0 = make_attempt(0)
        tx.add_attempt(a0)
        tx.apply(TxUpdate(state=TS.BROADCAST, sequence=10))
        assert tx.apply(TxUpdate(confirmations=5, sequence=9)) is False
        assert tx.confirmations == 0

    def test_sequence_not_needed_forward(self) -> None:
        tx = make_tx()
        tx.add_attempt(make_attempt(0))
        tx.mark_broadcast(0)
        tx.apply(TxUpdate(state=TS.DROPPED, reason="not in mempool"))
        assert tx.state is TS.DROPPED

    def test_solana(self) -> None:
        tx = Transaction(
            client_id="s1", platform="solana-local", sender=SOL_SENDER, to=SOL_SENDER, value=5
        )
        a0 = solana_attempt(0)
        tx.add_attempt(a0)
        assert tx.recent_blockhash == a0.blockhash and tx.last_valid_block_height == 1000
        tx.mark_broadcast(0)
        tx.apply(TxUpdate(state=TS.EXPIRED, reason="block height exceeded"))
        assert tx.state is TS.EXPIRED
        again = operation_from_json(tx.to_json())
        assert again == tx and isinstance(again, Transaction)

    def test_attempt_times_are_integer_microseconds(self) -> None:
        plus_two = timezone(timedelta(hours=2))
        given = datetime(2024, 1, 1, 14, 0, 0, 123456, tzinfo=plus_two)
        attempt = make_attempt(0)
        built = dataclasses.replace(attempt, created_at=given)
        assert built.created_us == to_us(given)
        assert built.created_at == given and built.created_at.tzinfo is UTC
        assert dataclasses.replace(attempt, created_us=to_us(given)) == built
        assert attempt.broadcast_us is None and attempt.broadcast_at is None
        tx = make_tx()
        tx.add_attempt(attempt)
        tx.mark_broadcast(0, at=given)
        sent = tx.attempts[0]
        assert sent.broadcast_us == to_us(given) and sent.broadcast_at == given
        # the attempt and the history entries of the broadcast share one time
        assert [e.at_us for e in tx.history[-2:]] == [sent.broadcast_us] * 2
        assert dataclasses.replace(sent, broadcast_at=None).broadcast is False
        assert TxAttempt.from_dict(sent.to_dict()) == sent

    @pytest.mark.parametrize(
        "bad",
        [
            {"created_us": 1.5},
            {"created_us": "1704067200000000"},
            {"created_us": True},
            {"broadcast_us": 2.0},
            {"created_at": datetime(2024, 1, 1)},  # naive: ambiguous across hosts
            {"broadcast_at": datetime(2024, 1, 1)},
            {"broadcast_at": 1704067200},
            {"fee": {"gas_price": 1}},
            {"error": "refused"},
        ],
    )
    def test_attempt_bad_fields(self, bad: dict[str, Any]) -> None:
        good = make_attempt(0)
        args: dict[str, Any] = {"index": 0, "hash": good.hash, "raw": good.raw, **bad}
        TxAttempt(index=0, hash=good.hash, raw=good.raw)  # without the bad field: accepted
        with pytest.raises(ValidationError):
            TxAttempt(**args)

    def test_fee_params(self) -> None:
        assert FeeParams(gas_price=1).is_eip1559 is False
        assert FeeParams(max_fee_per_gas=2, max_priority_fee_per_gas=1).is_eip1559
        for bad in (
            {"max_fee_per_gas": 2},
            {"gas_price": 1, "max_fee_per_gas": 2, "max_priority_fee_per_gas": 1},
            {"max_fee_per_gas": 1, "max_priority_fee_per_gas": 2},
            {"gas_price": -1},
            {"gas_price": True},
            {"compute_unit_limit": -5},
            {"compute_unit_price": 1.5},
            {"max_fee_per_gas": "2", "max_priority_fee_per_gas": 1},
            {"max_fee_per_gas": 2, "max_priority_fee_per_gas": False},
        ):
            with pytest.raises(ValidationError) as caught:
                FeeParams(**bad)  # type: ignore[arg-type]
            name = next(iter(bad)) if len(bad) == 1 else None
            assert name is None or name in str(caught.value)  # the field is named
        fp = FeeParams(compute_unit_price=5, compute_unit_limit=200_000)
        assert FeeParams.from_dict(fp.to_dict()) == fp

        class Units(int):
            pass

        assert FeeParams(gas_price=Units(3)).gas_price == 3  # an int subclass is an int


# ---------------------------------------------------------------- common behaviour


class TestHistoryAndListeners:
    def test_listener_sees_every_change(self) -> None:
        order = make_order()
        seen: list[HistoryEntry] = []
        remove = order.add_listener(lambda op, entry: seen.append(entry))
        order.apply(OrderUpdate(state=OS.OPEN, venue_id="1"))
        order.add_fill(make_fill(1))
        assert [e.change for e in seen] == [
            Change.VENUE_ID,
            Change.TRANSITION,
            Change.FILL,
            Change.TRANSITION,
        ]
        assert list(order.history[1:]) == seen
        remove()
        remove()
        order.transition(OS.CANCELED)
        assert len(seen) == 4

    def test_failing_listener_does_not_break_state(self, caplog: pytest.LogCaptureFixture) -> None:
        order = make_order()

        def bad(op: Operation[Any], entry: HistoryEntry) -> None:
            raise RuntimeError("boom")

        order.add_listener(bad)
        order.transition(OS.OPEN)
        assert order.state is OS.OPEN
        assert "listener" in caplog.text

    def test_history_is_append_only(self) -> None:
        order = make_order()
        history = order.history
        assert isinstance(history, tuple)
        order.transition(OS.OPEN)
        assert order.history[: len(history)] == history
        assert order.updated_at >= order.created_at

    def test_error_info(self) -> None:
        info = ErrorInfo.from_exception(Rejected("nope"))
        assert info == ErrorInfo("Rejected", "nope")
        assert ErrorInfo.from_dict(info.to_dict()) == info
        assert type(ErrorInfo("InvalidTransition", "x").to_exception()) is ChainopsError
        assert type(ErrorInfo("KeyError", "x").to_exception()) is ChainopsError
        assert ErrorInfo.coerce(None) is None


class TestSerialisation:
    def full_order(self) -> Order:
        order = make_order(
            quote={"min_out": Decimal("0.1"), "block": 5, "x": None}, execution="tx1"
        )
        order.apply(OrderUpdate(state=OS.OPEN, venue_id="77", sequence=3, timestamp=at(5)))
        order.add_fill(make_fill(1))
        order.apply(OrderUpdate(network_fee=Fee(ETH, Decimal("0.001"))))
        order.transition(OS.CANCELED, error=Rejected("x"), reason="user", at=at(9))
        return order

    def test_order_round_trip(self) -> None:
        order = self.full_order()
        data = order.to_dict()
        text = json.dumps(data)
        assert "2000" in text and '"CANCELED"' in text
        again = Order.from_dict(json.loads(text))
        assert again == order
        assert again.to_json() == order.to_json()
        assert again.fills == order.fills
        assert again.quote == order.quote and isinstance(again.quote["min_out"], Decimal)  # type: ignore[index]
        assert operation_from_dict(data) == order

    def test_decimals_are_strings_never_floats(self) -> None:
        def walk(value: object) -> None:
            assert not isinstance(value, float)
            if isinstance(value, dict):
                for v in value.values():
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)

        walk(json.loads(self.full_order().to_json()))

    def test_tx_round_trip(self) -> None:
        tx = make_tx(fee_params=FeeParams(gas_price=5))
        a0, a1 = make_attempt(0), make_attempt(1)
        tx.add_attempt(a0)
        tx.mark_broadcast(0)
        tx.add_attempt(a1)
        tx.attempt_failed(1, ErrorInfo("RpcError", "underpriced"))
        tx.apply(
            TxUpdate(
                state=TS.REVERTED,
                receipt=make_receipt(a0, status=0),
                fee=Fee(ETH, Decimal("0.5")),
                sequence=9,
            )
        )
        text = tx.to_json()
        assert "0x" + a0.raw.hex() in text
        again = Transaction.from_json(text)
        assert again == tx and again.attempts == tx.attempts and again.receipt == tx.receipt
        assert again.sender == tx.sender

    def test_kind_dispatch(self) -> None:
        data = make_tx().to_dict()
        with pytest.raises(ValidationError, match="not a Order"):
            Order.from_dict(data)
        with pytest.raises(ValidationError, match="unknown operation kind"):
            operation_from_dict({"kind": "nope"})
        assert make_tx() != make_order()
        assert make_order() == make_order()
        with pytest.raises(TypeError):
            hash(make_order())


def test_updates_accept_exceptions_and_state_names() -> None:
    tx = make_tx()
    tx.add_attempt(make_attempt(0))
    tx.apply(TxUpdate(state="rejected", error=Rejected("nonce too low")))  # type: ignore[arg-type]
    assert tx.state is TS.REJECTED
    assert tx.error == ErrorInfo("Rejected", "nonce too low")
    update = OrderUpdate(state="open", error=ValueError("x"), fills=[make_fill(1)])  # type: ignore[arg-type]
    assert update.state is OS.OPEN and update.error == ErrorInfo("ValueError", "x")
    assert isinstance(update.fills, tuple)


def test_fee_params_and_receipt_dicts_name_every_field_and_round_trip() -> None:
    # to_dict is spelled out field by field: a field added later must be added there too
    legacy = FeeParams(gas_price=7)
    eip1559 = FeeParams(max_fee_per_gas=9, max_priority_fee_per_gas=2)
    solana = FeeParams(compute_unit_price=5, compute_unit_limit=1_400)
    named = set(legacy.to_dict()) | set(eip1559.to_dict()) | set(solana.to_dict())
    assert named == {f.name for f in dataclasses.fields(FeeParams)}
    assert FeeParams().to_dict() == {}
    for fee in (legacy, eip1559, solana):
        assert FeeParams.from_dict(fee.to_dict()) == fee
    receipt = TxReceipt(
        transaction_hash="0x" + "ab" * 32,
        block_number=12,
        status=0,
        block_hash="0x" + "CD" * 32,
        transaction_index=3,
        gas_used=21_000,
        effective_gas_price=10**9,
        contract_address="0x" + "11" * 20,
        revert_reason="STF",
    )
    data = receipt.to_dict()
    assert set(data) == {f.name for f in dataclasses.fields(TxReceipt)}
    assert all(type(v) in (str, int) for v in data.values())  # plain JSON types
    assert TxReceipt.from_dict(data) == receipt
    assert json.loads(json.dumps(data)) == data


def test_evolve_copies_every_field_and_changes_only_the_two_it_is_given() -> None:
    """A field added to TxAttempt must be added to evolve's copy too: this fails if not."""
    attempt = make_attempt(0)
    error = ErrorInfo("NodeError", "underpriced")
    for copy, broadcast, err in (
        (attempt.evolve(), attempt.broadcast_us, attempt.error),
        (attempt.evolve(broadcast_us=7), 7, attempt.error),
        (attempt.evolve(error=error), attempt.broadcast_us, error),
    ):
        for field in dataclasses.fields(TxAttempt):
            want = {"broadcast_us": broadcast, "error": err}.get(
                field.name, getattr(attempt, field.name)
            )
            assert getattr(copy, field.name) == want, field.name
