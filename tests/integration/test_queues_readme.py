"""The README's two-process queue example, run as printed: ``cex_operator.py`` and
``cex_strategy.py`` in two processes over Redis, against the exchange simulator."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

from cex_helpers import venue

from tests.integration.queue_helpers import REDIS_URL, connect_or_skip

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"```python\n(# cex_(operator|strategy)\.py\n.*?)```", re.DOTALL)


def readme_scripts() -> dict[str, str]:
    found = {m[2]: m[1] for m in BLOCK.finditer((ROOT / "README.md").read_text())}
    assert set(found) == {"operator", "strategy"}, "the README lost a queue example block"
    return found


async def test_readme_two_process_example(tmp_path: Path) -> None:
    await (await connect_or_skip("redis")).close()
    scripts = readme_scripts()
    for name, code in scripts.items():
        (tmp_path / f"cex_{name}.py").write_text(code)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAINOPS_")}
    async with venue() as (sim, account, _):
        env |= {
            "CHAINOPS_HOME": str(tmp_path / "home"),
            "CHAINOPS_CONFIG": str(tmp_path / "config.toml"),
            "CHAINOPS_EVENTS": REDIS_URL,
            "CHAINOPS_CEX_URL": sim.url,
            "CHAINOPS_CEX_API_KEY": account.api_key,
            "CHAINOPS_CEX_API_SECRET": account.secret,
            "PYTHONPATH": str(ROOT),
        }
        # Streams named in the README: a run before this one may have left commands there.
        transport = await connect_or_skip("redis")
        redis = transport._r  # type: ignore[attr-defined]
        await redis.delete("cex.cmd", "cex.evt", "cex.cmd.dead")
        await transport.close()

        def start(name: str) -> asyncio.Future[asyncio.subprocess.Process]:
            return asyncio.ensure_future(
                asyncio.create_subprocess_exec(
                    sys.executable, f"cex_{name}.py", cwd=tmp_path, env=env,
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                )
            )  # fmt: skip

        strategy = await start("strategy")  # first: its commands wait for the operator
        operator = await start("operator")
        try:
            assert operator.stdout is not None
            line = await asyncio.wait_for(operator.stdout.readline(), 60)
            assert line == b"serving\n", line
            out, err = await asyncio.wait_for(strategy.communicate(), 60)
        finally:
            operator.send_signal(signal.SIGTERM)
            await operator.wait()
            if strategy.returncode is None:
                strategy.kill()
                await strategy.wait()
    assert strategy.returncode == 0, err.decode()[-3000:]
    lines = out.decode().splitlines()
    assert lines[0].startswith("OPEN 1950 FILLED Fill(") and lines[1:3] == [
        "CANCELED",
        "refused -2010",
    ], lines
    ordered = [cid for cid in sim.order_requests if cid.startswith("q")]
    assert len(ordered) == 4 and all(sim.order_requests[c] == 1 for c in ordered)
