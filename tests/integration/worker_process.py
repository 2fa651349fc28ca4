"""A worker child process as the cross-process tests drive it.

The child prints ``READY <words...>`` once set up, waits for ``go`` on stdin, prints
one progress line (``SENT``, ``PLACED``) per unit of work and ``DONE <words...>`` at
the end. Its stderr goes to a file, not a pipe: a worker logging more than a pipe
holds must not block on it.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import IO

from chainops.core.journal import Journal
from chainops.core.transaction import Transaction, TxState


class WorkerProcess:
    """One child started with ``args``; counts its ``progress`` lines."""

    def __init__(self, child: Path, args: Iterable[str], n: int, *, progress: str = "SENT"):
        self.n = n
        self.progress = progress
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (lives as long as the worker)
        self.proc = subprocess.Popen(
            [sys.executable, str(child), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        self.count = 0  # progress lines read so far
        self.ready_words: list[str] = []
        self.done_words: list[str] = []

    @property
    def out(self) -> IO[str]:
        assert self.proc.stdout is not None
        return self.proc.stdout

    def wait_ready(self) -> list[str]:
        for line in self.out:
            if line.startswith("READY"):
                self.ready_words = line.split()
                return self.ready_words
        raise AssertionError(f"worker {self.n} died before READY: {self.stderr()}")

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def read_until(self, count: int | None) -> bool:
        """Read until ``count`` progress lines (None: until DONE); False if it ended first."""
        for line in self.out:
            if line.startswith(self.progress):
                self.count += 1
                if count is not None and self.count >= count:
                    return True
            elif line.startswith("DONE"):
                self.done_words = line.split()
                return True
        return False

    def finish(self) -> None:
        assert self.read_until(None), f"worker {self.n} failed: {self.stderr()}"
        assert self.proc.wait(timeout=60) == 0, self.stderr()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stderr(self) -> str:
        """The end of what it logged (it is killed first: its story ends here)."""
        self.proc.kill()
        self.log.seek(0)
        return self.log.read()[-3000:]


def start_all(workers: list[WorkerProcess]) -> None:
    """Every worker set up first, then all of them go at once."""
    for w in workers:
        w.wait_ready()
    for w in workers:
        w.go()


def taken_over(workers: Iterable[WorkerProcess]) -> int:
    """What the workers took over from dead ones, as their DONE lines say."""
    return sum(int(w.done_words[1]) for w in workers)


async def unsettled(
    journal: Journal,
    owner: str,
    values: Sequence[int],
    *,
    done: Collection[TxState],
    failed: Collection[TxState],
    timeout: float,
) -> list[int]:
    """In a restarted child: the indexes of ``values`` (one transfer each) still to send,
    once every journalled transfer is settled (done, or failed for good)."""
    deadline = time.monotonic() + timeout
    while True:
        states: dict[int, set[TxState]] = {}
        for op in journal.list_operations(kind="transaction", owner=owner):
            if isinstance(op, Transaction) and op.value:
                states.setdefault(int(op.value), set()).add(op.state)
        mine = [states.get(value, set()) for value in values]
        if all(not s or s & set(done) or s <= set(failed) for s in mine):
            return [i for i, s in enumerate(mine) if not s & set(done)]
        assert time.monotonic() < deadline, "journalled transfers never settled"
        await asyncio.sleep(0.1)
