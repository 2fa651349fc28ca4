"""Fault switches, deterministic under a seed.

Counters ("the next N requests") make a test exact; rates draw from a
``random.Random(seed)`` so a run with the same seed misbehaves the same way.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["Faults"]


@dataclass
class Faults:
    """What the simulator should get wrong next."""

    seed: int = 0
    drop_after_execute: int = 0  # next N order requests execute, then the connection is cut
    drop_delay_seconds: float = 0.0  # how long a dropped reply is held before the cut
    server_errors: int = 0  # next N REST requests answer 503 without executing
    delay_seconds: float = 0.0  # added before every REST reply
    skip_depth_diffs: int = 0  # next N depth diffs are not sent (the ids still advance)
    clock_skew_ms: int = 0  # added to the server clock
    drop_rate: float = 0.0  # chance an order request is executed and its reply dropped
    error_rate: float = 0.0  # chance a REST request answers 503
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def take_drop(self) -> bool:
        if self.drop_after_execute > 0:
            self.drop_after_execute -= 1
            return True
        return self.drop_rate > 0 and self.rng.random() < self.drop_rate

    def take_server_error(self) -> bool:
        if self.server_errors > 0:
            self.server_errors -= 1
            return True
        return self.error_rate > 0 and self.rng.random() < self.error_rate

    def take_skip_depth(self) -> bool:
        if self.skip_depth_diffs > 0:
            self.skip_depth_diffs -= 1
            return True
        return False
