"""The exit codes of every ``chainops`` command, and the one error -> code mapping.

====  =====================================================================
0     success (also: nothing to do, e.g. no fees owed)
1     bad input or configuration; nothing was sent
2     command-line usage error (unknown option, missing argument)
3     the RPC node or venue is unreachable or failing
4     the operation failed: reverted, rejected (by an exchange too), replaced, dropped,
      expired
5     outcome not known yet (still pending at the timeout)
6     authentication: wrong keystore password, bad API key or signature
10    declined at the confirmation prompt, or no terminal to confirm on (stdin closed,
      no --yes); nothing was sent
130   interrupted (Ctrl-C) while waiting; the operation may still complete
====  =====================================================================

The README's table is this one.
"""

from __future__ import annotations

import sys
from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chainops.core.errors import ChainopsError


class ExitCode(IntEnum):
    """The documented exit codes."""

    OK = 0
    ERROR = 1
    USAGE = 2
    RPC = 3
    FAILED = 4
    UNKNOWN_OUTCOME = 5
    AUTH = 6
    DECLINED = 10
    INTERRUPTED = 130


def exit_code(exc: ChainopsError) -> ExitCode:
    """The code for ``exc``: the first row of the table its class belongs to."""
    from chainops.core import errors

    table: tuple[tuple[tuple[type[ChainopsError], ...], ExitCode], ...] = (
        ((errors.AuthenticationError,), ExitCode.AUTH),
        # caught before anything executed (a simulation, a balance check): bad input
        ((errors.InsufficientFunds, errors.SlippageExceeded), ExitCode.ERROR),
        # before RpcError: a send whose outcome is unknown is pending, not a node failure
        ((errors.UnknownOutcome,), ExitCode.UNKNOWN_OUTCOME),
        # before RpcError: a node's "replacement underpriced" is a refusal of the operation
        ((errors.Reverted, errors.Rejected), ExitCode.FAILED),
        ((errors.RpcError,), ExitCode.RPC),
    )
    if _refused_by_venue(exc):
        return ExitCode.FAILED
    for classes, code in table:
        if isinstance(exc, classes):
            return code
    if type(exc).__name__ == "TransactionExpired":  # Solana's blockhash expiry, a failure
        return ExitCode.FAILED
    return ExitCode.ERROR


def _refused_by_venue(exc: ChainopsError) -> bool:
    """An exchange's own refusal of a request it received (e.g. -2010 insufficient balance):
    the operation reached the venue and failed, unlike a local check."""
    from chainops.core import errors

    # loaded by every exchange command; when it is not, no exchange error can exist
    venue = sys.modules.get("chainops.operators.exchanges.errors")
    if venue is None or not isinstance(exc, venue.VenueError):
        return False
    refusals = (errors.InsufficientFunds, errors.RpcPermanentError)
    return isinstance(exc, refusals) and not isinstance(exc, errors.AuthenticationError)
