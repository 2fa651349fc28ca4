"""Checks of the numbers and instructions a Solana send takes, before anything is signed."""

from __future__ import annotations

from collections.abc import Sequence

from solders.instruction import Instruction

from chainops.core.errors import InvalidAmount, ValidationError

__all__ = ["U64_MAX", "check_decimals", "check_instructions", "check_u64", "positive_units"]

U64_MAX = 2**64 - 1
_U8_MAX = 255


def _integer(value: object, what: str, error: type[ValidationError]) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise error(f"{what} must be an int, not {type(value).__name__} ({value!r})")
    return value


def check_u64(value: object, what: str, error: type[ValidationError] = ValidationError) -> int:
    """``value`` as an int within 0..2**64-1 (a u64 on chain); bool and float refused."""
    number = _integer(value, what, error)
    if not 0 <= number <= U64_MAX:
        raise error(f"{what} must be within 0..{U64_MAX}, got {number}")
    return number


def positive_units(units: int, what: str = "amount") -> int:
    """Raw units of a transfer or mint: above zero and within a u64."""
    if units <= 0:
        raise InvalidAmount(f"{what} must be positive")
    if units > U64_MAX:
        raise InvalidAmount(f"{what} is too large: {units} raw units exceed a u64 ({U64_MAX})")
    return units


def check_decimals(decimals: object) -> int:
    """A mint's decimals: an int within 0..255 (a u8 on chain)."""
    number = _integer(decimals, "decimals", ValidationError)
    if not 0 <= number <= _U8_MAX:
        raise ValidationError(f"decimals must be within 0..{_U8_MAX}, got {number}")
    return number


def check_instructions(instructions: object) -> Sequence[Instruction]:
    """A non-empty sequence of solders ``Instruction`` objects."""
    if isinstance(instructions, str | bytes) or not isinstance(instructions, Sequence):
        raise ValidationError(
            f"instructions must be a list of Instruction, not {type(instructions).__name__}"
        )
    if not instructions:
        raise ValidationError("a transaction needs at least one instruction")
    for ix in instructions:
        if not isinstance(ix, Instruction):
            raise ValidationError(
                f"instructions must be solders Instruction objects, not {type(ix).__name__}"
            )
    return instructions
