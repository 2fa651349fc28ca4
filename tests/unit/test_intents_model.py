"""Intents as data: the journal round trip, the index per account, terminal states."""

from __future__ import annotations

from decimal import Decimal

from chainops.core.errors import ValidationError
from chainops.core.ids import TradingPair
from chainops.core.journal import SqliteJournal
from chainops.core.order import OrderSide, OrderType, TimeInForce
from chainops.operators.exchanges.intents import (
    InconsistentGroup,
    IntentFinished,
    IntentState,
    OrderIntent,
    UnknownIntent,
)
from chainops.operators.exchanges.intents.records import IntentRecords


def intent(intent_id: str = "i1", price: str | None = "2000.20") -> OrderIntent:
    return OrderIntent(
        intent_id=intent_id,
        trading_pair=TradingPair("ETH-USDT"),
        side=OrderSide.SELL,
        order_type=OrderType.LIMIT if price else OrderType.MARKET,
        amount=Decimal("0.03"),
        price=None if price is None else Decimal(price),
        time_in_force=TimeInForce.GTC if price else None,
        group_id="g-i1",
    )


def test_an_intent_round_trips_through_its_dict_form() -> None:
    original = intent()
    original.orders.append("co1")
    original.note("created")
    original.state, original.wanted = IntentState.WORKING, False
    assert OrderIntent.from_dict(original.to_dict()) == original
    market = intent("i2", price=None)
    assert OrderIntent.from_dict(market.to_dict()) == market


def test_records_keep_every_intent_of_one_account_in_order() -> None:
    journal = SqliteJournal(":memory:")
    mine, theirs = IntentRecords(journal, "apikey:a"), IntentRecords(journal, "apikey:b")
    first, second = intent("i1"), intent("i2")
    mine.save(first)
    mine.save(second)
    second.state = IntentState.CANCELED
    mine.save(second)  # an update does not add a second index entry
    theirs.save(intent("i9"))
    loaded = mine.load_all()
    assert [i.intent_id for i in loaded] == ["i1", "i2"]
    assert loaded[1].state is IntentState.CANCELED
    assert [i.intent_id for i in theirs.load_all()] == ["i9"]


def test_terminal_states_and_error_kinds() -> None:
    terminal = {s for s in IntentState if s.is_terminal}
    assert terminal == {IntentState.FILLED, IntentState.CANCELED, IntentState.FAILED}
    for kind in (InconsistentGroup, IntentFinished, UnknownIntent):
        assert issubclass(kind, ValidationError)  # raised before anything is sent
