"""Per-invocation cost of reading the configuration: file + environment + network resolution."""

from __future__ import annotations

import tempfile
import tomllib
from pathlib import Path

from bench.harness import Result, per_second
from chainops.config import load_settings, resolve_network

N = 2_000
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

        return [
            Result(
                name="config_load_and_resolve",
                unit="ops/s",
                ours=per_second(ours, N),
                baseline=per_second(baseline, N),
                baseline_name="tomllib.loads of the same file (no validation, no environment)",
                higher_is_better=True,
            )
        ]
