"""Core hot paths: client-id generation and exact amount conversion, against baselines."""

from __future__ import annotations

import uuid
from decimal import Decimal

from bench.harness import Result, per_second
from chainops.core.assets import to_raw
from chainops.core.ids import ClientIdGenerator

N = 50_000


def _naive_to_raw(amount: Decimal, decimals: int) -> int:
    """What hand-written code usually does: scale, check for a fraction, truncate."""
    if amount < 0 or not amount.is_finite():
        raise ValueError(amount)
    scaled = amount.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(amount)
    return int(scaled)


def run() -> list[Result]:
    generator = ClientIdGenerator(prefix="b")
    amount = Decimal("1234.567891")
    # 29 significant digits: past the default Decimal context, where scaleb rounds
    big = Decimal("12345678901.123456789012345678")
    exact = {
        "ours_exact_on_29_digits": to_raw(big, 18) == 12345678901123456789012345678,
        "baseline_exact_on_29_digits": _naive_to_raw(big, 18) == 12345678901123456789012345678,
    }
    return [
        Result(
            name="client_id_generation",
            unit="ops/s",
            ours=per_second(generator.next, N),
            baseline=per_second(lambda: uuid.uuid4().hex, N),
            baseline_name="uuid.uuid4().hex (unique, but neither sortable nor monotonic)",
            higher_is_better=True,
        ),
        Result(
            name="amount_to_raw",
            unit="ops/s",
            ours=per_second(lambda: to_raw(amount, 18), N),
            baseline=per_second(lambda: _naive_to_raw(amount, 18), N),
            baseline_name="Decimal.scaleb + integral check",
            higher_is_better=True,
            details=exact,
        ),
    ]
