"""Record -> replay: exact round trips, seeking, rotation, damaged chunks, bad ranges."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from chainops.core.errors import ValidationError
from chainops.marketdata import MarketData, Recorder, Replayer, ReplayRangeError
from chainops.operators.exchanges.market_events import MarketEvent
from chainops.queues import Publisher, Transport
from chainops.queues.message import MessageCodec
from tests.integration.marketdata_helpers import T0, sample_events
from tests.integration.queue_helpers import connect_or_skip, unique


def _record(root: Path, events: list[MarketEvent], **kw: int) -> Recorder:
    with Recorder(root, **kw) as rec:  # type: ignore[arg-type]
        for e in events:
            rec.record(e)
    return rec


async def _all(rp: Replayer, pair: str = "ETH-USDT", **kw: object) -> list[MarketEvent]:
    return [e async for e in rp.events("binance", pair, **kw)]  # type: ignore[arg-type]


async def test_round_trip_reproduces_every_event_exactly(tmp_path: Path) -> None:
    eth = sample_events(1200)
    btc = sample_events(300, pair="BTC-USDT")
    _record(
        tmp_path,
        [x for pair in zip(eth[:300], btc, strict=True) for x in pair] + eth[300:],
        chunk_events=100,
    )
    rp = Replayer(tmp_path)
    assert await _all(rp) == eth
    assert await _all(rp, "BTC-USDT") == btc
    assert rp.skipped == []


async def test_day_change_and_size_rotate_files(tmp_path: Path) -> None:
    events = sample_events(1200)  # 7 s apart from 23:00: crosses midnight
    _record(tmp_path, events, chunk_events=50, max_file_bytes=20_000)
    files = Replayer(tmp_path).files("binance", "ETH-USDT")
    days = {f.name[:8] for f in files}
    assert days == {"20260301", "20260302"}
    assert len(files) > 2 and all(f.stat().st_size <= 20_000 for f in files)
    assert await _all(Replayer(tmp_path)) == events


async def test_time_range_seeks_to_exactly_that_range(tmp_path: Path) -> None:
    events = sample_events(1000)
    _record(tmp_path, events, chunk_events=64)
    start, end = T0 + timedelta(seconds=700), T0 + timedelta(seconds=3500)
    got = await _all(Replayer(tmp_path), start=start, end=end)
    assert got == [e for e in events if start <= e.at < end] and got


async def test_paced_replay_yields_the_same_events(tmp_path: Path) -> None:
    events = sample_events(20, step=timedelta(milliseconds=1))
    _record(tmp_path, events)
    assert await _all(Replayer(tmp_path), speed=1.0) == events
    assert await _all(Replayer(tmp_path), speed=50.0) == events


async def test_corrupt_and_truncated_chunks_are_skipped_with_position(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    events = sample_events(300)
    _record(tmp_path, events, chunk_events=100)
    (path,) = Replayer(tmp_path).files("binance", "ETH-USDT")
    data = bytearray(path.read_bytes())
    from chainops.marketdata.chunks import read_index

    second = read_index(path)[1]
    data[second.offset + 40] ^= 0xFF  # a byte inside the second chunk's payload
    path.write_bytes(bytes(data[:-10]))  # and the last chunk cut short
    rp = Replayer(tmp_path)
    with caplog.at_level(logging.WARNING):
        got = await _all(rp)
    assert got == events[:100]
    assert [(s.offset, s.reason.split(" ")[0]) for s in rp.skipped] == [
        (second.offset, "CRC"),
        (read_index(path)[2].offset, "truncated"),
    ]
    assert f"at byte {second.offset}" in caplog.text


async def test_a_chunk_whose_index_record_was_never_written_is_replayed(
    tmp_path: Path,
) -> None:
    """A recorder that dies between a chunk and its index record loses nothing: the
    reader finds chunks the index does not list."""
    from chainops.marketdata import chunks

    events = sample_events(300)
    _record(tmp_path, events, chunk_events=100)
    (path,) = Replayer(tmp_path).files("binance", "ETH-USDT")
    index = chunks.index_path(path)
    whole = index.read_bytes()
    index.write_bytes(whole[: len(whole) // 3])  # the crash: only the first chunk indexed
    rp = Replayer(tmp_path)
    assert await _all(rp) == events
    assert rp.skipped == []
    assert [c.count for c in chunks.read_index(path)] == [100, 100, 100]
    assert rp.span("binance", "ETH-USDT") == (
        int(events[0].at.timestamp() * 1e9),
        int(events[-1].at.timestamp() * 1e9),
    )


async def test_two_recordings_of_one_market_replay_in_time_order(tmp_path: Path) -> None:
    """Two recorder runs over the same hours (two recorders, or one restarted with a
    backlog) leave files whose times overlap: replay merges them by event time."""
    events = sample_events(200, step=timedelta(seconds=1))  # within one UTC day: one file each
    _record(tmp_path, events[0::2], chunk_events=16)
    _record(tmp_path, events[1::2], chunk_events=16)
    rp = Replayer(tmp_path)
    assert len(rp.files("binance", "ETH-USDT")) == 2
    assert await _all(rp) == events
    start, end = T0 + timedelta(seconds=50), T0 + timedelta(seconds=120)
    assert await _all(rp, start=start, end=end) == events[50:120]


async def test_range_outside_the_recording_is_a_typed_error(tmp_path: Path) -> None:
    events = sample_events(10)
    _record(tmp_path, events)
    rp = Replayer(tmp_path)
    with pytest.raises(ReplayRangeError, match="outside the recording"):
        await _all(rp, start=T0 + timedelta(days=1))
    with pytest.raises(ReplayRangeError, match="outside the recording"):
        await _all(rp, end=T0)
    with pytest.raises(ReplayRangeError, match="empty range"):
        await _all(rp, start=T0 + timedelta(seconds=9), end=T0 + timedelta(seconds=9))
    with pytest.raises(ReplayRangeError, match="nothing recorded"):
        await _all(rp, "SOL-USDT")
    with pytest.raises(ValidationError, match="speed"):
        await _all(rp, speed=0.0)


@pytest.fixture(params=["memory", "redis", "nats"])
async def transport(request: pytest.FixtureRequest) -> AsyncIterator[Transport]:
    t = await connect_or_skip(request.param)
    yield t
    await t.close()


async def test_replay_into_a_queue_and_record_it_again(
    transport: Transport, tmp_path: Path
) -> None:
    events = sample_events(400)
    _record(tmp_path / "a", events, chunk_events=64)
    stream = unique("md")
    pub = Publisher(transport, stream, MessageCodec([MarketData]))
    assert await Replayer(tmp_path / "a").to_queue("binance", "ETH-USDT", pub) == 400
    again = Recorder(tmp_path / "b", chunk_events=64)
    stop = asyncio.Event()
    task = asyncio.create_task(again.consume(transport, stream, stop=stop))
    while again.recorded < 400:
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert await _all(Replayer(tmp_path / "b")) == events


async def test_replay_reads_each_index_once_and_only_the_chunks_in_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long recording replayed for an hour is not read whole: the chunks outside the
    range stay on disk, and each file's index is read once per replay."""
    import tracemalloc

    from chainops.marketdata import chunks, replayer

    events = sample_events(400, step=timedelta(seconds=1))  # within one UTC day: one file
    _record(tmp_path, events, chunk_events=50)
    (path,) = Replayer(tmp_path).files("binance", "ETH-USDT")
    later = int(events[-1].at.timestamp() * 1e9) + 10**12
    chunks.append_chunk(path, bytes(16 << 20), later, later + 1, 1)  # 16 MB, out of range
    reads: list[Path] = []
    counted = chunks.read_index

    def read_index(p: Path) -> list[chunks.ChunkInfo]:
        reads.append(p)
        return counted(p)

    monkeypatch.setattr(chunks, "read_index", read_index)
    monkeypatch.setattr(replayer, "read_index", read_index)
    end = events[-1].at + timedelta(seconds=1)
    tracemalloc.start()
    try:
        got = await _all(Replayer(tmp_path), start=T0, end=end)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got == events
    assert peak < 4 << 20, f"{peak:,} bytes traced: the file was read whole"
    assert reads == [path]
