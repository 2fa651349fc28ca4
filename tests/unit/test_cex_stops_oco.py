"""Stop orders, OCO lists and the public tape of the simulator's engine."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chainops.devnet.exchange.accounts import Account
from chainops.devnet.exchange.engine import Engine, Result
from chainops.devnet.exchange.errors import ApiError
from chainops.devnet.exchange.filters import DEFAULT_SYMBOLS
from chainops.devnet.exchange.tape import interval_ms

SPEC = DEFAULT_SYMBOLS[0]
D = Decimal


def setup() -> tuple[Engine, Account, Account]:
    engine = Engine(DEFAULT_SYMBOLS)
    a, b = Account("a", "s"), Account("b", "s")
    for acct in (a, b):
        acct.deposit("USDT", D(100_000))
        acct.deposit("ETH", D(100))
    return engine, a, b


def order(engine: Engine, acct: Account, side: str, kind: str, qty: str, **extra: object) -> Result:
    args: dict[str, object] = {"tif": "GTC", "price": None, "client_id": f"c{len(engine.orders)}"}
    args |= extra
    return engine.place(acct, SPEC, side=side, type=kind, qty=D(qty), now=1, **args)  # type: ignore[arg-type]


def print_at(engine: Engine, a: Account, b: Account, price: str) -> None:
    """A trade at ``price`` between a and b (b takes)."""
    order(engine, a, "SELL", "LIMIT", "0.01", price=D(price))
    order(engine, b, "BUY", "LIMIT", "0.01", price=D(price), tif="IOC")


def oco(
    engine: Engine, acct: Account, side: str, legs: list[dict[str, object]]
) -> tuple[object, Result]:
    full = [{"side": side, "tif": "GTC", "qty": D("1"), "client_id": f"leg{i}", "price": None} | leg
            for i, leg in enumerate(legs)]  # fmt: skip
    return engine.place_oco(acct, SPEC, full, "list", now=1)


def test_stop_loss_waits_then_sells_at_market_when_a_trade_prints_at_its_price() -> None:
    engine, a, b = setup()
    print_at(engine, a, b, "2000")
    stop = order(engine, a, "SELL", "STOP_LOSS", "0.5", stop_price=D("1990")).order
    assert stop.status == "NEW" and not stop.working and a.balance("ETH").locked == D("0.5")
    order(engine, b, "BUY", "LIMIT", "1", price=D("1985"))  # the bid the stop will hit
    result_above = order(engine, b, "SELL", "LIMIT", "0.01", price=D("1995"))
    assert not result_above.triggered
    order(engine, b, "BUY", "LIMIT", "0.01", price=D("1995"), tif="IOC")  # prints 1995
    assert stop.status == "NEW"
    order(engine, a, "SELL", "LIMIT", "0.01", price=D("1985"))  # prints 1985 against b's bid
    assert stop.status == "FILLED" and stop.triggered and stop.cum_quote == D("0.5") * 1985
    assert a.balance("ETH").locked == 0


def test_stop_that_would_trigger_at_once_is_refused() -> None:
    engine, a, b = setup()
    print_at(engine, a, b, "2000")
    with pytest.raises(ApiError, match="Stop price would trigger immediately"):
        order(engine, a, "SELL", "STOP_LOSS_LIMIT", "1", price=D("2001"), stop_price=D("2001"))
    with pytest.raises(ApiError, match="Stop price would trigger immediately"):
        order(engine, a, "BUY", "TAKE_PROFIT", "1", stop_price=D("2001"))


def test_take_profit_limit_rests_after_triggering() -> None:
    engine, a, b = setup()
    print_at(engine, a, b, "2000")
    tp = order(engine, a, "SELL", "TAKE_PROFIT_LIMIT", "1", price=D("2100"), stop_price=D("2050"))
    print_at(engine, a, b, "2050")
    assert tp.order.triggered and tp.order.status == "NEW" and tp.order.working
    assert engine.books[SPEC.symbol].best("SELL") == D("2100")


def test_oco_limit_leg_fill_cancels_the_stop_leg_and_locks_once() -> None:
    engine, a, b = setup()
    print_at(engine, a, b, "2000")
    eth_before = a.balance("ETH").free
    order_list, _ = oco(engine, a, "SELL", [
        {"type": "LIMIT_MAKER", "price": D("2010")},
        {"type": "STOP_LOSS_LIMIT", "price": D("1989"), "stop_price": D("1990")},
    ])  # fmt: skip
    assert a.balance("ETH").locked == 1 and a.balance("ETH").free == eth_before - 1
    taker = order(engine, b, "BUY", "LIMIT", "0.4", price=D("2010"), tif="IOC")
    limit_leg, stop_leg = order_list.orders  # type: ignore[attr-defined]
    assert limit_leg.status == "PARTIALLY_FILLED" and stop_leg.status == "CANCELED"
    assert taker.canceled == [stop_leg] and order_list.status == "ALL_DONE"  # type: ignore[attr-defined]
    assert a.balance("ETH").locked == D("0.6")  # the rest of the limit leg still rests


def test_oco_stop_trigger_cancels_the_limit_leg() -> None:
    engine, a, b = setup()
    print_at(engine, a, b, "2000")
    order_list, _ = oco(engine, a, "SELL", [
        {"type": "LIMIT_MAKER", "price": D("2010")},
        {"type": "STOP_LOSS", "stop_price": D("1990")},
    ])  # fmt: skip
    order(engine, b, "BUY", "LIMIT", "5", price=D("1980"))
    result = order(engine, b, "SELL", "LIMIT", "0.01", price=D("1980"))  # prints 1980
    limit_leg, stop_leg = order_list.orders  # type: ignore[attr-defined]
    assert stop_leg.status == "FILLED" and limit_leg.status == "CANCELED"
    assert result.triggered[0].canceled == [limit_leg]
    assert a.balance("ETH").locked == 0 and engine.books[SPEC.symbol].best("SELL") is None


def test_canceling_one_leg_cancels_the_list_and_unlocks() -> None:
    engine, a, _ = setup()
    order_list, _ = oco(engine, a, "BUY", [
        {"type": "STOP_LOSS_LIMIT", "price": D("2101"), "stop_price": D("2100")},
        {"type": "LIMIT_MAKER", "price": D("1900")},
    ])  # fmt: skip
    assert a.balance("USDT").locked == D("2101")  # the larger leg's need, once
    canceled = engine.cancel(order_list.orders[1], now=2)  # type: ignore[attr-defined]
    assert len(canceled) == 2 and a.balance("USDT").locked == 0
    with pytest.raises(ApiError):
        engine.cancel_list(order_list, now=3)  # type: ignore[arg-type]


def test_market_order_sized_in_quote() -> None:
    engine, a, _b = setup()
    order(engine, a, "SELL", "LIMIT", "0.01", price=D("2000"))
    order(engine, a, "SELL", "LIMIT", "1", price=D("2010"))
    qty = engine.quote_to_qty(SPEC, "BUY", D("100"))
    assert qty == D("0.01") + D("0.0398")  # 20 USDT at 2000, then whole steps of 80 at 2010
    assert D("0.01") * 2000 + D("0.0398") * 2010 <= 100 < D("0.01") * 2000 + D("0.0399") * 2010


def test_tape_aggregates_klines_and_tickers() -> None:
    engine, a, b = setup()
    for price in ("2000", "2000"):
        order(engine, a, "SELL", "LIMIT", "0.01", price=D(price))
    order(engine, b, "BUY", "LIMIT", "0.02", price=D("2000"), tif="IOC")  # one taker, two trades
    tape = engine.tapes[SPEC.symbol]
    assert len(tape.trades) == 2 and len(tape.aggs) == 1 and tape.aggs[0].qty == D("0.02")
    candles = tape.klines("1m", None, None, 10, now=120_000)
    assert [c[0] for c in candles] == [0, 60_000, 120_000]  # quiet minutes repeat the close
    assert candles[0][5] == "0.02000000" and candles[1][5] == "0.00000000"
    assert candles[1][4] == "2000.00000000" and candles[0][8] == 2
    window = tape.window(now=1000)
    assert window["count"] == 2 and window["volume"] == "0.02000000"
    assert tape.avg_price(now=1000)["price"] == "2000.00000000"
    with pytest.raises(ApiError, match="Invalid interval"):
        interval_ms("7m")
