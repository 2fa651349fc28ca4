"""The matching engine: price-time priority, partial fills, GTC/IOC/FOK, LIMIT_MAKER.

Synchronous and exact (Decimal). Each call returns what happened; the server
turns that into replies, depth diffs, trade events and execution reports.
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass, field
from decimal import ROUND_UP, Decimal

from chainops.devnet.exchange import errors
from chainops.devnet.exchange.accounts import Account
from chainops.devnet.exchange.filters import SymbolSpec, fmt

__all__ = ["Book", "Engine", "SimOrder", "Trade"]

_FEE_QUANTUM = Decimal("1e-8")


@dataclass
class SimOrder:
    order_id: int
    client_order_id: str
    account: Account
    spec: SymbolSpec
    side: str
    type: str
    tif: str
    price: Decimal | None
    qty: Decimal
    time: int
    executed: Decimal = Decimal(0)
    cum_quote: Decimal = Decimal(0)
    status: str = "NEW"
    update_time: int = 0
    locked: Decimal = Decimal(0)

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.executed

    @property
    def is_open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")

    def to_json(self) -> dict[str, object]:
        return {
            "symbol": self.spec.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_order_id,
            "price": fmt(self.price or Decimal(0)),
            "origQty": fmt(self.qty),
            "executedQty": fmt(self.executed),
            "cummulativeQuoteQty": fmt(self.cum_quote),
            "status": self.status,
            "timeInForce": self.tif,
            "type": self.type,
            "side": self.side,
            "time": self.time,
            "updateTime": self.update_time,
            "isWorking": self.is_open,
            "workingTime": self.time,
            "origQuoteOrderQty": "0.00000000",
            "selfTradePreventionMode": "NONE",
        }


@dataclass
class Trade:
    trade_id: int
    spec: SymbolSpec
    price: Decimal
    qty: Decimal
    time: int
    maker: SimOrder
    taker: SimOrder
    maker_fee: Decimal
    taker_fee: Decimal
    # (status, executed, cumulative quote) of maker and taker right after this trade
    states: dict[int, tuple[str, Decimal, Decimal]] = field(default_factory=dict)

    @property
    def quote_qty(self) -> Decimal:
        return self.price * self.qty

    def fee_asset(self, order: SimOrder) -> str:
        return order.spec.base if order.side == "BUY" else order.spec.quote

    def for_account(self, order: SimOrder) -> dict[str, object]:
        """The myTrades entry for one side of the trade."""
        is_maker = order is self.maker
        return {
            "symbol": self.spec.symbol,
            "id": self.trade_id,
            "orderId": order.order_id,
            "orderListId": -1,
            "price": fmt(self.price),
            "qty": fmt(self.qty),
            "quoteQty": fmt(self.quote_qty),
            "commission": fmt(self.maker_fee if is_maker else self.taker_fee),
            "commissionAsset": self.fee_asset(order),
            "time": self.time,
            "isBuyer": order.side == "BUY",
            "isMaker": is_maker,
            "isBestMatch": True,
        }


@dataclass
class Result:
    """What one engine call did."""

    order: SimOrder
    trades: list[Trade] = field(default_factory=list)
    touched: list[SimOrder] = field(default_factory=list)  # makers whose state changed


class Book:
    """One symbol's resting orders: FIFO queues per price level."""

    def __init__(self, spec: SymbolSpec) -> None:
        self.spec = spec
        self.levels: dict[str, dict[Decimal, deque[SimOrder]]] = {"BUY": {}, "SELL": {}}
        self.prices: dict[str, list[Decimal]] = {"BUY": [], "SELL": []}  # ascending
        self.update_id = 1
        self.changed: dict[str, set[Decimal]] = {"BUY": set(), "SELL": set()}

    def best(self, side: str) -> Decimal | None:
        prices = self.prices[side]
        if not prices:
            return None
        return prices[-1] if side == "BUY" else prices[0]

    def level_qty(self, side: str, price: Decimal) -> Decimal:
        queue = self.levels[side].get(price)
        return sum((o.remaining for o in queue), Decimal(0)) if queue else Decimal(0)

    def add(self, order: SimOrder) -> None:
        assert order.price is not None
        side = self.levels[order.side]
        queue = side.get(order.price)
        if queue is None:
            queue = side[order.price] = deque()
            bisect.insort(self.prices[order.side], order.price)
        queue.append(order)
        self.changed[order.side].add(order.price)

    def remove(self, order: SimOrder) -> None:
        assert order.price is not None
        queue = self.levels[order.side][order.price]
        queue.remove(order)
        self._drop_if_empty(order.side, order.price)
        self.changed[order.side].add(order.price)

    def _drop_if_empty(self, side: str, price: Decimal) -> None:
        if not self.levels[side][price]:
            del self.levels[side][price]
            prices = self.prices[side]
            del prices[bisect.bisect_left(prices, price)]

    def crossing(self, side: str, limit: Decimal | None) -> list[Decimal]:
        """Opposite levels a taker on ``side`` may trade with, best first."""
        if side == "BUY":
            asks = self.prices["SELL"]
            end = len(asks) if limit is None else bisect.bisect_right(asks, limit)
            return asks[:end]
        bids = self.prices["BUY"]
        start = 0 if limit is None else bisect.bisect_left(bids, limit)
        return bids[start:][::-1]

    def depth(self, limit: int) -> dict[str, list[list[str]]]:
        bids = self.prices["BUY"][::-1][:limit]
        asks = self.prices["SELL"][:limit]
        return {
            "bids": [[fmt(p), fmt(self.level_qty("BUY", p))] for p in bids],
            "asks": [[fmt(p), fmt(self.level_qty("SELL", p))] for p in asks],
        }

    def take_diff(self) -> tuple[int, int, list[list[str]], list[list[str]]] | None:
        """The depth diff since the last call (U, u, bids, asks), or None if nothing moved."""
        n = len(self.changed["BUY"]) + len(self.changed["SELL"])
        if not n:
            return None
        first = self.update_id + 1
        self.update_id += n  # one update id per changed level
        sides = [
            [[fmt(p), fmt(self.level_qty(s, p))] for p in sorted(self.changed[s])]
            for s in ("BUY", "SELL")
        ]
        self.changed = {"BUY": set(), "SELL": set()}
        return first, self.update_id, sides[0], sides[1]


class Engine:
    """Books of every symbol plus every order ever placed."""

    def __init__(self, specs: tuple[SymbolSpec, ...]) -> None:
        self.specs = {s.symbol: s for s in specs}
        self.books = {s.symbol: Book(s) for s in specs}
        self.orders: dict[int, SimOrder] = {}
        self.by_client: dict[tuple[str, str, str], SimOrder] = {}
        self.trades: dict[str, list[Trade]] = {}  # api key -> trades involving it
        self._next_order = 1
        self._next_trade = 1

    def spec(self, symbol: str) -> SymbolSpec:
        try:
            return self.specs[symbol]
        except KeyError:
            raise errors.bad_symbol() from None

    def find(
        self, account: Account, symbol: str, order_id: int | None, client_id: str | None
    ) -> SimOrder:
        """An order of ``account`` by id or client id; -2013 if there is none."""
        order = None
        if order_id is not None:
            order = self.orders.get(order_id)
        elif client_id is not None:
            order = self.by_client.get((account.api_key, symbol, client_id))
        if order is None or order.account is not account or order.spec.symbol != symbol:
            raise errors.no_such_order()
        return order

    def open_orders(self, account: Account, symbol: str | None) -> list[SimOrder]:
        return [
            o
            for o in self.orders.values()
            if o.account is account and o.is_open and (symbol is None or o.spec.symbol == symbol)
        ]

    def place(
        self,
        account: Account,
        spec: SymbolSpec,
        *,
        side: str,
        type: str,
        tif: str,
        price: Decimal | None,
        qty: Decimal,
        client_id: str,
        now: int,
    ) -> Result:
        book = self.books[spec.symbol]
        known = self.by_client.get((account.api_key, spec.symbol, client_id))
        if known is not None and known.is_open:
            raise errors.duplicate_order()
        levels = book.crossing(side, price)
        if type == "LIMIT_MAKER" and levels:
            raise errors.would_take()
        opposite = "SELL" if side == "BUY" else "BUY"
        # walk the book once without changing it: what FOK and market-buy balance checks need
        available, cost = Decimal(0), Decimal(0)
        for level in levels:
            take = min(book.level_qty(opposite, level), qty - available)
            available += take
            cost += take * level
            if available >= qty:
                break
        order = SimOrder(
            order_id=self._next_order,
            client_order_id=client_id,
            account=account,
            spec=spec,
            side=side,
            type=type,
            tif=tif,
            price=price,
            qty=qty,
            time=now,
            update_time=now,
        )
        if tif == "FOK" and available < qty:
            order.status = "EXPIRED"
            self._register(order)
            return Result(order)
        if side == "BUY":
            order.locked = cost if price is None else qty * price
            account.lock(spec.quote, order.locked)
        else:
            order.locked = qty
            account.lock(spec.base, qty)
        self._register(order)
        result = Result(order)
        for level in levels:
            queue = book.levels[opposite][level]
            while queue and order.remaining:
                maker = queue[0]
                self._fill(result, maker, order, level, min(maker.remaining, order.remaining), now)
                if not maker.remaining:
                    queue.popleft()
            book.changed[opposite].add(level)
            book._drop_if_empty(opposite, level)
            if not order.remaining:
                break
        if order.remaining and type != "MARKET" and tif == "GTC":
            if side == "BUY":
                assert price is not None
                keep = order.remaining * price
                account.unlock(spec.quote, order.locked - keep)
                order.locked = keep
            book.add(order)
        else:
            if order.remaining:
                order.status = "EXPIRED"
            account.unlock(spec.quote if side == "BUY" else spec.base, order.locked)
            order.locked = Decimal(0)
        return result

    def cancel(self, order: SimOrder, now: int) -> SimOrder:
        if not order.is_open:
            raise errors.cancel_unknown()
        self.books[order.spec.symbol].remove(order)
        order.account.unlock(
            order.spec.quote if order.side == "BUY" else order.spec.base, order.locked
        )
        order.locked = Decimal(0)
        order.status = "CANCELED"
        order.update_time = now
        return order

    def _register(self, order: SimOrder) -> None:
        self._next_order += 1
        self.orders[order.order_id] = order
        self.by_client[(order.account.api_key, order.spec.symbol, order.client_order_id)] = order

    def _fill(
        self,
        result: Result,
        maker: SimOrder,
        taker: SimOrder,
        price: Decimal,
        qty: Decimal,
        now: int,
    ) -> None:
        quote = price * qty
        fees = []
        for order in (maker, taker):
            account, spec = order.account, order.spec
            if order.side == "BUY":
                order.locked -= quote
                account.spend_locked(spec.quote, quote)
                fee = (qty * account.commission).quantize(_FEE_QUANTUM, ROUND_UP)
                account.deposit(spec.base, qty - fee)
            else:
                order.locked -= qty
                account.spend_locked(spec.base, qty)
                fee = (quote * account.commission).quantize(_FEE_QUANTUM, ROUND_UP)
                account.deposit(spec.quote, quote - fee)
            fees.append(fee)
            order.executed += qty
            order.cum_quote += quote
            order.status = "FILLED" if not order.remaining else "PARTIALLY_FILLED"
            order.update_time = now
        trade = Trade(self._next_trade, maker.spec, price, qty, now, maker, taker, fees[0], fees[1])
        trade.states = {o.order_id: (o.status, o.executed, o.cum_quote) for o in (maker, taker)}
        self._next_trade += 1
        result.trades.append(trade)
        result.touched.append(maker)
        for order in (maker, taker):
            self.trades.setdefault(order.account.api_key, []).append(trade)
