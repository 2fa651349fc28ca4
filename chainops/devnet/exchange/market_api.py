"""Public market data: exchange info, depth, trades, aggregate trades, klines, tickers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chainops.devnet.exchange import errors, events
from chainops.devnet.exchange import params as p
from chainops.devnet.exchange.engine import Engine
from chainops.devnet.exchange.filters import SymbolSpec
from chainops.devnet.exchange.tape import DAY_MS, INTERVALS
from chainops.devnet.exchange.weights import OrderCounter, WeightCounter

__all__ = ["MarketApi"]

Params = dict[str, str]
MAX_DEPTH = 5000


class MarketApi:
    """The unsigned market-data surface of one simulator."""

    def __init__(
        self,
        engine: Engine,
        weights: WeightCounter,
        clock: Callable[[], int],
        orders: OrderCounter | None = None,
    ) -> None:
        self.engine, self.weights, self.clock = engine, weights, clock
        self.orders = orders or OrderCounter()  # its limits are the published ORDERS ones

    def _spec(self, params: Params) -> SymbolSpec:
        symbol = p.symbol(params)
        assert symbol is not None
        return self.engine.spec(symbol)

    def _specs(self, params: Params) -> tuple[list[SymbolSpec], bool]:
        """The ``symbol`` or ``symbols`` asked for (every symbol if neither); single or list."""
        if "symbol" in params and "symbols" in params:
            raise errors.bad_combo("Parameter 'symbol' and 'symbols' cannot be sent together.")
        if "symbol" in params:
            return [self._spec(params)], True
        names = p.symbol_list(params)
        if names is None:
            return list(self.engine.specs.values()), False
        if len(set(names)) != len(names):
            raise errors.ApiError(-1151, "Symbol is present multiple times in the list.")
        return [self.engine.spec(n) for n in names], False

    def exchange_info(self, params: Params) -> Any:
        specs, _ = self._specs(params)
        return {
            "timezone": "UTC",
            "serverTime": self.clock(),
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": self.weights.limit,
                },
                *(
                    {"rateLimitType": "ORDERS", "interval": i, "intervalNum": n, "limit": limit}
                    for i, n, limit in self.orders.limits
                ),
            ],
            "exchangeFilters": [],
            "symbols": [s.info() for s in specs],
        }

    def depth(self, params: Params) -> Any:
        spec = self._spec(params)
        limit = min(p.limit(params, 100, MAX_DEPTH), MAX_DEPTH)
        book = self.engine.books[spec.symbol]
        return {"lastUpdateId": book.update_id, **book.depth(limit)}

    def trades(self, params: Params) -> Any:
        spec = self._spec(params)
        limit = p.limit(params, 500)
        tape = self.engine.tapes[spec.symbol]
        return [t.public() for t in tape.recent(limit, p.integer(params, "fromId"))]

    def agg_trades(self, params: Params) -> Any:
        spec = self._spec(params)
        limit = p.limit(params, 500)
        start, end = p.time_range(params, 1)
        from_id = p.integer(params, "fromId")
        if from_id is not None and (start is not None or end is not None):
            raise errors.bad_combo("fromId cannot be sent together with startTime or endTime.")
        aggs = self.engine.tapes[spec.symbol].agg_trades(limit, from_id, start, end)
        return [a.to_json() for a in aggs]

    def klines(self, params: Params) -> Any:
        spec = self._spec(params)
        interval = params.get("interval") or ""
        if not interval:
            raise errors.mandatory("interval")
        if interval not in INTERVALS:
            raise errors.bad_interval()
        limit = p.limit(params, 500)
        start, end = p.integer(params, "startTime"), p.integer(params, "endTime")
        if start is not None and end is not None and start > end:
            raise errors.bad_combo("startTime cannot be greater than endTime.")
        return self.engine.tapes[spec.symbol].klines(interval, start, end, limit, self.clock())

    def avg_price(self, params: Params) -> Any:
        spec = self._spec(params)
        return self.engine.tapes[spec.symbol].avg_price(self.clock())

    def _ticker_type(self, params: Params) -> str:
        kind = params.get("type", "FULL")
        if kind not in ("FULL", "MINI"):
            raise errors.ApiError(-1139, "Invalid ticker type.")
        return kind

    def _window(self, spec: SymbolSpec, size_ms: int, kind: str) -> dict[str, Any]:
        now = self.clock()
        stats = self.engine.tapes[spec.symbol].window(now, size_ms)
        body: dict[str, Any] = {"symbol": spec.symbol}
        if kind == "MINI":
            keep = ("openPrice", "highPrice", "lowPrice", "lastPrice", "volume", "quoteVolume")
            body |= {k: stats[k] for k in keep}
            body |= {k: stats[k] for k in ("openTime", "closeTime", "firstId", "lastId", "count")}
            return body
        body |= stats
        if size_ms == DAY_MS:
            top = events.book_ticker(spec.symbol, self.engine.books[spec.symbol])
            body |= {"bidPrice": top["b"], "bidQty": top["B"], "askPrice": top["a"]}
            body["askQty"] = top["A"]
        return body

    def ticker_24hr(self, params: Params) -> Any:
        specs, single = self._specs(params)
        kind = self._ticker_type(params)
        out = [self._window(s, DAY_MS, kind) for s in specs]
        return out[0] if single else out

    def ticker_window(self, params: Params) -> Any:
        """``GET /api/v3/ticker``: rolling windows from 1m to 7d."""
        specs, single = self._specs(params)
        if not single and "symbols" not in params:
            raise errors.mandatory("symbol")
        kind = self._ticker_type(params)
        size = params.get("windowSize", "1d")
        units = {"m": 60_000, "h": 3_600_000, "d": DAY_MS}
        number = size[:-1]
        if not number.isascii() or not number.isdigit() or size[-1:] not in units:
            raise errors.invalid_param("windowSize")
        size_ms = int(number) * units[size[-1]]
        if not 60_000 <= size_ms <= 7 * DAY_MS:
            raise errors.invalid_param("windowSize")
        out = [self._window(s, size_ms, kind) for s in specs]
        return out[0] if single else out

    def ticker_price(self, params: Params) -> Any:
        specs, single = self._specs(params)
        out = []
        for spec in specs:
            last = self.engine.tapes[spec.symbol].last_price
            out.append({"symbol": spec.symbol, "price": f"{last or 0:.8f}"})
        return out[0] if single else out

    def book_ticker(self, params: Params) -> Any:
        specs, single = self._specs(params)
        out = []
        for spec in specs:
            top = events.book_ticker(spec.symbol, self.engine.books[spec.symbol])
            out.append(
                {
                    "symbol": spec.symbol,
                    "bidPrice": top["b"],
                    "bidQty": top["B"],
                    "askPrice": top["a"],
                    "askQty": top["A"],
                }
            )
        return out[0] if single else out
