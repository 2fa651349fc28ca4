"""Run every benchmark in bench/, print side-by-side figures, write bench/results.json.

Each ``bench_*`` module runs in a process of its own, as pyperf runs its workers: a
figure then does not depend on which benchmarks ran before it in the same process
(their heap, which every full garbage collection walks, their threads and sockets).
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # so `bench.*` imports work when run as a script

from bench.harness import Result  # noqa: E402


def run_one(name: str, out: str) -> int:
    """Run one benchmark module here and write its results to ``out`` (JSON)."""
    module = importlib.import_module(f"bench.{name}")
    produced = module.run()
    Path(out).write_text(json.dumps([r.to_dict() for r in produced]))
    return 0


def _in_own_process(name: str) -> list[Result] | None:
    with tempfile.TemporaryDirectory(prefix="chainops-bench-") as folder:
        out = Path(folder) / "results.json"
        # Its temporary files (journals, node state) go with the folder, whatever the run does.
        env = {**os.environ, "TMPDIR": folder}
        command = [sys.executable, __file__, "--one", name, str(out)]
        done = subprocess.run(command, check=False, env=env)
        if done.returncode != 0 or not out.exists():
            return None
        rows = json.loads(out.read_text())
    return [Result(**{k: v for k, v in row.items() if k != "speedup"}) for row in rows]


def main(selected: list[str]) -> int:
    if selected[:1] == ["--one"]:
        return run_one(selected[1], selected[2])
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if selected:
        modules = [m for m in modules if any(s in m for s in selected)]
    results: list[Result] = []
    failed: list[str] = []
    for name in modules:
        started = time.perf_counter()
        produced = _in_own_process(name)
        if produced is None:
            failed.append(name)
            print(f"[{name}] FAILED after {time.perf_counter() - started:.1f} s")
            continue
        results.extend(produced)
        print(f"[{name}] {len(produced)} result(s) in {time.perf_counter() - started:.1f} s")
    header = f"{'benchmark':32} {'ours':>14} {'baseline':>14} {'unit':>8} {'ratio':>8}  baseline"
    print("\n" + header + "\n" + "-" * len(header))
    for r in results:
        print(
            f"{r.name:32} {r.ours:14.4g} {r.baseline:14.4g} {r.unit:>8} "
            f"{r.speedup:7.2f}x  {r.baseline_name}"
        )
    out = {
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "results": [r.to_dict() for r in results],
    }
    (HERE / "results.json").write_text(json.dumps(out, indent=2) + "\n")
    print(f"\nwrote {HERE / 'results.json'}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
