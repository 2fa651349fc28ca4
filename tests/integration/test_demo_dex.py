"""The DEX demo runs end to end on a fork of the devnet world."""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from chainops.devnet.world import World

pytestmark = pytest.mark.integration
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "demo_dex.py"


async def test_dex_demo_swaps_mints_collects_and_closes(devnet: World) -> None:
    spec = importlib.util.spec_from_file_location("demo_dex", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    buffer = io.StringIO()
    await module.run_dex_demo(devnet, Console(file=buffer, width=160))
    text = buffer.getvalue()
    assert text.count("FILLED") == 2
    assert "fees collected" in text and "positions left     │ 0" in text


@pytest.mark.parametrize("script", ["example_swap.py", "example_lp.py"])
def test_example_scripts_run_against_a_devnet(devnet: World, script: str) -> None:
    env = dict(os.environ, CHAINOPS_RPC_URL=devnet.rpc_url)
    env.pop("CHAINOPS_PRIVATE_KEY", None)
    done = subprocess.run(
        [sys.executable, str(SCRIPT.parent / script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert ("FILLED" in done.stdout) if script == "example_swap.py" else ("closed" in done.stdout)
