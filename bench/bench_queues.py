"""Queues and market data: events/s publish -> consume -> ack per backend, command round trip,
recorder and replayer events/s and bytes per event."""

from __future__ import annotations

import asyncio
import os
import pickle
import statistics
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

from bench.harness import Result
from chainops.marketdata import Recorder, Replayer
from chainops.queues import (
    Actor,
    Message,
    MessageCodec,
    Publisher,
    QueueUnavailable,
    open_transport,
)
from chainops.queues.transport import Transport

N = 5000
ROUND_TRIPS = 200
URLS = {
    "asyncio": "memory://",
    "redis": os.environ.get("CHAINOPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    "nats": os.environ.get("CHAINOPS_TEST_NATS_URL", "nats://127.0.0.1:4222"),
}


class Tick(Message, frozen=True):
    n: int


CODEC: MessageCodec[Tick] = MessageCodec([Tick])


async def _baseline_queue(n: int) -> float:
    q: asyncio.Queue[bytes] = asyncio.Queue()
    start = time.perf_counter()
    for i in range(n):
        q.put_nowait(CODEC.encode(Tick(n=i)))
    while not q.empty():
        CODEC.decode(q.get_nowait())
    return n / (time.perf_counter() - start)


async def _through(t: Transport, n: int, *, batched: bool = False) -> float:
    """Events/s publish -> consume -> ack; ``batched``: 50 per ``publish_many`` request."""
    stream = f"bench-{uuid.uuid4().hex[:8]}"
    pub = Publisher(t, stream, CODEC)
    done = asyncio.Event()

    async def handle(m: Tick) -> None:
        if actor.handled + 1 == n:
            done.set()

    actor = Actor(t, stream, CODEC, handle, group="bench", name="b")
    start = time.perf_counter()
    runner = asyncio.create_task(actor.run(stop=done, poll=0.05))
    for first in range(0, n, 50):  # bounded concurrency: one connection's worth in flight
        ticks = [Tick(n=i) for i in range(first, min(n, first + 50))]
        if batched:
            await pub.publish_many(ticks)
        else:
            await asyncio.gather(*(pub.publish(tick) for tick in ticks))
    await done.wait()
    elapsed = time.perf_counter() - start
    await runner
    await t.delete_stream(stream)  # a shared server keeps nothing of a run
    return n / elapsed


async def _consume(t: Transport, n: int) -> float:
    """Events/s an Actor consumes and acks from a stream already holding ``n`` (acks batched)."""
    stream = f"bench-c-{uuid.uuid4().hex[:8]}"
    pub = Publisher(t, stream, CODEC)
    for first in range(0, n, 500):
        await pub.publish_many([Tick(n=i) for i in range(first, min(n, first + 500))])
    done = asyncio.Event()

    async def handle(m: Tick) -> None:
        if actor.handled + 1 == n:
            done.set()

    actor = Actor(t, stream, CODEC, handle, group="bench", name="b")
    start = time.perf_counter()
    await actor.run(stop=done, poll=0.05)
    elapsed = time.perf_counter() - start
    await t.delete_stream(stream)
    return n / elapsed


async def _round_trip_ms(t: Transport, n: int) -> float:
    """Median ms from publishing a command to receiving the answer (an echoing actor)."""
    cmd, evt = f"bench-cmd-{uuid.uuid4().hex[:8]}", f"bench-evt-{uuid.uuid4().hex[:8]}"
    answers = Publisher(t, evt, CODEC)
    got: asyncio.Queue[int] = asyncio.Queue()

    async def echo(m: Tick) -> None:
        await answers.publish(Tick(n=m.n))

    async def collect(m: Tick) -> None:
        got.put_nowait(m.n)

    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(
            Actor(t, cmd, CODEC, echo, group="op", name="op").run(stop=stop, poll=0.05)
        ),
        asyncio.create_task(
            Actor(t, evt, CODEC, collect, group="st", name="st").run(stop=stop, poll=0.05)
        ),
    ]
    commands = Publisher(t, cmd, CODEC)
    times = []
    for i in range(n):
        start = time.perf_counter()
        await commands.publish(Tick(n=i))
        await got.get()
        times.append((time.perf_counter() - start) * 1000)
    stop.set()
    await asyncio.gather(*tasks)
    for stream in (cmd, evt):
        await t.delete_stream(stream)
    return statistics.median(times)


PLACES = 40


async def _place_ms(url: str) -> tuple[float, float] | None:
    """Median ms of a LIMIT order placed through the queue and in-process, on the simulator."""
    from chainops.devnet.exchange import ExchangeSimulator
    from chainops.operators.exchanges import BinanceSpot
    from chainops.queues.exchange_service import ExchangeService
    from chainops.queues.remote import OperatorClient

    try:
        t = await open_transport(url, timeout=2.0)
    except QueueUnavailable:
        return None
    cmds, evts = f"bench-ex-{uuid.uuid4().hex[:8]}", f"bench-ev-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        async with ExchangeSimulator(seed=1) as sim:
            me = sim.create_account({"USDT": "1000000"})
            cex = BinanceSpot.connect(
                me.api_key,
                me.secret,
                base_url=sim.url,
                stream_url=sim.stream_url,
                ws_api_url=sim.ws_api_url,
                journal_path=str(Path(tmp) / "j.sqlite"),
            )
            async with cex:
                service = ExchangeService(cex, t, commands=cmds, events=evts)
                client = OperatorClient(t, commands=cmds, events=evts, name="strategy")
                stop = asyncio.Event()
                tasks = [asyncio.create_task(x.run(stop)) for x in (service, client)]
                remote, local = [], []
                for i in range(PLACES):
                    price = Decimal("1900") - i
                    start = time.perf_counter()
                    await client.place("ETH-USDT", "BUY", "LIMIT", "0.01", price)
                    remote.append((time.perf_counter() - start) * 1000)
                    start = time.perf_counter()
                    await cex.place("ETH-USDT", "BUY", "LIMIT", "0.01", price - Decimal("0.5"))
                    local.append((time.perf_counter() - start) * 1000)
                stop.set()
                await asyncio.gather(*tasks)
                await service.close()
    for stream in (cmds, evts):
        await t.delete_stream(stream)
    await t.close()
    return statistics.median(remote), statistics.median(local)


async def _queues() -> list[Result]:
    baseline = await _baseline_queue(N)
    out = []
    for name, url in URLS.items():
        try:
            t = await open_transport(url, timeout=2.0)
        except QueueUnavailable as exc:
            print(f"[bench_queues] {name} skipped: {exc}")
            continue
        try:
            rate = await _through(t, N if name == "asyncio" else N // 2)
            batched = await _through(t, N if name == "asyncio" else N // 2, batched=True)
            consumed = await _consume(t, N if name == "asyncio" else N // 2)
            rtt = await _round_trip_ms(t, ROUND_TRIPS)
        finally:
            await t.close()
        out.append(
            Result(
                f"queue_{name}_pub_consume_ack",
                "ev/s",
                rate,
                baseline,
                "asyncio.Queue + codec, no acks",
                True,
            )
        )
        out.append(
            Result(
                f"queue_{name}_batch_pub_consume_ack",
                "ev/s",
                batched,
                baseline,
                "asyncio.Queue + codec, no acks",
                True,
            )
        )
        out.append(
            Result(
                f"queue_{name}_consume_ack",
                "ev/s",
                consumed,
                baseline,
                "asyncio.Queue + codec, no acks",
                True,
            )
        )
        out.append(
            Result(f"queue_{name}_command_rtt", "ms", rtt, rtt, "itself (absolute figure)", False)
        )
        placed = await _place_ms(url)
        if placed is not None:
            out.append(
                Result(
                    f"queue_{name}_place_order",
                    "ms",
                    placed[0],
                    placed[1],
                    "in-process place (same simulator)",
                    False,
                )
            )
    return out


async def _marketdata() -> list[Result]:
    from tests.integration.marketdata_helpers import sample_events

    events = sample_events(20_000)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        with Recorder(root / "rec") as rec:
            for e in events:
                rec.record(e)
        rec_rate = len(events) / (time.perf_counter() - start)
        per_event = rec.bytes_written / len(events)
        start = time.perf_counter()
        with (root / "pickle.bin").open("wb") as f:
            for e in events:
                pickle.dump(e, f, protocol=pickle.HIGHEST_PROTOCOL)
        pickle_rate = len(events) / (time.perf_counter() - start)
        pickle_bytes = (root / "pickle.bin").stat().st_size / len(events)
        start = time.perf_counter()
        n = await Replayer(root / "rec").replay("binance", "ETH-USDT", _noop)
        replay_rate = n / (time.perf_counter() - start)
        start = time.perf_counter()
        with (root / "pickle.bin").open("rb") as f:
            for _ in events:
                pickle.load(f)
        unpickle_rate = len(events) / (time.perf_counter() - start)
    return [
        Result("recorder_events", "ev/s", rec_rate, pickle_rate, "pickle per event", True),
        Result(
            "recorder_bytes_per_event", "B/ev", per_event, pickle_bytes, "pickle per event", False
        ),
        Result("replayer_events", "ev/s", replay_rate, unpickle_rate, "unpickle per event", True),
    ]


async def _noop(event: object) -> None:
    return None


def run() -> list[Result]:
    return asyncio.run(_queues()) + asyncio.run(_marketdata())


if __name__ == "__main__":
    for r in run():
        print(r.to_dict())
