"""CLI amount strings: plain decimals only, never commas, exponents or signs."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainops.cli.exitcodes import ExitCode, exit_code
from chainops.cli.runtime import parse_amount
from chainops.core.errors import (
    AuthenticationError,
    InvalidAmount,
    Reverted,
    RpcTransientError,
    UnknownOutcome,
    ValidationError,
)


@pytest.mark.parametrize(
    "text", ["1,5", "1e-30", "1E3", "-1", "+1", "0", "0.0", "", "1.2.3", "NaN", "inf", "1_000", "١"]
)
def test_rejected(text: str) -> None:
    with pytest.raises(InvalidAmount):
        parse_amount(text)


@pytest.mark.parametrize(("text", "value"), [("1.5", "1.5"), (" 2 ", "2"), (".25", "0.25")])
def test_accepted(text: str, value: str) -> None:
    assert parse_amount(text) == Decimal(value)


@given(st.decimals(min_value=Decimal("1e-18"), max_value=Decimal(10**12), places=18))
def test_plain_decimals_round_trip(value: Decimal) -> None:
    assert parse_amount(format(value, "f")) == value


def test_exit_codes() -> None:
    assert exit_code(ValidationError("x")) is ExitCode.ERROR
    assert exit_code(AuthenticationError("x")) is ExitCode.AUTH
    assert exit_code(RpcTransientError("x")) is ExitCode.RPC
    assert exit_code(Reverted("x")) is ExitCode.FAILED
    assert exit_code(UnknownOutcome("x")) is ExitCode.UNKNOWN_OUTCOME
