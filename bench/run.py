"""Run every benchmark in bench/, print side-by-side figures, write bench/results.json."""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # so `bench.*` imports work when run as a script

from bench.harness import Result  # noqa: E402


def main(selected: list[str]) -> int:
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if selected:
        modules = [m for m in modules if any(s in m for s in selected)]
    results: list[Result] = []
    for name in modules:
        started = time.perf_counter()
        module = importlib.import_module(f"bench.{name}")
        produced = module.run()
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
