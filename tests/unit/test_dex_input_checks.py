"""The DEX argument checks, without a chain."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from chainops.core.errors import ValidationError
from chainops.operators.dapps import InvalidTickRange
from chainops.operators.dapps.checks import (
    check_deadline,
    check_path,
    check_positive_int,
    check_token_id,
)
from chainops.operators.dapps.context import DexContext
from chainops.operators.dapps.quote import check_quote
from chainops.operators.dapps.uniswap.v3.prices import (
    check_fee,
    check_fees,
    check_tick_pair,
    check_ticks,
    spacing_for,
)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("x", "must be a number of seconds"),
        (b"1", "must be a number of seconds"),
        (True, "must be a number of seconds"),
        (float("nan"), "must be finite"),
        (float("-inf"), "must be finite"),
        (Decimal("NaN"), "must be finite"),
        (0, "must be positive"),
        (-5, "must be positive"),
        (0.5, "must be positive"),
    ],
)
def test_bad_deadlines_are_refused(value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=f"deadline {message}"):
        check_deadline(value)


def test_good_deadlines_are_whole_seconds() -> None:
    assert check_deadline(None) is None
    assert check_deadline(1_700_000_000) == 1_700_000_000
    assert check_deadline(1_700_000_000.9) == 1_700_000_000
    assert check_deadline(Decimal("60.5")) == 60
    assert check_deadline(10**30) == 10**30


def test_deadline_at_refuses_bad_seconds_and_deadlines() -> None:
    with pytest.raises(ValidationError, match="deadline seconds must be positive"):
        DexContext.deadline_at(1_000, None, 0)
    with pytest.raises(ValidationError, match="deadline must be a number of seconds"):
        DexContext.deadline_at(1_000, "2000")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="is not after the chain's time"):
        DexContext.deadline_at(1_000, 999)
    assert DexContext.deadline_at(1_000, 1_001.5) == 1_001  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fee", "message"),
    [
        (123, r"^unknown V3 fee tier 123 \(known: \[100, 500, 3000, 10000\]\)$"),
        (-500, "unknown V3 fee tier -500"),
        (500.0, "must be an int .* not float 500.0"),
        ("500", "must be an int .* not str '500'"),
        (None, "must be an int .* not NoneType"),
        (True, "must be an int .* not bool"),
    ],
)
def test_fee_tier_checks(fee: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        check_fee(fee)
    with pytest.raises(ValidationError, match=message):
        spacing_for(fee)  # what plan_mint uses: the same error


def test_fees_per_hop() -> None:
    assert check_fees(500, 2) == [500, 500]
    assert check_fees((500, 100), 2) == [500, 100]
    with pytest.raises(ValidationError, match="2 hops need 2 fees, got \\[500\\]"):
        check_fees([500], 2)
    for bad in ("500", 500.0, None, {500}):
        with pytest.raises(ValidationError, match="fee must be a V3 fee tier"):
            check_fees(bad, 1)
    with pytest.raises(ValidationError, match="unknown V3 fee tier 200"):
        check_fees([500, 200], 2)


@pytest.mark.parametrize("ticks", [(-200.0, 200.0), (-200, 200, 400), (1,), "ab", None, (True, 2)])
def test_tick_pairs_must_be_two_ints(ticks: Any) -> None:
    with pytest.raises(InvalidTickRange, match=r"ticks must be two ints \(lower, upper\)"):
        check_tick_pair(ticks)


def test_check_ticks_refuses_floats() -> None:
    assert check_tick_pair([-200, 200]) == (-200, 200)
    with pytest.raises(InvalidTickRange, match="ticks must be two ints"):
        check_ticks(-200.0, 200, 10)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [1.5, "5", True, 0, -1, Decimal(5), None, 2**256])
def test_positive_ints(value: Any) -> None:
    with pytest.raises(ValidationError, match="liquidity must be a positive int"):
        check_positive_int(value, "liquidity")


@pytest.mark.parametrize("value", ["1", 1.0, True, -1, None, Decimal(1)])
def test_token_ids(value: Any) -> None:
    with pytest.raises(ValidationError, match="token id must be a non-negative int"):
        check_token_id(value)


def test_token_id_bounds() -> None:
    assert check_token_id(0) == 0 and check_token_id(2**256 - 1) == 2**256 - 1
    with pytest.raises(ValidationError, match="does not fit in uint256"):
        check_token_id(2**256)


@pytest.mark.parametrize("path", ["WETH", ("WETH", 1), None, {"WETH", "USDC"}])
def test_paths_must_be_lists_of_tokens(path: Any) -> None:
    with pytest.raises(ValidationError, match="path must be a list of token symbols"):
        check_path(path)


def test_quote_check_names_the_type() -> None:
    with pytest.raises(ValidationError, match="expected a Quote from quote_exact_in/out, not str"):
        check_quote("notaquote", "uniswap-v3")
