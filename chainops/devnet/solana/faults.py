"""The error dialect of a Solana validator's RPC: codes, and errors shown as it shows them.

Codes are the validator's (``-32002`` preflight failure, ``-32003`` signature
verification failure, ``-32004`` block not available, ``-32007`` slot skipped,
``-32008`` no snapshot, ``-32009`` long-term storage, ``-32015`` unsupported
transaction version, ``-32016`` minimum context slot not reached, ``-32602`` invalid
params); messages render a ``TransactionError`` the way the runtime's ``Display``
does ("Transaction simulation failed: Blockhash not found").
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "BLOCK_NOT_AVAILABLE",
    "MIN_CONTEXT_SLOT_NOT_REACHED",
    "NO_SNAPSHOT",
    "PREFLIGHT_FAILURE",
    "SIGNATURE_VERIFICATION_FAILURE",
    "SLOT_SKIPPED",
    "UNSUPPORTED_TRANSACTION_VERSION",
    "RpcFault",
    "describe",
    "invalid_params",
    "min_context_slot_not_reached",
    "preflight_failure",
]

PREFLIGHT_FAILURE = -32002
SIGNATURE_VERIFICATION_FAILURE = -32003
BLOCK_NOT_AVAILABLE = -32004
SLOT_SKIPPED = -32007
NO_SNAPSHOT = -32008
UNSUPPORTED_TRANSACTION_VERSION = -32015
MIN_CONTEXT_SLOT_NOT_REACHED = -32016
INVALID_PARAMS = -32602

_TRANSACTION_ERRORS = {
    "AccountInUse": "Account in use",
    "AccountLoadedTwice": "Account loaded twice",
    "AccountNotFound": "Attempt to debit an account but found no record of a prior credit.",
    "ProgramAccountNotFound": "Attempt to load a program that does not exist",
    "InsufficientFundsForFee": "Insufficient funds for fee",
    "InvalidAccountForFee": "This account may not be used to pay transaction fees",
    "AlreadyProcessed": "This transaction has already been processed",
    "BlockhashNotFound": "Blockhash not found",
    "CallChainTooDeep": "Loader call chain is too deep",
    "MissingSignatureForFee": "Transaction requires a fee but has no signature present",
    "InvalidAccountIndex": "Transaction contains an invalid account reference",
    "SignatureFailure": "Transaction did not pass signature verification",
    "InvalidProgramForExecution": "This program may not be used for executing instructions",
    "SanitizeFailure": "Transaction failed to sanitize accounts offsets correctly",
    "AddressLookupTableNotFound": ("Transaction loads an address table account that doesn't exist"),
    "InvalidAddressLookupTableIndex": "Transaction address table lookup uses an invalid index",
    "UnsupportedVersion": "Transaction version is unsupported",
}
_INSTRUCTION_ERRORS = {
    "GenericError": "generic instruction error",
    "InvalidArgument": "invalid program argument",
    "InvalidInstructionData": "invalid instruction data",
    "InvalidAccountData": "invalid account data for instruction",
    "AccountDataTooSmall": "account data too small for instruction",
    "InsufficientFunds": "insufficient funds for instruction",
    "IncorrectProgramId": "incorrect program id for instruction",
    "MissingRequiredSignature": "missing required signature for instruction",
    "AccountAlreadyInitialized": "instruction requires an uninitialized account",
    "UninitializedAccount": "instruction requires an initialized account",
    "ExternalAccountLamportSpend": (
        "instruction spent from the balance of an account it does not own"
    ),
    "ReadonlyLamportChange": "instruction changed the balance of a read-only account",
    "ReadonlyDataModified": "instruction modified data of a read-only account",
    "ComputationalBudgetExceeded": "Computational budget exceeded",
    "ProgramFailedToComplete": "Program failed to complete",
    "InvalidSeeds": "Provided seeds do not result in a valid address",
    "NotEnoughAccountKeys": "insufficient account keys for instruction",
    "AccountNotExecutable": "instruction expected an executable account",
    "InvalidAccountOwner": "Invalid account owner",
}


class RpcFault(Exception):
    """A JSON-RPC error reply."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def invalid_params(message: str) -> RpcFault:
    return RpcFault(INVALID_PARAMS, message)


def min_context_slot_not_reached(context_slot: int) -> RpcFault:
    """The answer when the slot read at is older than the caller's ``minContextSlot``."""
    return RpcFault(
        MIN_CONTEXT_SLOT_NOT_REACHED,
        "Minimum context slot has not been reached",
        {"contextSlot": context_slot},
    )


def _instruction_error(err: Any) -> str:
    if isinstance(err, dict) and "Custom" in err:
        return f"custom program error: {int(err['Custom']):#x}"
    if isinstance(err, dict) and "BorshIoError" in err:
        return f"Failed to serialize or deserialize account data: {err['BorshIoError']}"
    if isinstance(err, str):
        return _INSTRUCTION_ERRORS.get(err, err)
    return json_text(err)


def json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def describe(err: Any) -> str:
    """A runtime error in the words the validator uses for it."""
    if isinstance(err, str):
        return _TRANSACTION_ERRORS.get(err, err)
    if isinstance(err, dict) and "InstructionError" in err:
        index, inner = err["InstructionError"]
        return f"Error processing Instruction {index}: {_instruction_error(inner)}"
    if isinstance(err, dict) and "InsufficientFundsForRent" in err:
        index = err["InsufficientFundsForRent"].get("account_index")
        return f"Transaction results in an account ({index}) with insufficient funds for rent"
    if isinstance(err, dict) and "DuplicateInstruction" in err:
        return (
            f"Transaction contains a duplicate instruction ({err['DuplicateInstruction']}) "
            "that is not allowed"
        )
    return json_text(err)


def preflight_failure(err: Any, logs: list[str], units: int | None) -> RpcFault:
    """``sendTransaction``'s answer when its simulation fails (the simulation rides along)."""
    return RpcFault(
        PREFLIGHT_FAILURE,
        f"Transaction simulation failed: {describe(err)}",
        {
            "err": err,
            "logs": logs,
            "accounts": None,
            "unitsConsumed": units,
            "returnData": None,
            "innerInstructions": None,
        },
    )
