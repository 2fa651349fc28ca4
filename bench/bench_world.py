"""Devnet world start-up: loading the cached state vs deploying from scratch."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.harness import Result, seconds
from chainops.devnet.world import World


def run() -> list[Result]:
    World.address_book()  # make sure the cache exists before timing the warm start

    def warm() -> None:
        World.start().stop()

    def cold() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            World.start(cache_dir=Path(tmp), use_cache=False).stop()

    return [
        Result(
            name="world_startup",
            unit="s",
            ours=seconds(warm, repeats=5),
            baseline=seconds(cold, repeats=2),
            baseline_name="deploy every contract and pool from scratch",
            higher_is_better=False,
        )
    ]
