"""Instructions per Solana transfer, counted by valgrind's callgrind: the operator and its floor.

    .venv/bin/python bench/instructions.py          # about three minutes
    .venv/bin/python bench/instructions.py --small 100 --large 300

Timings on a shared machine swing by a third; instruction counts do not (two runs
of the same tree agree within about 0.1 %). Each side runs twice under callgrind,
with ``--small`` and ``--large`` transfers, in fresh processes: the difference
divided by the difference in transfers is what one more transfer costs, start-up
and imports cancelling out. The floor is ``bench_solana._guarantee_floor`` (build,
simulate, sign, send); the operator is ``bench_solana._operator`` on the in-process
SVM, its slots ten times slower than in ``make bench`` so that a blockhash outlives
a run slowed fifty-fold by valgrind (fewer slot ticks: a few thousand instructions
a run, not a transfer).

Counts are not time: the floor is mostly native code (signing, the SVM), which runs
several instructions per cycle; the operator's extra work is interpreted Python,
which runs far fewer. The ratio of instructions is therefore well above the ratio of
CPU time (0.69x against 0.44x when bench/README.md was written). Not part of
``make bench``; needs ``valgrind`` on the PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLOT_TIME = 0.2  # see the module docstring


def _child(side: str, n: int) -> None:
    sys.path.insert(0, str(ROOT))
    from bench import bench_solana
    from chainops.devnet.solana import LiteSvmTransport, LocalChain

    if side == "floor":
        bench_solana._guarantee_floor(n)
    else:
        chain = LocalChain(slot_time=SLOT_TIME)
        asyncio.run(bench_solana._operator(LiteSvmTransport(chain), chain, n))


def _instructions(side: str, n: int) -> int:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--child",
        side,
        str(n),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no instruction count:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=300)
    parser.add_argument("--large", type=int, default=900)
    parser.add_argument("--child", nargs=2, metavar=("SIDE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], int(args.child[1]))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    if args.large <= args.small:
        parser.error("--large must be more than --small")
    per_transfer = {}
    for side in ("floor", "operator"):
        small, large = _instructions(side, args.small), _instructions(side, args.large)
        per_transfer[side] = (large - small) / (args.large - args.small)
        print(f"{side:9} {per_transfer[side]:>12,.0f} instructions per transfer")
    ratio = per_transfer["floor"] / per_transfer["operator"]
    print(f"floor / operator by instructions: {ratio:.2f}x (not time: see the docstring)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
