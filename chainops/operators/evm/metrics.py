"""Operator metrics: counters and gauges as a dict and as Prometheus text."""

from __future__ import annotations

import statistics
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Keep the latest latencies only: enough for stable percentiles, bounded memory.
LATENCY_WINDOW = 2048


@dataclass
class EvmMetrics:
    """What an EVM operator has done and what it has in flight."""

    sent: int = 0
    confirmed: int = 0
    reverted: int = 0
    bumps: int = 0
    cancels: int = 0
    drops: int = 0
    rebroadcasts: int = 0
    reorgs: int = 0
    replacements: int = 0
    gap_fills: int = 0
    fee_cap_reached: int = 0
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))
    # Read when reported, not kept up to date on every change (that would cost O(n) each).
    pending_count: Callable[[], int] = field(default=lambda: 0, repr=False)
    rpc_error_counts: Callable[[], Counter[str]] = field(default=Counter, repr=False)

    @property
    def pending(self) -> int:
        return self.pending_count()

    @property
    def rpc_errors(self) -> Counter[str]:
        return self.rpc_error_counts()

    def observe_latency(self, seconds: float) -> None:
        self.latencies.append(seconds)

    def as_dict(self) -> dict[str, Any]:
        """Every figure, JSON-ready."""
        ordered = sorted(self.latencies)

        def pct(q: float) -> float | None:
            return ordered[int(q * (len(ordered) - 1))] if ordered else None

        return {
            "pending": self.pending,
            "sent": self.sent,
            "confirmed": self.confirmed,
            "reverted": self.reverted,
            "bumps": self.bumps,
            "cancels": self.cancels,
            "drops": self.drops,
            "rebroadcasts": self.rebroadcasts,
            "reorgs": self.reorgs,
            "replacements": self.replacements,
            "gap_fills": self.gap_fills,
            "fee_cap_reached": self.fee_cap_reached,
            "rpc_errors": dict(self.rpc_errors),
            "send_to_confirm_seconds": {
                "count": len(ordered),
                "mean": statistics.fmean(ordered) if ordered else None,
                "p50": pct(0.5),
                "p95": pct(0.95),
            },
        }

    def prometheus(self, labels: dict[str, str] | None = None) -> str:
        """The Prometheus text exposition format (version 0.0.4)."""
        base = ",".join(f'{k}="{v}"' for k, v in sorted((labels or {}).items()))

        def series(name: str, value: float, extra: str = "") -> str:
            inner = ",".join(part for part in (base, extra) if part)
            return f"{name}{{{inner}}} {value}" if inner else f"{name} {value}"

        lines = [
            "# TYPE chainops_evm_pending gauge",
            series("chainops_evm_pending", self.pending),
        ]
        for name in (
            "sent",
            "confirmed",
            "reverted",
            "bumps",
            "cancels",
            "drops",
            "rebroadcasts",
            "reorgs",
            "replacements",
            "gap_fills",
            "fee_cap_reached",
        ):
            lines.append(f"# TYPE chainops_evm_{name}_total counter")
            lines.append(series(f"chainops_evm_{name}_total", getattr(self, name)))
        lines.append("# TYPE chainops_evm_rpc_errors_total counter")
        for kind, count in sorted(self.rpc_errors.items()):
            lines.append(series("chainops_evm_rpc_errors_total", count, f'kind="{kind}"'))
        ordered = sorted(self.latencies)
        lines.append("# TYPE chainops_evm_send_to_confirm_seconds summary")
        for q in (0.5, 0.95):
            if ordered:
                value = ordered[int(q * (len(ordered) - 1))]
                lines.append(
                    series("chainops_evm_send_to_confirm_seconds", value, f'quantile="{q}"')
                )
        lines.append(series("chainops_evm_send_to_confirm_seconds_sum", sum(ordered)))
        lines.append(series("chainops_evm_send_to_confirm_seconds_count", len(ordered)))
        return "\n".join(lines) + "\n"
