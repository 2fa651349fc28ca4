"""Python bytecodes per transfer, by module and function: a profile that noise cannot move.

    .venv/bin/python bench/opcodes.py solana          # 300 transfers, in-process SVM
    .venv/bin/python bench/opcodes.py evm --n 500     # 500 transfers on an Anvil fork

Every Python bytecode the burst executes is counted (``sys.settrace`` with opcode
events), once per function, and divided by the transfers. The same tree gives the
same counts on a busy machine and a quiet one, so a change of a few percent in the
interpreter's share shows where timings cannot (see bench/README.md). What it does
not see: native code (signing, the SVM, SQLite, msgspec) costs no bytecodes, so the
counts say where the *Python* work is, not where the time is. Tracing slows the
burst about fifty-fold: the Solana run uses slots ten times slower than ``make
bench`` so that blockhashes outlive it (as ``bench/instructions.py`` does). Not part
of ``make bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `bench.*` as a script

SLOT_TIME = 0.2  # see the module docstring
_Key = tuple[str, str]  # (file, function)


class OpcodeCounter:
    """Counts the bytecodes and calls of every Python function while it is installed."""

    def __init__(self) -> None:
        self.opcodes: Counter[_Key] = Counter()
        self.calls: Counter[_Key] = Counter()

    def _trace(self, frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        code = frame.f_code
        if event == "call":
            self.calls[code.co_filename, code.co_name] += 1
            frame.f_trace_opcodes = True
            frame.f_trace_lines = False
        elif event == "opcode":
            self.opcodes[code.co_filename, code.co_name] += 1
        return self._trace

    async def run(self, work: Coroutine[Any, Any, Any]) -> Any:
        """Await ``work`` with every frame it creates counted."""
        sys.settrace(self._trace)
        try:
            return await work
        finally:
            sys.settrace(None)


def short(path: str) -> str:
    """A file's path without the checkout, site-packages or stdlib prefix."""
    for marker in ("site-packages/", "/lib/python3"):
        if marker in path:
            tail = path.split(marker, 1)[1]
            return tail if marker == "site-packages/" else "stdlib/" + tail.split("/", 1)[-1]
    return path.removeprefix(str(ROOT) + "/")


def report(counter: OpcodeCounter, n: int, top: int) -> str:
    """Bytecodes per transfer: the total, by file, then the top functions."""
    total = sum(counter.opcodes.values())
    by_file: Counter[str] = Counter()
    for (path, _), count in counter.opcodes.items():
        by_file[short(path)] += count
    lines = [f"bytecodes per transfer: {total / n:,.0f}", "", "by file:"]
    lines += [f"{count / n:9,.0f}  {path}" for path, count in by_file.most_common(top)]
    lines += ["", "by function (bytecodes, calls per transfer):"]
    for (path, name), count in counter.opcodes.most_common(top):
        calls = counter.calls[path, name] / n
        lines.append(f"{count / n:9,.0f}  {calls:6.2f}  {short(path)}:{name}")
    return "\n".join(lines)


def _solana(counter: OpcodeCounter, n: int) -> None:
    from bench import bench_solana
    from chainops.devnet.solana import LiteSvmTransport, LocalChain

    warm = LocalChain(slot_time=SLOT_TIME)  # imports and first-call caches: not counted
    asyncio.run(bench_solana._operator(LiteSvmTransport(warm), warm, 20))
    chain = LocalChain(slot_time=SLOT_TIME)
    asyncio.run(counter.run(bench_solana._operator(LiteSvmTransport(chain), chain, n)))


def _evm(counter: OpcodeCounter, n: int) -> None:
    from bench import bench_evm
    from chainops.devnet.world import World

    base = World.start()
    try:
        with base.fork() as fork:
            asyncio.run(bench_evm._operator(fork, 20, window=20))
        with base.fork() as fork:
            asyncio.run(counter.run(bench_evm._operator(fork, n, window=n)))
    finally:
        base.stop()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("operator", choices=["solana", "evm"])
    parser.add_argument("--n", type=int, default=300, help="transfers in the counted burst")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    counter = OpcodeCounter()
    (_solana if args.operator == "solana" else _evm)(counter, args.n)
    print(report(counter, args.n, args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
