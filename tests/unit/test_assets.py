from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from chainops.core.assets import (
    Amount,
    Asset,
    Fee,
    Token,
    asset_from_dict,
    exact_sum,
    from_raw,
    native_asset,
    to_decimal,
    to_raw,
)
from chainops.core.errors import ConfigurationError, InvalidAmount, ValidationError
from chainops.core.platforms import get_chain

USDC_ADDR = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
ETH = Asset("ETH", 18)
USDC = Asset("USDC", 6)


class TestToRaw:
    @pytest.mark.parametrize(
        ("amount", "decimals", "raw"),
        [
            (Decimal("1.5"), 18, 1_500_000_000_000_000_000),
            (Decimal("0.000001"), 6, 1),
            (Decimal("1E+3"), 0, 1000),
            (Decimal("1.000000"), 2, 100),
            (Decimal("0"), 18, 0),
            (Decimal("-0"), 18, 0),
            (7, 6, 7_000_000),
            ("2.25", 2, 225),
            # more digits than the default 28-digit context: must stay exact
            (
                Decimal("123456789012345678901234567890.123456789012345678"),
                18,
                123456789012345678901234567890123456789012345678,
            ),
        ],
    )
    def test_exact(self, amount: Decimal | int | str, decimals: int, raw: int) -> None:
        assert to_raw(amount, decimals) == raw

    def test_too_many_decimals(self) -> None:
        with pytest.raises(InvalidAmount, match="more than 6 decimal places"):
            to_raw(Decimal("1.0000001"), 6)

    def test_negative(self) -> None:
        with pytest.raises(InvalidAmount, match="negative"):
            to_raw(Decimal("-1"), 6)

    def test_messages_write_amounts_plainly(self) -> None:
        with pytest.raises(InvalidAmount, match=r"^amount 0\.0000000000000000001 has more"):
            to_raw(Decimal("1E-19"), 18)
        with pytest.raises(InvalidAmount, match=r"got -0\.0000001$"):
            to_raw(Decimal("-1E-7"), 18)

    @pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", "sNaN"])
    def test_not_finite(self, bad: str) -> None:
        with pytest.raises(InvalidAmount, match="finite"):
            to_raw(Decimal(bad), 6)

    def test_float_rejected_outright(self) -> None:
        with pytest.raises(InvalidAmount, match="float"):
            to_raw(1.5, 18)  # type: ignore[arg-type]
        with pytest.raises(InvalidAmount, match="float"):
            to_raw(1.0, 18)  # type: ignore[arg-type]

    def test_bool_rejected(self) -> None:
        with pytest.raises(InvalidAmount, match="bool"):
            to_raw(True, 18)

    @pytest.mark.parametrize("bad", [None, [1], b"1", "abc", ""])
    def test_other_types(self, bad: object) -> None:
        with pytest.raises(InvalidAmount):
            to_raw(bad, 18)  # type: ignore[arg-type]

    @pytest.mark.parametrize("decimals", [-1, 256, True, 1.0, "6"])
    def test_bad_decimals(self, decimals: object) -> None:
        with pytest.raises(InvalidAmount, match="decimals"):
            to_raw(Decimal(1), decimals)  # type: ignore[arg-type]

    def test_is_validation_error(self) -> None:
        with pytest.raises(ValidationError):
            to_raw(Decimal(-1), 0)


class TestFromRaw:
    def test_exact(self) -> None:
        assert from_raw(1_500_000_000_000_000_000, 18) == Decimal("1.5")
        assert str(from_raw(1_500_000_000_000_000_000, 18)) == "1.5"
        assert str(from_raw(1_000_000, 6)) == "1"
        assert str(from_raw(0, 18)) == "0"
        assert str(from_raw(100, 0)) == "100"
        assert str(from_raw(1, 18)) == "1E-18"
        big = 2**256 - 1
        assert to_raw(from_raw(big, 18), 18) == big

    @pytest.mark.parametrize("bad", [-1, 1.0, True, "5", Decimal(5)])
    def test_bad_raw(self, bad: object) -> None:
        with pytest.raises(InvalidAmount):
            from_raw(bad, 6)  # type: ignore[arg-type]

    @given(st.integers(min_value=0, max_value=2**256 - 1), st.integers(min_value=0, max_value=80))
    def test_round_trip_from_raw(self, raw: int, decimals: int) -> None:
        assert to_raw(from_raw(raw, decimals), decimals) == raw

    @given(st.integers(min_value=0, max_value=2**256 - 1), st.integers(min_value=0, max_value=80))
    def test_from_raw_strips_trailing_zeros_down_to_units(self, raw: int, decimals: int) -> None:
        value = from_raw(raw, decimals)
        sign, digits, exponent = value.as_tuple()
        assert sign == 0 and isinstance(exponent, int)
        assert int("".join(map(str, digits))) * 10 ** (exponent + decimals) == raw
        if raw == 0:
            assert (digits, exponent) == ((0,), 0)
        else:  # as short as it can be without a positive exponent
            assert digits[0] != 0 and -decimals <= exponent <= 0
            assert exponent == 0 or digits[-1] != 0

    @given(
        st.decimals(
            min_value=0,
            max_value=Decimal(10) ** 40,
            allow_nan=False,
            allow_infinity=False,
            places=18,
        )
    )
    def test_round_trip_to_raw(self, amount: Decimal) -> None:
        assert from_raw(to_raw(amount, 18), 18) == amount

    @given(
        st.decimals(allow_nan=False, allow_infinity=False, min_value=0, max_value=10**9),
        st.integers(min_value=0, max_value=30),
    )
    def test_exact_or_refused(self, amount: Decimal, decimals: int) -> None:
        try:
            raw = to_raw(amount, decimals)
        except InvalidAmount:
            assume(False)  # too precise: refusing is correct
        else:
            assert from_raw(raw, decimals) == amount


class TestToDecimal:
    def test_accepts(self) -> None:
        assert to_decimal(" 1.50 ") == Decimal("1.50")
        assert to_decimal(3) == Decimal(3)
        assert to_decimal(Decimal("-2")) == Decimal(-2)

    def test_message_names_the_field(self) -> None:
        with pytest.raises(InvalidAmount, match="price"):
            to_decimal(1.0, what="price")


def test_exact_sum_beyond_context_precision() -> None:
    values = [Decimal("1E+30"), Decimal("1E-30")]
    assert exact_sum(values) == Decimal("1" + "0" * 30 + "." + "0" * 29 + "1")
    assert sum(values) != exact_sum(values)  # the naive sum rounds
    assert exact_sum([]) == 0


class TestAsset:
    def test_methods(self) -> None:
        assert USDC.to_raw("1.25") == 1_250_000
        assert USDC.from_raw(1) == Decimal("0.000001")
        assert str(USDC) == "USDC"
        assert USDC.amount("2").raw == 2_000_000

    @pytest.mark.parametrize("symbol", ["", "a b", "x" * 33])
    def test_bad_symbol(self, symbol: str) -> None:
        with pytest.raises(ValidationError):
            Asset(symbol, 6)

    def test_bad_decimals(self) -> None:
        with pytest.raises(InvalidAmount):
            Asset("X", -1)

    def test_token(self) -> None:
        tok = Token("USDC", 6, "Ethereum", USDC_ADDR)
        assert tok.platform == "ethereum"
        assert tok.address == "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
        assert tok != Asset("USDC", 6)
        assert asset_from_dict(tok.to_dict()) == tok
        assert asset_from_dict(USDC.to_dict()) == USDC
        assert hash(tok) == hash(Token("USDC", 6, "ethereum", USDC_ADDR.upper().replace("X", "x")))

    def test_token_address_must_fit_chain(self) -> None:
        with pytest.raises(ValidationError, match="not an address on solana"):
            Token("USDC", 6, "solana", USDC_ADDR)
        sol = Token("USDC", 6, "solana", "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
        assert sol.address.to_bytes()
        with pytest.raises(ValidationError, match="not an address on base"):
            Token("X", 6, "base", "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")

    def test_token_on_unregistered_chain(self) -> None:
        assert Token("X", 18, "mychain", USDC_ADDR).platform == "mychain"

    def test_native(self) -> None:
        assert native_asset(get_chain("base")) == Asset("ETH", 18)
        assert native_asset("polygon") == Asset("POL", 18)
        assert native_asset("solana") == Asset("SOL", 9)
        with pytest.raises(ConfigurationError):
            native_asset("binance")


class TestAmount:
    def test_raw_and_str(self) -> None:
        amt = Amount(ETH, Decimal("1.5"))
        assert amt.raw == 1_500_000_000_000_000_000
        assert Amount.from_raw(ETH, amt.raw) == amt
        assert str(amt) == "1.5 ETH"

    def test_validated(self) -> None:
        with pytest.raises(InvalidAmount):
            Amount(USDC, Decimal("0.0000001"))
        with pytest.raises(InvalidAmount):
            Amount(USDC, Decimal("-1"))
        with pytest.raises(InvalidAmount):
            Amount(USDC, 1.0)  # type: ignore[arg-type]

    def test_arithmetic(self) -> None:
        a, b = USDC.amount("1.5"), USDC.amount("0.25")
        assert (a + b).value == Decimal("1.75")
        assert (a - b).value == Decimal("1.25")
        assert b < a and a > b and a >= a and b <= b
        with pytest.raises(InvalidAmount):
            b - a
        with pytest.raises(ValidationError, match="cannot combine"):
            a + ETH.amount(1)
        with pytest.raises(ValidationError):
            _ = a < ETH.amount(1)

    def test_dict_round_trip(self) -> None:
        amt = Amount(Token("USDC", 6, "base", USDC_ADDR), Decimal("3.000001"))
        assert Amount.from_dict(amt.to_dict()) == amt


class TestFee:
    def test_fee(self) -> None:
        fee = Fee.from_raw(ETH, 21_000 * 10**9)
        assert fee.amount == Decimal("0.000021")
        assert str(fee) == "0.000021 ETH"
        assert Fee.from_dict(fee.to_dict()) == fee

    def test_rebate_allowed_float_not(self) -> None:
        assert Fee(USDC, Decimal("-0.01")).amount < 0
        with pytest.raises(InvalidAmount):
            Fee(USDC, 0.01)  # type: ignore[arg-type]
        with pytest.raises(InvalidAmount):
            Fee(USDC, Decimal("NaN"))
