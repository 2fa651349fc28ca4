"""Market data recording and replay refuse bad input with typed errors, and stay in their root."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from chainops.core.errors import ValidationError
from chainops.marketdata import MarketData, Recorder, Replayer, market_data
from chainops.operators.exchanges.market_events import BookTicker
from chainops.queues import MemoryTransport, MessageCodec, Publisher

T0 = datetime(2026, 1, 5, 12, tzinfo=UTC)


def tick(i: int, platform: str = "binance", pair: str = "ETH-USDT") -> BookTicker:
    return BookTicker(
        at=T0 + timedelta(seconds=i),
        platform=platform,
        trading_pair=pair,  # type: ignore[arg-type]
        bid=Decimal("2000"),
        bid_amount=Decimal("1"),
        ask=Decimal("2000.5"),
        ask_amount=Decimal("2"),
        update_id=i,
    )


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    ("platform", "pair"),
    [
        ("../outside", "ETH-USDT"),
        ("binance", "../../outside"),
        ("binance", "ETH/USDT"),
        ("", "ETH-USDT"),
        ("binance", ".."),
        ("/tmp", "ETH-USDT"),
    ],
)
def test_a_market_name_that_is_a_path_is_refused_and_nothing_is_written(
    tmp_path: Path, platform: str, pair: str
) -> None:
    root = tmp_path / "recording"
    with Recorder(root, chunk_events=1) as recorder:
        with pytest.raises(ValidationError, match="cannot name a recording directory"):
            recorder.record(tick(0, platform, pair))
        assert recorder.recorded == 0
    assert _files(tmp_path) == []
    with pytest.raises(ValidationError, match="cannot name a recording directory"):
        Replayer(root).files(platform, pair)


@pytest.mark.parametrize("event", ["BookTicker", None, 5, object()])
def test_recording_something_that_is_no_market_event_is_a_validation_error(
    tmp_path: Path, event: object
) -> None:
    with Recorder(tmp_path) as recorder:
        with pytest.raises(ValidationError, match="not a recordable market event"):
            recorder.record(event)  # type: ignore[arg-type]
        assert recorder.recorded == 0


@pytest.mark.parametrize(
    "options",
    [
        {"chunk_events": 0},
        {"chunk_events": "5"},
        {"chunk_events": 2.5},
        {"chunk_events": True},
        {"max_file_bytes": -1},
        {"max_file_bytes": None},
    ],
)
def test_recorder_sizes_must_be_positive_ints(tmp_path: Path, options: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="must be a positive int"):
        Recorder(tmp_path, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"speed": float("nan")}, "speed"),
        ({"speed": "2"}, "speed"),
        ({"speed": True}, "speed"),
        ({"start": "2026-01-05"}, "start"),
        ({"end": 5}, "end"),
    ],
)
async def test_replay_options_of_the_wrong_kind_are_validation_errors(
    tmp_path: Path, options: dict[str, object], words: str
) -> None:
    with Recorder(tmp_path) as recorder:
        recorder.record(tick(0))
    with pytest.raises(ValidationError, match=words):
        async for _ in Replayer(tmp_path).events("binance", "ETH-USDT", **options):  # type: ignore[arg-type]
            pass


async def test_a_queued_event_that_cannot_be_recorded_is_dead_lettered_and_recording_goes_on(
    tmp_path: Path,
) -> None:
    """Such a message used to fail the handler on every redelivery, or write outside the root."""
    transport = MemoryTransport()
    publisher = Publisher(transport, "md", MessageCodec([MarketData]))
    escaping = market_data(tick(0, platform="../outside"))
    garbage = MarketData(entry=b"\xc1 not an entry")
    await publisher.publish(escaping)
    await publisher.publish(garbage)
    await publisher.publish(market_data(tick(1)))
    recorder = Recorder(tmp_path / "recording")
    stop = asyncio.Event()
    task = asyncio.create_task(recorder.consume(transport, "md", stop=stop))
    async with asyncio.timeout(3):
        while recorder.recorded < 1 or len(await transport.dead_letters("md")) < 2:
            assert not task.done()
            await asyncio.sleep(0.01)
    stop.set()
    await task
    dead = {d.message_id: d.reason for d in await transport.dead_letters("md")}
    assert set(dead) == {escaping.id, garbage.id}
    assert "ValidationError" in dead[escaping.id]
    assert not (tmp_path / "outside").exists()
    replayed = [e async for e in Replayer(tmp_path / "recording").events("binance", "ETH-USDT")]
    assert replayed == [tick(1)]
