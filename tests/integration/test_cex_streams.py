"""Market streams through the adapter: the public trade tape and books of two pairs."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from cex_helpers import AMOUNT, ETH, venue

from chainops.operators.exchanges.types import PublicTrade


async def test_trade_stream_reports_each_public_trade() -> None:
    async with venue() as (sim, _, make):
        other = sim.create_account({"USDT": "100000"})
        op = await make(user_stream=False).start()
        seen: asyncio.Queue[PublicTrade] = asyncio.Queue()
        await op.watch_trades(ETH, seen.put_nowait)
        await asyncio.sleep(0.05)  # the subscription reaches the venue
        first = sim.engine._next_trade  # the opening trades came before
        sim.place_direct(other, "ETHUSDT", side="BUY", type="MARKET", tif="GTC",
                         price=None, qty=AMOUNT * 20, client_id="taker")  # fmt: skip
        trades = [await asyncio.wait_for(seen.get(), 5) for _ in range(2)]
        assert [t.trade_id for t in trades] == [str(first), str(first + 1)]
        assert trades[0].price == Decimal("2000.50") and not trades[0].buyer_is_maker
        assert sum(t.amount for t in trades) <= AMOUNT * 20


async def test_books_follow_the_venue_and_answer_queries() -> None:
    async with venue() as (sim, _, make):
        other = sim.create_account({"USDT": "100000", "ETH": "10"})
        op = await make(user_stream=False).start()
        book = await op.watch_book(ETH)
        sim.place_direct(other, "ETHUSDT", side="SELL", type="MARKET", tif="GTC",
                         price=None, qty=Decimal("0.3"), client_id="hit")  # fmt: skip
        truth = sim.book("ETHUSDT")
        async with asyncio.timeout(5):
            while book.last_update_id != truth.update_id:
                await asyncio.sleep(0.01)
        best = truth.best("BUY")
        assert book.best_bid is not None and book.best_bid[0] == best
        assert book.best_ask is not None and book.mid == (book.best_bid[0] + book.best_ask[0]) / 2
        assert len(book.bids(5)) == 5 and book.vwap("SELL", book.best_bid[1]) == best


async def test_listen_key_user_stream_when_there_is_no_websocket_api() -> None:
    from chainops.operators.exchanges import BinanceSpot

    async with venue() as (sim, account, _):
        other = sim.create_account({"USDT": "100000"})
        op = BinanceSpot.connect(
            account.api_key, account.secret, base_url=sim.url, stream_url=sim.stream_url
        )
        async with op:
            assert op.user_stream is not None and op.user_stream.mode == "listen-key"
            price = Decimal("2000.10")
            trade_id = str(sim.engine._next_trade)
            order = await op.place(ETH, "SELL", "LIMIT", AMOUNT, price)
            sim.place_direct(other, "ETHUSDT", side="BUY", type="LIMIT", tif="IOC",
                             price=price, qty=AMOUNT, client_id="taker")  # fmt: skip
            await order.wait(timeout=5)
            assert list(order.fills) == [trade_id]


async def test_a_listen_key_stream_is_kept_alive_past_the_keys_hour() -> None:
    """A listenKey lives an hour after its last keepalive: the adapter keeps its key alive,
    so the stream it opened outlives the hour (moved here by the simulator's clock)."""
    from chainops.devnet.exchange.streams import LISTEN_KEY_TTL_MS
    from chainops.operators.exchanges import BinanceSpot

    async with venue() as (sim, account, _):
        op = BinanceSpot.connect(
            account.api_key, account.secret, base_url=sim.url, stream_url=sim.stream_url
        )
        async with op:
            stream = op.user_stream
            assert stream is not None and stream.mode == "listen-key"
            stream.keepalive_seconds = 0.05
            (key,) = sim.hub.listen_keys
            for _ in range(3):  # three "hours", each kept alive by the adapter meanwhile
                await asyncio.sleep(0.2)
                sim.faults.clock_skew_ms += LISTEN_KEY_TTL_MS - 1_000
                assert sim.hub.expire_listen_keys() == []  # the venue's hourly look
            assert list(sim.hub.listen_keys) == [key]  # never replaced
            assert stream.connects == 1
