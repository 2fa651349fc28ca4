"""Stream payloads: user-data events and market-stream events, in Binance's field names."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chainops.devnet.exchange.accounts import Account
from chainops.devnet.exchange.book import Book
from chainops.devnet.exchange.filters import fmt
from chainops.devnet.exchange.orders import OrderList, SimOrder, Trade
from chainops.devnet.exchange.tape import AggTrade, Tape

__all__ = [
    "account_position",
    "agg_trade",
    "balance_update",
    "book_ticker",
    "depth_partial",
    "execution_report",
    "kline",
    "list_status",
    "mini_ticker",
    "ticker",
    "trade",
]

_ZERO = Decimal(0)


def execution_report(
    order: SimOrder, exec_type: str, now: int, trade: Trade | None = None
) -> dict[str, Any]:
    """A user-data ``executionReport`` event."""
    fee, fee_asset, last_qty, last_price = "0", None, "0.00000000", "0.00000000"
    status, executed, cum_quote = order.status, order.executed, order.cum_quote
    if exec_type == "NEW":
        status, executed, cum_quote = "NEW", _ZERO, _ZERO
    if trade is not None:
        status, executed, cum_quote = trade.states[order.order_id]
        fee = fmt(trade.maker_fee if order is trade.maker else trade.taker_fee)
        fee_asset = trade.fee_asset(order)
        last_qty, last_price = fmt(trade.qty), fmt(trade.price)
    return {
        "e": "executionReport",
        "E": now,
        "s": order.spec.symbol,
        "c": order.client_order_id,
        "S": order.side,
        "o": order.type,
        "f": order.tif,
        "q": fmt(order.qty),
        "p": fmt(order.price or _ZERO),
        "P": fmt(order.stop_price or _ZERO),
        "g": order.list_id,
        "x": exec_type,
        "X": status,
        "r": "NONE",
        "i": order.order_id,
        "l": last_qty,
        "z": fmt(executed),
        "L": last_price,
        "n": fee,
        "N": fee_asset,
        "T": trade.time if trade else order.update_time,
        "t": trade.trade_id if trade else -1,
        "w": status in ("NEW", "PARTIALLY_FILLED") and (not order.is_stop or order.triggered),
        "m": trade is not None and order is trade.maker,
        "O": order.time,
        "Z": fmt(cum_quote),
        "Y": fmt(trade.quote_qty) if trade else "0.00000000",
        "Q": fmt(order.quote_qty),
    }


def list_status(order_list: OrderList, now: int) -> dict[str, Any]:
    """A user-data ``listStatus`` event."""
    return {
        "e": "listStatus",
        "E": now,
        "s": order_list.symbol,
        "g": order_list.list_id,
        "c": "OCO",
        "l": order_list.status,
        "L": order_list.order_status,
        "r": "NONE",
        "C": order_list.client_id,
        "T": now,
        "O": [
            {"s": order_list.symbol, "i": o.order_id, "c": o.client_order_id}
            for o in order_list.orders
        ],
    }


def account_position(account: Account, assets: set[str], now: int) -> dict[str, Any]:
    """``outboundAccountPosition``: the balances of the assets that changed."""
    return {
        "e": "outboundAccountPosition",
        "E": now,
        "u": now,
        "B": [
            {"a": a, "f": fmt(account.balance(a).free), "l": fmt(account.balance(a).locked)}
            for a in sorted(assets)
        ],
    }


def balance_update(asset: str, delta: Decimal, now: int) -> dict[str, Any]:
    """``balanceUpdate``: a deposit or withdrawal."""
    return {"e": "balanceUpdate", "E": now, "a": asset, "d": fmt(delta), "T": now}


def trade(symbol: str, t: Trade, now: int) -> dict[str, Any]:
    return {
        "e": "trade",
        "E": now,
        "s": symbol,
        "t": t.trade_id,
        "p": fmt(t.price),
        "q": fmt(t.qty),
        "T": t.time,
        "m": t.buyer_is_maker,
        "M": True,
    }


def agg_trade(symbol: str, agg: AggTrade, now: int) -> dict[str, Any]:
    return {"e": "aggTrade", "E": now, "s": symbol} | agg.to_json()


def ticker(symbol: str, tape: Tape, book: Book, now: int) -> dict[str, Any]:
    """``<symbol>@ticker``: the rolling 24-hour window."""
    w = tape.window(now)
    bid, ask = book.top("BUY"), book.top("SELL")
    return {
        "e": "24hrTicker",
        "E": now,
        "s": symbol,
        "p": w["priceChange"],
        "P": w["priceChangePercent"],
        "w": w["weightedAvgPrice"],
        "x": w["prevClosePrice"],
        "c": w["lastPrice"],
        "Q": w["lastQty"],
        "b": fmt(bid[0]) if bid else "0.00000000",
        "B": fmt(bid[1]) if bid else "0.00000000",
        "a": fmt(ask[0]) if ask else "0.00000000",
        "A": fmt(ask[1]) if ask else "0.00000000",
        "o": w["openPrice"],
        "h": w["highPrice"],
        "l": w["lowPrice"],
        "v": w["volume"],
        "q": w["quoteVolume"],
        "O": w["openTime"],
        "C": w["closeTime"],
        "F": w["firstId"],
        "L": w["lastId"],
        "n": w["count"],
    }


def mini_ticker(symbol: str, tape: Tape, now: int) -> dict[str, Any]:
    """``<symbol>@miniTicker``: the 24-hour window without the book."""
    w = tape.window(now)
    return {
        "e": "24hrMiniTicker",
        "E": now,
        "s": symbol,
        "c": w["lastPrice"],
        "o": w["openPrice"],
        "h": w["highPrice"],
        "l": w["lowPrice"],
        "v": w["volume"],
        "q": w["quoteVolume"],
    }


def book_ticker(symbol: str, book: Book) -> dict[str, Any]:
    """``<symbol>@bookTicker`` (also the REST ``ticker/bookTicker`` entry, minus ``u``)."""
    bid, ask = book.top("BUY"), book.top("SELL")
    return {
        "u": book.update_id,
        "s": symbol,
        "b": fmt(bid[0]) if bid else "0.00000000",
        "B": fmt(bid[1]) if bid else "0.00000000",
        "a": fmt(ask[0]) if ask else "0.00000000",
        "A": fmt(ask[1]) if ask else "0.00000000",
    }


def depth_partial(book: Book, levels: int) -> dict[str, Any]:
    """``<symbol>@depth<N>``: the top N levels."""
    return {"lastUpdateId": book.update_id, **book.depth(levels)}


def kline(symbol: str, interval: str, row: list[Any], now: int) -> dict[str, Any]:
    """``<symbol>@kline_<interval>`` from a REST kline row."""
    return {
        "e": "kline",
        "E": now,
        "s": symbol,
        "k": {
            "t": row[0],
            "T": row[6],
            "s": symbol,
            "i": interval,
            "f": -1,
            "L": -1,
            "o": row[1],
            "c": row[4],
            "h": row[2],
            "l": row[3],
            "v": row[5],
            "n": row[8],
            "x": now >= row[6],
            "q": row[7],
            "V": row[9],
            "Q": row[10],
            "B": "0",
        },
    }
