"""The matching engine: price-time priority, partial fills, GTC/IOC/FOK, LIMIT_MAKER, stops, OCO.

Synchronous and exact (Decimal). Each call returns what happened; the server
turns that into replies, depth diffs, trade events and execution reports.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_UP, Decimal

from chainops.devnet.exchange import errors
from chainops.devnet.exchange.accounts import Account
from chainops.devnet.exchange.book import Book
from chainops.devnet.exchange.filters import SymbolSpec
from chainops.devnet.exchange.orders import OrderList, Result, SimOrder, Trade
from chainops.devnet.exchange.tape import Tape

__all__ = ["Book", "Engine", "OrderList", "Result", "SimOrder", "Trade"]

_FEE_QUANTUM = Decimal("1e-8")
_ZERO = Decimal(0)


def triggers(order: SimOrder, last: Decimal) -> bool:
    """Whether a trade at ``last`` sets off the stop order."""
    assert order.stop_price is not None
    rising = (order.type.startswith("STOP")) == (order.side == "BUY")
    return last >= order.stop_price if rising else last <= order.stop_price


class Engine:
    """Books of every symbol plus every order ever placed."""

    def __init__(self, specs: tuple[SymbolSpec, ...]) -> None:
        self.specs = {s.symbol: s for s in specs}
        self.books = {s.symbol: Book(s) for s in specs}
        self.tapes = {s.symbol: Tape(s.symbol) for s in specs}
        self.orders: dict[int, SimOrder] = {}
        self.by_client: dict[tuple[str, str, str], SimOrder] = {}
        self.trades: dict[str, list[Trade]] = {}  # api key -> trades involving it
        self.stops: dict[str, list[SimOrder]] = {s.symbol: [] for s in specs}
        self.lists: dict[int, OrderList] = {}
        self.lists_by_client: dict[tuple[str, str], OrderList] = {}
        self.list_owner: dict[int, Account] = {}
        self._next_order = 1
        self._next_trade = 1
        self._next_list = 1

    def spec(self, symbol: str) -> SymbolSpec:
        try:
            return self.specs[symbol]
        except KeyError:
            raise errors.bad_symbol() from None

    def find(
        self, account: Account, symbol: str, order_id: int | None, client_id: str | None
    ) -> SimOrder:
        """An order of ``account`` by id or client id; -2013 if there is none.

        Given both, the order found by id must also carry that client id.
        """
        order = None
        if order_id is not None:
            order = self.orders.get(order_id)
            if order is not None and client_id not in (None, order.client_order_id):
                order = None
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

    def account_orders(self, account: Account, symbol: str) -> list[SimOrder]:
        return [o for o in self.orders.values() if o.account is account and o.spec.symbol == symbol]

    # -- sizing ------------------------------------------------------------

    def quote_to_qty(self, spec: SymbolSpec, side: str, quote: Decimal) -> Decimal:
        """Base quantity a MARKET order sized in quote takes from the book (whole steps)."""
        book = self.books[spec.symbol]
        opposite = "SELL" if side == "BUY" else "BUY"
        qty, left = _ZERO, quote
        for level in book.crossing(side, None):
            lots = (left / level / spec.step_size).to_integral_value(ROUND_DOWN)
            take = min(book.level_qty(opposite, level), lots * spec.step_size)
            qty += take
            left -= take * level
            if take < book.level_qty(opposite, level):
                break
        return qty

    # -- placing -----------------------------------------------------------

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
        stop_price: Decimal | None = None,
        quote_qty: Decimal = _ZERO,
    ) -> Result:
        """Place one order (locks, matches, rests or waits for its stop price)."""
        order = self._new(account, spec, side, type, tif, price, qty, client_id, now, stop_price)
        order.quote_qty = quote_qty
        self._check_placeable(order)
        result = Result(order)
        if order.is_stop:
            self._lock(order)
            self._register(order)
            self.stops[spec.symbol].append(order)
            return result
        self._execute(order, result, now)
        self._after(result, now)
        return result

    def place_oco(
        self,
        account: Account,
        spec: SymbolSpec,
        legs: list[dict[str, object]],
        list_client_id: str,
        now: int,
    ) -> tuple[OrderList, Result]:
        """Place two legs as one OCO list; the list locks once (for the larger leg)."""
        if (account.api_key, list_client_id) in self.lists_by_client:
            raise errors.duplicate_order()
        orders = [self._new(account, spec, now=now, **leg) for leg in legs]  # type: ignore[arg-type]
        for order in orders:
            self._check_placeable(order)
        # the leg that can fill first (the resting one) holds the list's lock
        holder = next((o for o in orders if not o.is_stop), orders[0])
        need = max(self._need(o) for o in orders)
        account.lock(spec.quote if holder.side == "BUY" else spec.base, need)
        holder.locked = need
        order_list = OrderList(self._next_list, list_client_id, spec.symbol, orders, now)
        self._next_list += 1
        self.lists[order_list.list_id] = order_list
        self.lists_by_client[(account.api_key, list_client_id)] = order_list
        self.list_owner[order_list.list_id] = account
        result = Result(orders[0])
        for order in orders:
            order.list_id = order_list.list_id
            self._register(order)
            if order.is_stop:
                self.stops[spec.symbol].append(order)
            else:
                self.books[spec.symbol].add(order)
        return order_list, result

    def _new(
        self,
        account: Account,
        spec: SymbolSpec,
        side: str,
        type: str,
        tif: str,
        price: Decimal | None,
        qty: Decimal,
        client_id: str,
        now: int,
        stop_price: Decimal | None = None,
    ) -> SimOrder:
        known = self.by_client.get((account.api_key, spec.symbol, client_id))
        if known is not None and known.is_open:
            raise errors.duplicate_order()
        return SimOrder(
            order_id=0,
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
            stop_price=stop_price,
        )

    def _check_placeable(self, order: SimOrder) -> None:
        book = self.books[order.spec.symbol]
        if order.type == "LIMIT_MAKER" and book.crossing(order.side, order.price):
            raise errors.would_take()
        last = self.tapes[order.spec.symbol].last_price
        if order.is_stop and last is not None and triggers(order, last):
            raise errors.would_trigger()

    def _need(self, order: SimOrder) -> Decimal:
        """What placing ``order`` locks (quote for a buy, base for a sell)."""
        if order.side == "SELL":
            return order.qty
        return order.qty * (order.price or order.stop_price or _ZERO)

    def _lock(self, order: SimOrder) -> None:
        need = self._need(order)
        order.account.lock(order.spec.quote if order.side == "BUY" else order.spec.base, need)
        order.locked = need

    def _execute(self, order: SimOrder, result: Result, now: int) -> None:
        """Match a working order against the book; rest, expire or finish it."""
        spec, side, qty = order.spec, order.side, order.qty
        book = self.books[spec.symbol]
        limit = None if order.type in ("MARKET", "STOP_LOSS", "TAKE_PROFIT") else order.price
        levels = book.crossing(side, limit)
        opposite = "SELL" if side == "BUY" else "BUY"
        # walk the book once without changing it: what FOK and market-buy balance checks need
        available, cost = _ZERO, _ZERO
        for level in levels:
            take = min(book.level_qty(opposite, level), qty - order.executed - available)
            available += take
            cost += take * level
            if available >= order.remaining:
                break
        if order.tif == "FOK" and available < order.remaining:
            order.status = "EXPIRED"
            self._release(order)
            self._register(order)
            return
        asset = spec.quote if side == "BUY" else spec.base
        need = cost if side == "BUY" and limit is None else self._need(order)
        if need > order.locked:  # a fresh order, or a triggered stop that now costs more
            order.account.lock(asset, need - order.locked)
            order.locked = need
        self._register(order)
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
        if order.remaining and limit is not None and order.tif == "GTC":
            if side == "BUY":
                keep = order.remaining * limit
                order.account.unlock(spec.quote, order.locked - keep)
                order.locked = keep
            book.add(order)
        else:
            if order.remaining:
                order.status = "EXPIRED"
            self._release(order)

    def _release(self, order: SimOrder) -> None:
        asset = order.spec.quote if order.side == "BUY" else order.spec.base
        order.account.unlock(asset, order.locked)
        order.locked = _ZERO

    # -- after a match: order lists and stops ------------------------------

    def _after(self, result: Result, now: int) -> None:
        self._settle_lists(result, now)
        symbol = result.order.spec.symbol
        while True:
            last = self.tapes[symbol].last_price
            ready = [o for o in self.stops[symbol] if last is not None and triggers(o, last)]
            if not ready:
                return
            for order in ready:
                self.stops[symbol].remove(order)
                if not order.is_open:
                    continue
                sub = Result(order)
                self._trigger(order, sub, now)
                result.triggered.append(sub)
                self._settle_lists(sub, now)

    def _trigger(self, order: SimOrder, result: Result, now: int) -> None:
        order.triggered = True
        order.update_time = now
        if order.list_id != -1:  # the other leg goes; its lock passes to this one
            order_list = self.lists[order.list_id]
            for other in order_list.orders:
                if other is not order and other.is_open:
                    order.locked += other.locked
                    other.locked = _ZERO
                    self._drop(other, now)
                    result.canceled.append(other)
            result.lists.append(order_list)
        try:
            self._execute(order, result, now)
        except errors.ApiError:  # a triggered stop that can no longer be paid for
            order.status = "EXPIRED"
            self._release(order)
        if order.status == "EXPIRED":
            result.expired.append(order)

    def _settle_lists(self, result: Result, now: int) -> None:
        """An executed or finished leg ends its list: cancel the other leg."""
        seen = {o.list_id for t in result.trades for o in (t.maker, t.taker)}
        seen.update(o.list_id for o in result.expired)
        seen.discard(-1)
        for list_id in sorted(seen):
            order_list = self.lists[list_id]
            if order_list.status == "ALL_DONE":
                continue
            for order in order_list.orders:
                if order.is_open and not order.executed:
                    self._drop(order, now)
                    result.canceled.append(order)
            order_list.status = "ALL_DONE"
            if order_list not in result.lists:
                result.lists.append(order_list)

    def _drop(self, order: SimOrder, now: int) -> None:
        """Take an open order off the book or the stop list, as CANCELED."""
        if order.is_stop and not order.triggered:
            if order in self.stops[order.spec.symbol]:
                self.stops[order.spec.symbol].remove(order)
        elif order.price is not None and order.remaining:
            self.books[order.spec.symbol].remove(order)
        self._release(order)
        order.status = "CANCELED"
        order.update_time = now

    # -- canceling ---------------------------------------------------------

    def cancel(self, order: SimOrder, now: int) -> list[SimOrder]:
        """Cancel an order (and the rest of its list); returns every order canceled."""
        if not order.is_open:
            raise errors.cancel_unknown()
        if order.list_id == -1 or self.lists[order.list_id].status == "ALL_DONE":
            self._drop(order, now)  # a leg that traded outlives its list: it goes alone
            return [order]
        return self.cancel_list(self.lists[order.list_id], now)

    def cancel_list(self, order_list: OrderList, now: int) -> list[SimOrder]:
        if order_list.status == "ALL_DONE":
            raise errors.ApiError(-2011, "Order list is already finished.")
        canceled = []
        for order in order_list.orders:
            if order.is_open:
                self._drop(order, now)
                canceled.append(order)
        order_list.status = "ALL_DONE"
        return canceled

    # -- bookkeeping -------------------------------------------------------

    def _register(self, order: SimOrder) -> None:
        if order.order_id:
            return
        order.order_id = self._next_order
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
            if order is maker and not order.remaining and order.locked > 0:
                self._release(order)  # an OCO leg locked for the larger leg
        trade = Trade(self._next_trade, maker.spec, price, qty, now, maker, taker, fees[0], fees[1])
        trade.states = {o.order_id: (o.status, o.executed, o.cum_quote) for o in (maker, taker)}
        self._next_trade += 1
        self.tapes[maker.spec.symbol].record(trade)
        result.trades.append(trade)
        result.touched.append(maker)
        for key in {maker.account.api_key, taker.account.api_key}:  # once for a self-trade
            self.trades.setdefault(key, []).append(trade)
