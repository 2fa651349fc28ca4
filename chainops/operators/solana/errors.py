"""Typed Solana failures, and readable descriptions of the runtime's transaction errors.

A transaction error arrives in its JSON form (``"AccountNotFound"``,
``{"InstructionError": [2, {"Custom": 1}]}``), the same from the RPC and from
LiteSVM, so one function explains both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chainops.core.errors import ChainopsError, InsufficientFunds, Reverted, ValidationError

__all__ = [
    "InsufficientBalance",
    "SimulationFailed",
    "TokenAccountMissing",
    "TransactionExpired",
    "TransactionFailed",
    "describe_error",
    "is_insufficient_funds",
]

# spl-token TokenError, by code (Token-2022 keeps the same first codes)
_TOKEN_ERRORS = {
    0: "lamport balance below rent-exempt threshold",
    1: "insufficient funds",
    2: "invalid mint",
    3: "account not associated with this mint",
    4: "owner does not match",
    5: "fixed supply",
    6: "account already in use",
    9: "state is uninitialized",
    12: "invalid instruction",
    13: "invalid state",
    14: "operation overflowed",
    17: "account is frozen",
    18: "the provided decimals value differs from the mint's",
}
# system program SystemError, by code
_SYSTEM_ERRORS = {
    0: "account already in use",
    1: "insufficient lamports",
    2: "cannot assign account to this program id",
    3: "invalid account data length",
}
_INSUFFICIENT = {
    "InsufficientFundsForFee",
    "InsufficientFundsForRent",
    "AccountNotFound",  # the fee payer does not exist: it holds nothing
}


def _custom(err: Any) -> tuple[int, int] | None:
    """(instruction index, custom code) of an InstructionError with a Custom code."""
    if isinstance(err, dict) and "InstructionError" in err:
        index, inner = err["InstructionError"]
        if isinstance(inner, dict) and "Custom" in inner:
            return int(index), int(inner["Custom"])
    return None


def describe_error(err: Any, programs: Sequence[str] | None = None) -> str:
    """A readable line for a transaction error; ``programs`` names each instruction's program."""
    if err is None:
        return "ok"
    if isinstance(err, str):
        return err
    if isinstance(err, dict) and "InstructionError" in err:
        index, inner = err["InstructionError"]
        program = programs[index] if programs and 0 <= index < len(programs) else None
        where = f"instruction {index}" + (f" ({program})" if program else "")
        if isinstance(inner, dict) and "Custom" in inner:
            code = int(inner["Custom"])
            text = None
            if program and program.startswith("Token"):
                text = _TOKEN_ERRORS.get(code)
            elif program == "11111111111111111111111111111111":
                text = _SYSTEM_ERRORS.get(code)
            return f"{where}: custom program error {code:#x}" + (f" ({text})" if text else "")
        return f"{where}: {inner}"
    return str(err)


def is_insufficient_funds(err: Any, programs: Sequence[str] | None = None) -> bool:
    """True for errors that mean the payer lacks lamports or the source lacks tokens."""
    if isinstance(err, str):
        return err in _INSUFFICIENT
    if isinstance(err, dict) and ("InsufficientFundsForRent" in err):
        return True
    custom = _custom(err)
    if custom is None or not programs or not 0 <= custom[0] < len(programs):
        return False
    program = programs[custom[0]]
    if program.startswith("Token"):
        return custom[1] == 1
    return program == "11111111111111111111111111111111" and custom[1] == 1


class _WithLogs:
    err: Any
    logs: list[str]

    def _attach(self, err: Any, logs: Sequence[str]) -> None:
        self.err = err
        self.logs = list(logs)


class SimulationFailed(Reverted, _WithLogs):
    """The simulation failed: nothing was signed for sending, nothing was sent.

    ``err`` is the runtime's error (JSON form), ``logs`` the program logs.
    """

    def __init__(self, message: str, err: Any = None, logs: Sequence[str] = ()) -> None:
        super().__init__(message, reason=describe_error(err))
        self._attach(err, logs)


class InsufficientBalance(SimulationFailed, InsufficientFunds):
    """The simulation says the payer lacks lamports or the source lacks tokens."""


class TransactionFailed(Reverted, _WithLogs):
    """The transaction landed with an error (fees were charged); ``logs`` say why."""

    def __init__(self, message: str, err: Any = None, logs: Sequence[str] = ()) -> None:
        super().__init__(message, reason=describe_error(err))
        self._attach(err, logs)


class TransactionExpired(ChainopsError):
    """Its blockhash passed the last valid block height without it landing: it never will."""


class TokenAccountMissing(ValidationError):
    """The recipient has no token account and creating one was not allowed."""
