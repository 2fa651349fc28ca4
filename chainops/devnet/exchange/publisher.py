"""What every engine result sends: depth diffs, market streams, user-data events."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from chainops.devnet.exchange import events
from chainops.devnet.exchange.accounts import Account
from chainops.devnet.exchange.engine import Engine
from chainops.devnet.exchange.faults import Faults
from chainops.devnet.exchange.orders import OrderList, Result, SimOrder
from chainops.devnet.exchange.streams import StreamHub
from chainops.devnet.exchange.tape import INTERVALS

__all__ = ["Publisher"]

PARTIAL_DEPTHS = (5, 10, 20)


class Publisher:
    """Turns engine results into stream events (market streams only when someone listens)."""

    def __init__(
        self, engine: Engine, hub: StreamHub, faults: Faults, clock: Callable[[], int]
    ) -> None:
        self.engine, self.hub, self.faults, self.clock = engine, hub, faults, clock

    def result(self, result: Result, now: int, *, new: bool = True) -> None:
        """Everything one placement did, in the order the venue reports it."""
        order = result.order
        user = self.hub.publish_user
        self.market(order.spec.symbol, result, now)
        if new:
            user(order.account.api_key, events.execution_report(order, "NEW", now))
        self._trades(result, now)
        if order.status == "EXPIRED" and order not in result.expired:
            user(order.account.api_key, events.execution_report(order, "EXPIRED", now))
        self._finish(result, now)
        for sub in result.triggered:
            self._trades(sub, now)
            self._finish(sub, now)
        self.positions(self._accounts(result), order.spec.symbol, now)

    def _trades(self, result: Result, now: int) -> None:
        for trade in result.trades:
            for side in (trade.maker, trade.taker):
                self.hub.publish_user(
                    side.account.api_key, events.execution_report(side, "TRADE", now, trade)
                )
                if trade.states[side.order_id][1] == trade.qty:  # its first fill
                    self.hub.orders.filled(side.account.api_key, now)

    def _finish(self, result: Result, now: int) -> None:
        for order in result.canceled:
            self.hub.publish_user(
                order.account.api_key, events.execution_report(order, "CANCELED", now)
            )
        for order in result.expired:
            self.hub.publish_user(
                order.account.api_key, events.execution_report(order, "EXPIRED", now)
            )
        self.lists(result.lists, now)

    def lists(self, order_lists: Iterable[OrderList], now: int) -> None:
        for order_list in order_lists:
            owner = self.engine.list_owner[order_list.list_id]
            self.hub.publish_user(owner.api_key, events.list_status(order_list, now))

    def canceled(self, orders: list[SimOrder], now: int, *, client_id: str | None = None) -> None:
        """Execution reports (and list status, balances) for orders a user canceled."""
        if not orders:
            return
        symbol = orders[0].spec.symbol
        self.market(symbol, None, now)
        for order in orders:
            report = events.execution_report(order, "CANCELED", now)
            report["C"] = order.client_order_id
            if client_id is not None:
                report["c"] = client_id
            self.hub.publish_user(order.account.api_key, report)
        lists = {o.list_id for o in orders if o.list_id != -1}
        self.lists((self.engine.lists[i] for i in sorted(lists)), now)
        self.positions({o.account for o in orders}, symbol, now)

    def positions(self, accounts: Iterable[Account], symbol: str, now: int) -> None:
        spec = self.engine.specs[symbol]
        for account in accounts:
            event = events.account_position(account, {spec.base, spec.quote}, now)
            self.hub.publish_user(account.api_key, event)

    @staticmethod
    def _accounts(result: Result) -> set[Account]:
        found = {result.order.account}
        for sub in (result, *result.triggered):
            found.update(side.account for t in sub.trades for side in (t.maker, t.taker))
            found.update(o.account for o in (*sub.canceled, *sub.expired))
        return found

    # -- market streams ----------------------------------------------------

    def market(self, symbol: str, result: Result | None, now: int) -> None:
        """Depth diff, trades, aggregate trades, tickers, klines, partial books of ``symbol``."""
        hub, name = self.hub, symbol.lower()
        book, tape = self.engine.books[symbol], self.engine.tapes[symbol]
        diff = book.take_diff()
        if diff is not None and not self.faults.take_skip_depth():
            first, last, bids, asks = diff
            event = {"e": "depthUpdate", "E": now, "s": symbol, "U": first, "u": last}
            event |= {"b": bids, "a": asks}
            hub.publish_market(f"{name}@depth", event)
            hub.publish_market(f"{name}@depth@100ms", event)
        trades = [t for sub in ((result, *result.triggered) if result else ()) for t in sub.trades]
        for trade in trades:
            hub.publish_market(f"{name}@trade", events.trade(symbol, trade, now))
        if trades and hub.listening(f"{name}@aggTrade"):
            seen: list[int] = []
            for agg in tape.aggs[::-1]:
                if agg.last < trades[0].trade_id:
                    break
                seen.append(agg.agg_id)
            for agg_id in seen[::-1]:
                hub.publish_market(
                    f"{name}@aggTrade", events.agg_trade(symbol, tape.aggs[agg_id - 1], now)
                )
        if diff is not None:
            if hub.listening(f"{name}@bookTicker"):
                hub.publish_market(f"{name}@bookTicker", events.book_ticker(symbol, book))
            for n in PARTIAL_DEPTHS:
                for stream in (f"{name}@depth{n}", f"{name}@depth{n}@100ms"):
                    if hub.listening(stream):
                        hub.publish_market(stream, events.depth_partial(book, n))
        if trades:
            if hub.listening(f"{name}@ticker"):
                hub.publish_market(f"{name}@ticker", events.ticker(symbol, tape, book, now))
            if hub.listening(f"{name}@miniTicker"):
                hub.publish_market(f"{name}@miniTicker", events.mini_ticker(symbol, tape, now))
            for interval in INTERVALS:
                stream = f"{name}@kline_{interval}"
                if hub.listening(stream):
                    rows = tape.klines(interval, None, None, 1, now)
                    if rows:
                        hub.publish_market(stream, events.kline(symbol, interval, rows[-1], now))
