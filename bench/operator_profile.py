"""Where an operator's time goes: cProfile of the operator benchmarks, summarised.

    .venv/bin/python bench/operator_profile.py solana   # 2,000 transfers, in-process SVM
    .venv/bin/python bench/operator_profile.py evm      # 1,000 transfers on an Anvil fork

Prints the top entries by own time and the calls and time of the bookkeeping
categories the README's profile section tracks. ``--dump FILE`` keeps the raw
profile (``python -m pstats FILE``). Not part of ``make bench``: a profiler
slows what it measures, so these are shares, not speeds.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `bench.*` as a script

# (label, test on (file, function name)) for each category of the summary
CATEGORIES = (
    ("sqlite execute/executemany", lambda f, fn: "sqlite3.Connection" in fn),
    ("json encode (stdlib)", lambda f, fn: f.endswith("json/encoder.py")),
    ("datetime isoformat", lambda f, fn: "isoformat" in fn),
    ("enum .name/.value", lambda f, fn: f.endswith("enum.py") and fn == "__get__"),
    ("dataclasses.fields/replace", lambda f, fn: f.endswith("dataclasses.py")),
    ("chainops/core", lambda f, fn: "chainops/core/" in f),
)


def _solana(profile: cProfile.Profile) -> dict[str, float]:
    from bench import bench_solana
    from chainops.devnet.solana import LiteSvmTransport, LocalChain

    chain = LocalChain(slot_time=bench_solana.SLOT_TIME)  # the bench's slots, so its monitor turns

    async def main() -> dict[str, float]:
        profile.enable()
        try:
            return await bench_solana._operator(LiteSvmTransport(chain), chain, 2000)
        finally:
            profile.disable()

    return asyncio.run(main())


def _evm(profile: cProfile.Profile) -> dict[str, float]:
    from bench import bench_evm
    from chainops.devnet.world import World

    base = World.start()
    try:
        with base.fork() as fork:

            async def main() -> dict[str, float]:
                profile.enable()
                try:
                    return await bench_evm._operator(fork, 1000, window=1000)
                finally:
                    profile.disable()

            return asyncio.run(main())
    finally:
        base.stop()


def summary(stats: pstats.Stats) -> list[tuple[str, int, float, float]]:
    """(category, calls, own seconds, share of the profiled total) per category."""
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())
    rows = []
    for label, matches in CATEGORIES:
        picked = [v for (f, _, fn), v in raw.items() if matches(f, fn)]
        own = sum(v[2] for v in picked)
        rows.append((label, sum(v[1] for v in picked), own, own / total if total else 0.0))
    rows.append(("profiled total", sum(v[1] for v in raw.values()), total, 1.0))
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("operator", choices=["solana", "evm"])
    parser.add_argument("--dump", type=Path, help="also write the raw profile here")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    profile = cProfile.Profile()
    figures = (_solana if args.operator == "solana" else _evm)(profile)
    print(f"{args.operator}: {figures}")
    stats = pstats.Stats(profile)
    stats.sort_stats("tottime").print_stats(args.top)
    print(f"{'category':32} {'calls':>10} {'own s':>8} {'share':>7}")
    for label, calls, own, share in summary(stats):
        print(f"{label:32} {calls:10,} {own:8.3f} {share:7.1%}")
    if args.dump:
        stats.dump_stats(str(args.dump))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
