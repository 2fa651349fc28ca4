"""`make demo` end to end: the script runs, every part reports success, nothing is left running."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_every_part() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=300,
        env={"COLUMNS": "160", "PATH": ""},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "chain id" in out and "WETH9" in out  # the address book
    assert "CONFIRMED" in out and "WETH after" in out  # the wrap through the operator
    assert out.count("FILLED") >= 3  # a V2 swap, a V3 swap, the CEX limit order
    assert "fees collected" in out
    assert "devnet stopped cleanly" in out
