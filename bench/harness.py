"""Tiny benchmark harness: time a subject and its baseline in the same run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Result:
    """One benchmark: our figure, the baseline's, and their ratio (>1 means we are faster)."""

    name: str
    unit: str
    ours: float
    baseline: float
    baseline_name: str
    higher_is_better: bool
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def speedup(self) -> float:
        if self.higher_is_better:
            return self.ours / self.baseline if self.baseline else float("inf")
        return self.baseline / self.ours if self.ours else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "ours": self.ours,
            "baseline": self.baseline,
            "baseline_name": self.baseline_name,
            "higher_is_better": self.higher_is_better,
            "speedup": self.speedup,
            "details": self.details,
        }


def per_second(fn: Callable[[], object], n: int, repeats: int = 5) -> float:
    """Median operations per second of ``n`` calls of ``fn`` over ``repeats`` rounds."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates)


def seconds(fn: Callable[[], object], repeats: int = 3) -> float:
    """Median wall-clock seconds of one call of ``fn``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
