"""Property tests: random update sequences never break the operation invariants."""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any

from core_factories import ETH, at, make_attempt, make_order, make_receipt, make_tx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from chainops.core.assets import Fee, exact_sum
from chainops.core.errors import InvalidTransition, ValidationError
from chainops.core.history import Change
from chainops.core.operation import Operation, operation_from_json
from chainops.core.order import ORDER_STATES, Fill, Order, OrderState, OrderUpdate
from chainops.core.transaction import (
    MINED_STATES,
    SUCCESS_STATES,
    TX_STATES,
    Transaction,
    TxState,
    TxUpdate,
)

FILL_POOL = [
    Fill(
        fill_id=f"t{i}",
        price=Decimal("2000"),
        base_amount=Decimal("0.2"),
        quote_amount=Decimal("400"),
        timestamp=at(i),
    )
    for i in range(8)
]
# same id as t0 with other numbers: a venue bug that must be refused
FILL_POOL.append(
    Fill(
        fill_id="t0", price=Decimal("2000"), base_amount=Decimal("0.3"), quote_amount=Decimal("600")
    )
)

states_or_none = st.none() | st.sampled_from(list(OrderState))
sequences = st.none() | st.integers(min_value=0, max_value=30)


def check_history(op: Operation[Any], previous: tuple[Any, ...]) -> None:
    history = op.history
    assert history[: len(previous)] == previous, "history must be append-only"
    assert history[0].change is Change.CREATED
    for entry in history:
        if entry.change is Change.TRANSITION:
            source = type(op.state)[entry.previous]
            target = type(op.state)[entry.state]
            assert op.machine.can(source, target), (source, target)


class OrderMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.order = make_order(amount=Decimal("1"))
        self.accepted: dict[str, Fill] = {}
        self.final: OrderState | None = None
        self.history: tuple[Any, ...] = self.order.history

    @rule(state=states_or_none, picks=st.lists(st.integers(0, 8), max_size=3), seq=sequences)
    def apply(self, state: OrderState | None, picks: list[int], seq: int | None) -> None:
        fills = tuple(FILL_POOL[i] for i in picks)
        before = self.order.to_dict()
        try:
            self.order.apply(OrderUpdate(state=state, fills=fills, sequence=seq))
        except (InvalidTransition, ValidationError):
            assert self.order.to_dict() == before, "a refused update must change nothing"
        else:
            for fill in fills:
                self.accepted.setdefault(fill.fill_id, fill)

    @rule(goal=st.sampled_from(list(OrderState)))
    def transition(self, goal: OrderState) -> None:
        source = self.order.state
        try:
            changed = self.order.transition(goal)
        except InvalidTransition:
            assert not ORDER_STATES.can(source, goal)
            assert self.order.state is source
        else:
            assert changed == (source is not goal)
            assert source is goal or ORDER_STATES.can(source, goal)

    @rule(pick=st.integers(0, 8))
    def duplicate_fill(self, pick: int) -> None:
        fill = FILL_POOL[pick]
        if fill.fill_id in self.accepted and self.accepted[fill.fill_id] == fill:
            filled = self.order.filled_base
            assert self.order.add_fill(fill) is False
            assert self.order.filled_base == filled

    @invariant()
    def filled_is_sum_of_unique_fills(self) -> None:
        assert self.order.filled_base == exact_sum(f.base_amount for f in self.accepted.values())
        assert set(self.order.fills) == set(self.accepted)

    @invariant()
    def open_orders_are_not_overfilled(self) -> None:
        if not self.order.is_terminal:
            assert self.order.filled_base < self.order.amount

    @invariant()
    def terminal_is_final(self) -> None:
        if self.final is not None:
            assert self.order.state is self.final
        elif self.order.is_terminal:
            self.final = self.order.state

    @invariant()
    def failed_orders_never_trade(self) -> None:
        if self.order.state is OrderState.FAILED:
            assert not any(
                e.change is Change.FILL for e in self.order.history if e.state == "FAILED"
            )

    @invariant()
    def history_and_round_trip(self) -> None:
        check_history(self.order, self.history)
        self.history = self.order.history
        assert operation_from_json(self.order.to_json()) == self.order


class TxMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self) -> None:
        self.tx = make_tx()
        self.final: TxState | None = None
        self.history: tuple[Any, ...] = self.tx.history

    @rule()
    def add_attempt(self) -> None:
        index = len(self.tx.attempts)
        if index >= 4:
            return
        state = self.tx.state
        try:
            self.tx.add_attempt(make_attempt(index))
        except InvalidTransition:
            assert state not in {TxState.CREATED, TxState.SIGNED, TxState.BROADCAST}
        else:
            assert len(self.tx.attempts) == index + 1

    @rule(index=st.integers(0, 3))
    def mark_broadcast(self, index: int) -> None:
        if index >= len(self.tx.attempts):
            return
        try:
            self.tx.mark_broadcast(index)
        except InvalidTransition:
            assert self.tx.is_terminal
        else:
            assert self.tx.attempts[index].broadcast

    @rule(
        state=st.none() | st.sampled_from(list(TxState)),
        receipt_for=st.none() | st.integers(0, 4),
        status=st.sampled_from([0, 1]),
        seq=sequences,
        confirmations=st.none() | st.integers(0, 10),
        fee=st.booleans(),
    )
    def apply(
        self,
        state: TxState | None,
        receipt_for: int | None,
        status: int,
        seq: int | None,
        confirmations: int | None,
        fee: bool,
    ) -> None:
        receipt = None
        if receipt_for is not None:
            attempt = (
                self.tx.attempts[receipt_for]
                if receipt_for < len(self.tx.attempts)
                else make_attempt(receipt_for, seed=100 + receipt_for)
            )
            receipt = make_receipt(attempt, block=seq or 1, status=status)
        update = TxUpdate(
            state=state,
            receipt=receipt,
            sequence=seq,
            confirmations=confirmations,
            fee=Fee(ETH, Decimal("0.01")) if fee else None,
        )
        before = self.tx.to_dict()
        try:
            self.tx.apply(update)
        except (InvalidTransition, ValidationError):
            assert self.tx.to_dict() == before, "a refused update must change nothing"

    @rule(index=st.integers(0, 3), status=st.sampled_from([0, 1]), seq=sequences, data=st.data())
    def mine(self, index: int, status: int, seq: int | None, data: st.DataObject) -> None:
        """A well-formed receipt for one of our attempts: reaches the deep states often."""
        if index >= len(self.tx.attempts):
            return
        choices = (
            [TxState.INCLUDED, TxState.REVERTED]
            if status == 0
            else [TxState.INCLUDED, TxState.CONFIRMED, TxState.FINALIZED]
        )
        state = data.draw(st.sampled_from(choices))
        receipt = make_receipt(self.tx.attempts[index], block=seq or 1, status=status)
        before = self.tx.to_dict()
        try:
            self.tx.apply(TxUpdate(state=state, receipt=receipt, sequence=seq))
        except (InvalidTransition, ValidationError):
            assert self.tx.to_dict() == before

    @rule(goal=st.sampled_from(list(TxState)))
    def transition(self, goal: TxState) -> None:
        source = self.tx.state
        try:
            self.tx.transition(goal)
        except InvalidTransition:
            assert not TX_STATES.can(source, goal)
            assert self.tx.state is source
        except ValidationError:
            assert self.tx.state is source

    @invariant()
    def receipts_agree_with_state(self) -> None:
        tx = self.tx
        assert (tx.receipt is not None) == (tx.state in MINED_STATES)
        if tx.receipt is not None:
            assert tx.winner is not None and tx.winner.hash == tx.receipt.transaction_hash
            if tx.state in SUCCESS_STATES:
                assert tx.receipt.succeeded
            if tx.state is TxState.REVERTED:
                assert not tx.receipt.succeeded
        else:
            assert tx.winning_attempt is None

    @invariant()
    def attempts_are_consistent(self) -> None:
        tx = self.tx
        if tx.attempts:
            assert tx.venue_id == tx.attempts[0].hash
            assert tx.state is not TxState.CREATED
            assert all(a.nonce == tx.nonce for a in tx.attempts)
            assert [a.index for a in tx.attempts] == list(range(len(tx.attempts)))
        else:
            assert tx.state in {TxState.CREATED, TxState.REJECTED, TxState.EXPIRED}

    @invariant()
    def terminal_is_final(self) -> None:
        if self.final is not None:
            assert self.tx.state is self.final
        elif self.tx.is_terminal:
            self.final = self.tx.state

    @invariant()
    def history_and_round_trip(self) -> None:
        check_history(self.tx, self.history)
        self.history = self.tx.history
        assert operation_from_json(self.tx.to_json()) == self.tx


_settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestOrderMachine = OrderMachine.TestCase
TestOrderMachine.settings = _settings
TestTxMachine = TxMachine.TestCase
TestTxMachine.settings = _settings


# ---------------------------------------------------------------- round trips

decimals = st.decimals(
    min_value=Decimal("0.00000001"),
    max_value=Decimal(10) ** 12,
    allow_nan=False,
    allow_infinity=False,
    places=8,
)


@st.composite
def orders(draw: st.DrawFn) -> Order:
    market = draw(st.booleans())
    order = make_order(
        client_id=draw(st.from_regex(r"[A-Za-z0-9_-]{1,36}", fullmatch=True)),
        platform=draw(st.sampled_from(["binance", "base", "anvil"])),
        side=draw(st.sampled_from(["BUY", "SELL"])),
        order_type="MARKET" if market else draw(st.sampled_from(["LIMIT", "LIMIT_MAKER"])),
        amount=draw(decimals),
        price=None if market else draw(decimals),
        quote=draw(
            st.none()
            | st.dictionaries(
                st.text(min_size=1, max_size=8),
                st.none() | st.booleans() | st.integers() | st.text(max_size=10) | decimals,
                max_size=4,
            )
        ),
    )
    for n in range(draw(st.integers(0, 4))):
        base = draw(decimals)
        update = OrderUpdate(
            state=draw(states_or_none),
            fills=(Fill(fill_id=f"f{n}", price=Decimal(1), base_amount=base, quote_amount=base),),
            sequence=draw(sequences),
            venue_id=draw(st.none() | st.just("venue-1")),
            timestamp=at(n),
        )
        with contextlib.suppress(InvalidTransition):  # e.g. CANCELED after FILLED
            order.apply(update)
    return order


@settings(max_examples=80, deadline=None)
@given(orders())
def test_order_json_round_trip(order: Order) -> None:
    again = Order.from_json(order.to_json())
    assert again == order
    assert again.to_dict() == order.to_dict()
    assert again.filled_base == order.filled_base and again.state is order.state


@st.composite
def transactions(draw: st.DrawFn) -> Transaction:
    tx = make_tx(
        value=draw(st.integers(0, 2**256 - 1)),
        data=draw(st.binary(max_size=64)),
        gas_limit=draw(st.none() | st.integers(21_000, 30_000_000)),
    )
    for i in range(draw(st.integers(0, 3))):
        tx.add_attempt(make_attempt(i))
        if draw(st.booleans()):
            tx.mark_broadcast(i, at=at(10 + i))
    if tx.attempts and draw(st.booleans()):
        winner = tx.attempts[draw(st.integers(0, len(tx.attempts) - 1))]
        status = draw(st.sampled_from([0, 1]))
        state = draw(
            st.sampled_from(
                [TxState.INCLUDED, TxState.REVERTED]
                if status == 0
                else [TxState.INCLUDED, TxState.CONFIRMED, TxState.FINALIZED]
            )
        )
        tx.apply(
            TxUpdate(
                state=state,
                receipt=make_receipt(winner, status=status),
                confirmations=draw(st.integers(0, 64)),
                sequence=draw(sequences),
                fee=Fee(ETH, Decimal("0.000021")),
            )
        )
    return tx


@settings(max_examples=80, deadline=None)
@given(transactions())
def test_tx_json_round_trip(tx: Transaction) -> None:
    again = Transaction.from_json(tx.to_json())
    assert again == tx
    assert again.attempts == tx.attempts
    assert again.receipt == tx.receipt and again.winning_attempt == tx.winning_attempt
    assert again.value == tx.value and again.data == tx.data
