"""OrderBook: snapshot + diff sequencing, gap detection, queries, against a plain dict model."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainops.operators.exchanges import OrderBook, OrderBookGap

prices = st.integers(1, 60).map(lambda n: f"{Decimal(n) / 4:.2f}")
amounts = st.sampled_from(["0", "0.5", "1", "2.25"])
levels = st.lists(st.tuples(prices, amounts), max_size=6)


@given(st.lists(st.tuples(levels, levels), max_size=30))
def test_diffs_match_a_dict_model(
    diffs: list[tuple[list[tuple[str, str]], list[tuple[str, str]]]],
) -> None:
    book = OrderBook("ETH-USDT")
    book.apply_snapshot(10, [], [])
    model: dict[str, dict[Decimal, Decimal]] = {"b": {}, "a": {}}
    last = 10
    for bids, asks in diffs:
        assert book.apply_diff(last + 1, last + 2, bids, asks)
        last += 2
        for side, rows in (("b", bids), ("a", asks)):
            for p, q in rows:
                if Decimal(q):
                    model[side][Decimal(p)] = Decimal(q)
                else:
                    model[side].pop(Decimal(p), None)
    assert book.bids() == sorted(model["b"].items(), reverse=True)
    assert book.asks() == sorted(model["a"].items())
    assert book.last_update_id == last


def test_sequencing_rules() -> None:
    book = OrderBook("ETH-USDT")
    with pytest.raises(OrderBookGap):
        book.apply_diff(1, 2, [], [])  # no snapshot yet
    book.apply_snapshot(100, [("10", "1")], [("11", "1")])
    assert not book.apply_diff(90, 100, [("10", "5")], [])  # already in the snapshot
    assert book.apply_diff(95, 105, [("10", "2")], [])  # straddles 101
    assert book.apply_diff(106, 106, [], [])
    with pytest.raises(OrderBookGap):
        book.apply_diff(108, 110, [], [])
    assert not book.synced


def test_first_diff_must_straddle() -> None:
    book = OrderBook("ETH-USDT")
    book.apply_snapshot(100, [], [])
    with pytest.raises(OrderBookGap):
        book.apply_diff(102, 103, [], [])


def test_queries() -> None:
    book = OrderBook("ETH-USDT")
    assert book.mid is None and book.best_bid is None
    book.apply_snapshot(1, [("99", "1"), ("98", "2")], [("101", "1"), ("102", "3")])
    assert book.best_bid == (Decimal(99), Decimal(1))
    assert book.best_ask == (Decimal(101), Decimal(1))
    assert book.mid == Decimal(100)
    assert book.vwap("BUY", Decimal(2)) == Decimal("101.5")
    assert book.vwap("SELL", Decimal(3)) == (Decimal(99) + 2 * Decimal(98)) / 3
    assert book.vwap("BUY", Decimal(5)) is None  # deeper than the book
    assert book.bids(1) == [(Decimal(99), Decimal(1))]
