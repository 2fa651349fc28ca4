"""The EVM or Solana operator burst under several ways of running it, rounds alternating.

    .venv/bin/python bench/loop_variants.py evm --rounds 20 asyncio uvloop frozen nogc
    .venv/bin/python bench/loop_variants.py solana --rounds 8 asyncio frozen

Variants: ``asyncio`` (plain ``asyncio.run``), ``uvloop`` (``eventloop.run`` on
uvloop), ``frozen`` (``eventloop.run(..., freeze_heap=True)``), ``nogc`` (uvloop
with the cyclic collector off: a bound, not a setting to use). Each round runs
every variant once, in turn, on a fresh fork (EVM) or chain (Solana), so a busy
minute falls on all of them alike; prints the median and quartiles of each.
Not part of ``make bench``: it compares ways of running, not chainops and a peer.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `bench.*` as a script

from chainops.operators import eventloop

Runner = Callable[[Coroutine[Any, Any, dict[str, float]]], dict[str, float]]


def _nogc(main: Coroutine[Any, Any, dict[str, float]]) -> dict[str, float]:
    gc.disable()
    try:
        return eventloop.run(main)
    finally:
        gc.enable()


RUNNERS: dict[str, Runner] = {
    "asyncio": asyncio.run,
    "uvloop": lambda main: eventloop.run(main, loop="uvloop"),
    "frozen": lambda main: eventloop.run(main, freeze_heap=True),
    "nogc": _nogc,
}


def _quartiles(values: list[float]) -> str:
    ordered = sorted(values)
    q1, q3 = ordered[len(ordered) // 4], ordered[(3 * len(ordered)) // 4]
    return f"median {statistics.median(ordered):,.0f} (quartiles {q1:,.0f}-{q3:,.0f})"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("operator", choices=["evm", "solana"])
    parser.add_argument("variants", nargs="+", choices=sorted(RUNNERS))
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args(argv)
    speeds: dict[str, list[float]] = {name: [] for name in args.variants}
    if args.operator == "evm":
        from bench import bench_evm
        from chainops.devnet.world import World

        world = World.start()
        try:
            for _ in range(args.rounds):
                for name in args.variants:
                    with world.fork() as fork:
                        burst = bench_evm._operator(fork, 1000, window=1000)
                        speeds[name].append(RUNNERS[name](burst)["tx_per_s"])
        finally:
            world.stop()
    else:
        from bench import bench_solana
        from chainops.devnet.solana import LiteSvmTransport, LocalChain

        for _ in range(args.rounds):
            for name in args.variants:
                chain = LocalChain(slot_time=bench_solana.SLOT_TIME)
                burst = bench_solana._operator(LiteSvmTransport(chain), chain, 2000)
                speeds[name].append(RUNNERS[name](burst)["tx_per_s"])
    for name, values in speeds.items():
        print(f"{args.operator} {name:8} {_quartiles(values)} tx/s over {len(values)} rounds")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
