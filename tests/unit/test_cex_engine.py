"""The simulator's matching engine: priority, time in force, and conservation of balances."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainops.devnet.exchange.accounts import Account
from chainops.devnet.exchange.engine import Engine
from chainops.devnet.exchange.errors import ApiError
from chainops.devnet.exchange.filters import DEFAULT_SYMBOLS

SPEC = DEFAULT_SYMBOLS[0]


def setup() -> tuple[Engine, Account, Account]:
    engine = Engine(DEFAULT_SYMBOLS)
    a, b = Account("a", "s"), Account("b", "s")
    for acct in (a, b):
        acct.deposit("USDT", Decimal(100_000))
        acct.deposit("ETH", Decimal(100))
    return engine, a, b


def place(
    engine: Engine,
    acct: Account,
    side: str,
    price: str | None,
    qty: str,
    tif: str = "GTC",
    kind: str = "LIMIT",
    cid: str = "c",
) -> object:
    return engine.place(
        acct,
        SPEC,
        side=side,
        type=kind,
        tif=tif,
        price=None if price is None else Decimal(price),
        qty=Decimal(qty),
        client_id=cid,
        now=1,
    )


def test_price_time_priority_and_partial_fill() -> None:
    engine, a, b = setup()
    place(engine, a, "SELL", "2001", "1", cid="late-better")
    place(engine, a, "SELL", "2000", "1", cid="first")
    place(engine, b, "SELL", "2000", "1", cid="second")
    result = place(engine, b, "BUY", "2000", "1.5", tif="IOC", cid="taker")
    makers = [t.maker.client_order_id for t in result.trades]  # type: ignore[attr-defined]
    assert makers == ["first", "second"]
    assert result.order.status == "FILLED" and result.order.executed == Decimal("1.5")  # type: ignore[attr-defined]
    second = engine.by_client[("b", "ETHUSDT", "second")]
    assert second.status == "PARTIALLY_FILLED" and second.remaining == Decimal("0.5")


def test_fok_and_limit_maker() -> None:
    engine, a, b = setup()
    place(engine, a, "SELL", "2000", "1", cid="ask")
    fok = place(engine, b, "BUY", "2000", "2", tif="FOK", cid="fok").order  # type: ignore[attr-defined]
    assert fok.status == "EXPIRED" and fok.executed == 0
    with pytest.raises(ApiError, match="immediately match"):
        place(engine, b, "BUY", "2000", "1", kind="LIMIT_MAKER", cid="lm")
    with pytest.raises(ApiError, match="insufficient"):
        place(engine, b, "BUY", "1000", "1000", cid="big")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.booleans(),
            st.sampled_from(["BUY", "SELL"]),
            st.integers(1990, 2010),
            st.integers(1, 30),
            st.sampled_from(["GTC", "IOC", "FOK", "MARKET"]),
        ),
        max_size=40,
    )
)
def test_assets_are_conserved_and_locks_match_open_orders(
    ops: list[tuple[bool, str, int, int, str]],
) -> None:
    engine, a, b = setup()
    for acct in (a, b):
        acct.commission = Decimal(0)
    for n, (first, side, price, lots, tif) in enumerate(ops):
        acct = a if first else b
        market = tif == "MARKET"
        with contextlib.suppress(ApiError):
            place(
                engine,
                acct,
                side,
                None if market else str(price),
                str(Decimal(lots) / 10),
                tif="GTC" if market else tif,
                kind="MARKET" if market else "LIMIT",
                cid=f"o{n}",
            )
    for asset, total in (("USDT", Decimal(200_000)), ("ETH", Decimal(200))):
        held = sum(acct.balance(asset).free + acct.balance(asset).locked for acct in (a, b))
        assert held == total
    for acct in (a, b):
        open_orders = engine.open_orders(acct, "ETHUSDT")
        quote = sum((o.remaining * o.price for o in open_orders if o.side == "BUY"), Decimal(0))  # type: ignore[operator]
        base = sum((o.remaining for o in open_orders if o.side == "SELL"), Decimal(0))
        assert acct.balance("USDT").locked == quote and acct.balance("ETH").locked == base
        assert acct.balance("USDT").free >= 0 and acct.balance("ETH").free >= 0
    book = engine.books["ETHUSDT"]
    bid, ask = book.best("BUY"), book.best("SELL")
    assert bid is None or ask is None or bid < ask  # never a crossed book
