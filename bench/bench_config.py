"""Per-invocation costs of the CLI: reading the configuration, and starting ``chainops``."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from bench.harness import Result, per_second
from chainops.config import load_settings, resolve_network

N = 2_000
STARTS = 9  # process starts per figure; the median smooths a shared machine's noise
CONFIG = """
network = "base"
wallet = "trading"
[networks.base]
rpc_urls = ["https://base.example/v2/KEY", "https://mainnet.base.org"]
confirmations = 2
[networks.base.fee]
priority = "FAST"
max_fee_gwei = "5"
[networks.my-l2]
chain_id = 999002
rpc_urls = ["https://rpc.my-l2.example"]
"""


def run() -> list[Result]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.toml"
        path.write_text(CONFIG)

        def ours() -> None:
            resolve_network(load_settings(path))

        def baseline() -> None:
            tomllib.loads(path.read_text())

        return [*startup(), Result(
                name="config_load_and_resolve",
                unit="ops/s",
                ours=per_second(ours, N),
                baseline=per_second(baseline, N),
                baseline_name="tomllib.loads of the same file (no validation, no environment)",
                higher_is_better=True,
            )]  # fmt: skip


def _median_ms(args: list[str]) -> float:
    times = []
    for _ in range(STARTS):
        started = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def startup() -> list[Result]:
    """``chainops --help`` and ``chainops version`` against a bare interpreter start."""
    bare = _median_ms([sys.executable, "-c", "pass"])
    results = []
    for args in (["--help"], ["version"]):
        ours = _median_ms([sys.executable, "-m", "chainops.cli.main", *args])
        results.append(
            Result(
                name=f"cli_start_{args[0].lstrip('-')}",
                unit="ms",
                ours=ours,
                baseline=bare,
                baseline_name="python -c pass (the interpreter alone)",
                higher_is_better=False,
                details={"median_of": STARTS, "target_ms": 300},
            )
        )
    return results
