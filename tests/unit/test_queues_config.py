"""``events`` in the configuration file and ``CHAINOPS_EVENTS`` choose the queue backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainops.queues import (
    MemoryTransport,
    QueueUnavailable,
    UnsupportedQueueUrl,
    open_configured_transport,
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CHAINOPS_CONFIG", "CHAINOPS_EVENTS"):
        monkeypatch.delenv(name, raising=False)


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_no_events_setting_means_the_in_process_queue(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('network = "devnet"\n')
    assert isinstance(await open_configured_transport(path), MemoryTransport)


async def test_file_names_the_backend_and_the_environment_overrides_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f'events = "redis://127.0.0.1:{_closed_port()}/0"\n')
    with pytest.raises(QueueUnavailable, match="Redis at redis:"):
        await open_configured_transport(path, timeout=0.5)
    monkeypatch.setenv("CHAINOPS_EVENTS", f"nats://127.0.0.1:{_closed_port()}")
    with pytest.raises(QueueUnavailable, match="NATS at nats:"):
        await open_configured_transport(path, timeout=0.5)
    monkeypatch.setenv("CHAINOPS_EVENTS", "kafka://somewhere")
    with pytest.raises(UnsupportedQueueUrl, match="kafka"):
        await open_configured_transport(path)
