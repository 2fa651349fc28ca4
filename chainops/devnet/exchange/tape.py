"""A symbol's public tape: trades, aggregate trades, klines, rolling tickers, average price.

Everything here is derived from the simulator's own matches (the seeded
market maker's included), so the figures a client reads agree with its fills.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from chainops.devnet.exchange import errors
from chainops.devnet.exchange.filters import fmt
from chainops.devnet.exchange.orders import Trade

__all__ = ["INTERVALS", "AggTrade", "Tape", "interval_ms"]

_ZERO = Decimal(0)
_UNITS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
INTERVALS = (
    "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h",
    "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M",
)  # fmt: skip
DAY_MS = 86_400_000
AVG_PRICE_MINS = 5  # Binance's avgPrice window


def interval_ms(interval: str) -> int:
    """Length of a fixed interval; -1120 for anything Binance does not list."""
    if interval not in INTERVALS or interval == "1M":
        raise errors.bad_interval()
    return int(interval[:-1]) * _UNITS[interval[-1]]


def _open_time(interval: str, t: int) -> int:
    if interval == "1M":
        d = datetime.fromtimestamp(t / 1000, UTC)
        return int(datetime(d.year, d.month, 1, tzinfo=UTC).timestamp() * 1000)
    size = interval_ms(interval)
    if interval == "1w":  # weeks open on Monday; the epoch was a Thursday
        return (t - 4 * DAY_MS) // size * size + 4 * DAY_MS
    return t // size * size


def _next_open(interval: str, open_ms: int) -> int:
    if interval == "1M":
        d = datetime.fromtimestamp(open_ms / 1000, UTC)
        year, month = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
        return int(datetime(year, month, 1, tzinfo=UTC).timestamp() * 1000)
    return open_ms + interval_ms(interval)


@dataclass
class AggTrade:
    """Trades of one taker order at one price."""

    agg_id: int
    price: Decimal
    qty: Decimal
    first: int
    last: int
    time: int
    buyer_is_maker: bool
    taker_order: int

    def to_json(self) -> dict[str, object]:
        return {
            "a": self.agg_id,
            "p": fmt(self.price),
            "q": fmt(self.qty),
            "f": self.first,
            "l": self.last,
            "T": self.time,
            "m": self.buyer_is_maker,
            "M": True,
        }


class Tape:
    """Every public trade of one symbol, in order."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.trades: list[Trade] = []
        self.times: list[int] = []
        self.aggs: list[AggTrade] = []

    def record(self, trade: Trade) -> AggTrade:
        """Add a trade; returns its aggregate trade (new or extended)."""
        self.trades.append(trade)
        self.times.append(trade.time)
        last = self.aggs[-1] if self.aggs else None
        if (
            last is not None
            and last.taker_order == trade.taker.order_id
            and last.price == trade.price
        ):
            last.qty += trade.qty
            last.last = trade.trade_id
            return last
        agg = AggTrade(
            len(self.aggs) + 1,
            trade.price,
            trade.qty,
            trade.trade_id,
            trade.trade_id,
            trade.time,
            trade.buyer_is_maker,
            trade.taker.order_id,
        )
        self.aggs.append(agg)
        return agg

    @property
    def last_price(self) -> Decimal | None:
        return self.trades[-1].price if self.trades else None

    def recent(self, limit: int, from_id: int | None = None) -> list[Trade]:
        if from_id is None:
            return self.trades[-limit:] if limit else []
        return [t for t in self.trades if t.trade_id >= from_id][:limit]

    def agg_trades(
        self, limit: int, from_id: int | None, start: int | None, end: int | None
    ) -> list[AggTrade]:
        if from_id is not None:
            return self.aggs[from_id - 1 :][:limit] if from_id >= 1 else self.aggs[:limit]
        if start is None and end is None:
            return self.aggs[-limit:]
        lo, hi = start or 0, end if end is not None else 2**63
        return [a for a in self.aggs if lo <= a.time <= hi][:limit]

    def _since(self, t: int) -> list[Trade]:
        return self.trades[bisect.bisect_left(self.times, t) :]

    def klines(
        self, interval: str, start: int | None, end: int | None, limit: int, now: int
    ) -> list[list[object]]:
        """Candles from the first trade's interval up to now; quiet intervals repeat the close."""
        if not self.trades:
            return []
        stop = min(now, end) if end is not None else now
        opened = _open_time(interval, self.trades[0].time)
        if start is not None:
            opened = max(opened, _open_time(interval, start))
        elif interval != "1M":  # only the last ``limit`` candles are wanted
            opened = max(opened, _open_time(interval, stop) - (limit - 1) * interval_ms(interval))
        index = bisect.bisect_left(self.times, opened)
        close = self.trades[index - 1].price if index else None
        candles: list[list[object]] = []
        while opened <= stop and len(candles) < limit:
            nxt = _next_open(interval, opened)
            prices: list[Decimal] = []
            vol = quote = buy = buy_quote = _ZERO
            while index < len(self.trades) and self.trades[index].time < nxt:
                t = self.trades[index]
                index += 1
                prices.append(t.price)
                vol += t.qty
                quote += t.quote_qty
                if not t.buyer_is_maker:  # the taker bought
                    buy += t.qty
                    buy_quote += t.quote_qty
            if close is not None or prices:
                first = prices[0] if prices else close
                close = prices[-1] if prices else close
                assert first is not None and close is not None
                candles.append(
                    [
                        opened,
                        fmt(first),
                        fmt(max(prices, default=close)),
                        fmt(min(prices, default=close)),
                        fmt(close),
                        fmt(vol),
                        nxt - 1,
                        fmt(quote),
                        len(prices),
                        fmt(buy),
                        fmt(buy_quote),
                        "0",
                    ]
                )
            opened = nxt
        return candles

    def window(self, now: int, size_ms: int = DAY_MS) -> dict[str, object]:
        """Rolling statistics over the last ``size_ms`` (the 24hr ticker's figures)."""
        trades = self._since(now - size_ms)
        last = self.trades[-1] if self.trades else None
        before = (
            self.trades[len(self.trades) - len(trades) - 1]
            if len(trades) < len(self.trades)
            else None
        )
        open_price = trades[0].price if trades else (last.price if last else _ZERO)
        last_price = last.price if last else _ZERO
        volume = sum((t.qty for t in trades), _ZERO)
        quote = sum((t.quote_qty for t in trades), _ZERO)
        change = last_price - open_price if trades else _ZERO
        pct = (change / open_price * 100) if trades and open_price else _ZERO
        return {
            "priceChange": fmt(change),
            "priceChangePercent": f"{pct:.3f}",
            "weightedAvgPrice": fmt(quote / volume if volume else last_price),
            "prevClosePrice": fmt(before.price if before else _ZERO),
            "lastPrice": fmt(last_price),
            "lastQty": fmt(last.qty if last else _ZERO),
            "openPrice": fmt(open_price),
            "highPrice": fmt(max((t.price for t in trades), default=_ZERO)),
            "lowPrice": fmt(min((t.price for t in trades), default=_ZERO)),
            "volume": fmt(volume),
            "quoteVolume": fmt(quote),
            "openTime": now - size_ms,
            "closeTime": now,
            "firstId": trades[0].trade_id if trades else -1,
            "lastId": trades[-1].trade_id if trades else -1,
            "count": len(trades),
        }

    def avg_price(self, now: int) -> dict[str, object]:
        """Volume-weighted price of the last five minutes (the last price if none traded)."""
        trades = self._since(now - AVG_PRICE_MINS * 60_000)
        volume = sum((t.qty for t in trades), _ZERO)
        quote = sum((t.quote_qty for t in trades), _ZERO)
        price = quote / volume if volume else (self.last_price or _ZERO)
        return {
            "mins": AVG_PRICE_MINS,
            "price": fmt(price),
            "closeTime": trades[-1].time if trades else (self.times[-1] if self.times else now),
        }
