"""The CEX part of `make demo` runs end to end and reports a filled order."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

from rich.console import Console

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "demo_cex.py"


async def test_run_cex_demo_fills_a_limit_order() -> None:
    spec = importlib.util.spec_from_file_location("demo_cex", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = io.StringIO()
    await module.run_cex_demo(Console(file=out, width=120))
    text = out.getvalue()
    assert "state FILLED" in text and "completion event received: True" in text
    assert "simulator stopped" in text
