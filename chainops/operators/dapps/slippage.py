"""Slippage as a typed basis-point value: never a float, never a bare number of unclear unit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from chainops.core.errors import ValidationError

BPS_DENOMINATOR = 10_000
# 50 %: anything above is almost always a unit mistake (0.5 meant as 50 %), so it needs force.
MAX_BPS_UNFORCED = 5_000
_TEXT = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(%|bps?|)\s*$", re.IGNORECASE)


class SlippageOutOfRange(ValidationError):
    """A slippage outside 0-50 % (without ``force``) or outside 0-100 %."""


@dataclass(frozen=True, order=True)
class Bps:
    """A tolerance in basis points: ``Bps(50)`` is 0.5 %."""

    value: int

    def __post_init__(self) -> None:
        if not isinstance(self.value, int) or isinstance(self.value, bool):
            raise ValidationError(
                f"basis points must be an int, got {type(self.value).__name__}; "
                'use Bps.parse("0.5%") for percentages'
            )
        if not 0 <= self.value < BPS_DENOMINATOR:
            raise SlippageOutOfRange(f"slippage must be 0-100 % (0-9999 bps), got {self.value}")

    @classmethod
    def parse(cls, text: str | Decimal | int | Bps) -> Bps:
        """``"0.5%"``, ``"50bps"``, ``"50"`` (bps), ``Decimal("0.5")`` (percent) or an int (bps)."""
        if isinstance(text, Bps):
            return text
        if isinstance(text, bool | float):
            raise ValidationError(f"slippage must not be a {type(text).__name__}")
        if isinstance(text, int):
            return cls(text)
        if isinstance(text, Decimal):
            return cls.from_percent(text)
        match = _TEXT.match(str(text))
        if not match:
            raise ValidationError(f"cannot read slippage {text!r}; write e.g. 0.5% or 50bps")
        number, unit = match.groups()
        if unit == "%":
            return cls.from_percent(Decimal(number))
        try:
            bps = Decimal(number)
        except InvalidOperation:
            raise ValidationError(f"cannot read slippage {text!r}") from None
        if bps != bps.to_integral_value():
            raise ValidationError(f"basis points must be whole, got {text!r}")
        return cls(int(bps))

    @classmethod
    def from_percent(cls, percent: Decimal) -> Bps:
        bps = percent * 100
        if bps != bps.to_integral_value():
            raise ValidationError(f"slippage {percent}% is finer than one basis point")
        return cls(int(bps))

    def check(self, *, force: bool = False) -> Bps:
        """Refuse above 50 % unless ``force``: a guard against unit mix-ups."""
        if self.value > MAX_BPS_UNFORCED and not force:
            raise SlippageOutOfRange(
                f"slippage {self.percent}% is above 50 %; pass force=True if you mean it"
            )
        return self

    @property
    def percent(self) -> Decimal:
        return Decimal(self.value) / 100

    def min_out(self, expected: int) -> int:
        """The least output accepted (rounded down)."""
        return expected * (BPS_DENOMINATOR - self.value) // BPS_DENOMINATOR

    def max_in(self, expected: int) -> int:
        """The most input accepted (rounded up)."""
        return -(-expected * (BPS_DENOMINATOR + self.value) // BPS_DENOMINATOR)

    def __str__(self) -> str:
        return f"{self.percent.normalize():f}%"


DEFAULT_SLIPPAGE = Bps(50)  # 0.5 %: the usual interface default for liquid pairs
