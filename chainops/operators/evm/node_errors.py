"""Classify JSON-RPC error messages from EVM nodes and map each class to one action.

Nodes disagree on wording (geth, Anvil, erigon, Nethermind, Besu, Hardhat, Ganache,
OpenEthereum),
so :func:`classify` matches known fragments case-insensitively, and :func:`node_error`
turns an error response into an exception that is both a :class:`NodeError` and, where
one exists, the matching core error (so ``except NonceError`` catches a node's
"nonce too low").

=======================  ======================  =================  ==========================
kind                     class                   also a             action
=======================  ======================  =================  ==========================
DUPLICATE                DuplicateTransaction    --                 treat as submitted (the
                                                                    hash is keccak(raw))
REPLACEMENT_UNDERPRICED  ReplacementUnderpriced  Rejected           bump >=10% on tip and cap,
                                                                    retry once; else bump from
                                                                    the pooled tx's prices
UNDERPRICED              Underpriced             Rejected           re-price from a fresh base
                                                                    fee
NONCE_TOO_LOW            NonceTooLow             NonceError         check receipts of all our
                                                                    attempts, then the chain
                                                                    nonce; never blind-retry
NONCE_GAP                NonceGap                NonceError         short retry, then fill the
                                                                    gap
INSUFFICIENT_FUNDS       NodeInsufficientFunds   InsufficientFunds  fail fast; fill the nonce
                                                                    if already consumed
INTRINSIC_GAS            IntrinsicGasTooLow      Rejected           fail fast (gas limit below
                                                                    the tx's base cost)
GAS_LIMIT                GasLimitExceeded        Rejected           fail fast (gas limit above
                                                                    the block's)
REVERT                   ExecutionReverted       Reverted           fail fast; decode the
                                                                    reason from ``data``
WRONG_CHAIN              WrongChainId            Rejected           fail fast (signed for
                                                                    another chain)
NO_EIP1559               Eip1559NotActive        Rejected           the chain is legacy:
                                                                    price with ``gasPrice``
UNKNOWN                  NodeError               --                 surface as a permanent RPC
                                                                    error
=======================  ======================  =================  ==========================

The message alone does not always tell: Ganache answers a re-send of bytes it already
holds with "transaction underpriced". :func:`resend_error` reads an error on a re-send
together with what the node says about the hash: if it has the transaction, any refusal
means "known".
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, ClassVar

from chainops.core.errors import (
    InsufficientFunds,
    NonceError,
    Rejected,
    Reverted,
    RpcPermanentError,
)

__all__ = [
    "DuplicateTransaction",
    "Eip1559NotActive",
    "ExecutionReverted",
    "GasLimitExceeded",
    "IntrinsicGasTooLow",
    "NodeError",
    "NodeErrorKind",
    "NodeInsufficientFunds",
    "NonceGap",
    "NonceTooLow",
    "ReplacementUnderpriced",
    "Underpriced",
    "WrongChainId",
    "classify",
    "node_error",
    "resend_error",
]

# geth and Anvil answer a revert of eth_call / eth_estimateGas with this code.
REVERT_CODE = 3


class NodeErrorKind(StrEnum):
    """What a node's error message says about the request."""

    DUPLICATE = "duplicate"
    REPLACEMENT_UNDERPRICED = "replacement_underpriced"
    UNDERPRICED = "underpriced"
    NONCE_TOO_LOW = "nonce_too_low"
    NONCE_GAP = "nonce_gap"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    INTRINSIC_GAS = "intrinsic_gas"
    GAS_LIMIT = "gas_limit"
    REVERT = "revert"
    WRONG_CHAIN = "wrong_chain"
    NO_EIP1559 = "no_eip1559"
    UNKNOWN = "unknown"


# Checked in this order: "replacement transaction underpriced" must win over
# "transaction underpriced", and "intrinsic gas too high" (Anvil's block-gas-limit
# wording) must not read as an intrinsic-gas failure.
_PATTERNS: tuple[tuple[NodeErrorKind, re.Pattern[str]], ...] = tuple(
    (kind, re.compile("|".join(fragments), re.IGNORECASE))
    for kind, fragments in (
        (
            NodeErrorKind.DUPLICATE,
            (
                r"already known",  # geth, erigon
                r"already imported",  # Anvil, OpenEthereum
                r"(?<!un)known transaction",  # geth (old), Besu
                r"transaction_already_known",  # Besu
                r"\balreadyknown\b",  # Nethermind
                r"tx already exists in cache",  # cosmos-evm
            ),
        ),
        (
            NodeErrorKind.REPLACEMENT_UNDERPRICED,
            (
                r"replacement transaction underpriced",  # geth, Anvil, erigon
                r"replacement[_ ]underpriced",  # Besu
                r"another transaction with (the )?same nonce",  # OpenEthereum
                r"\breplacementnotallowed\b",  # Nethermind
            ),
        ),
        (
            NodeErrorKind.UNDERPRICED,
            (
                r"transaction underpriced",  # geth
                r"fee per gas less than block base fee",  # geth, Anvil
                r"fee cap less than block base fee",  # geth (older)
                r"gas_price_below_current_base_fee",  # Besu
                r"\bfeetoolow",  # Nethermind FeeTooLow / FeeTooLowToCompete
                r"gas price (is )?too low",  # OpenEthereum, Hardhat
                r"max fee per gas too low",
            ),
        ),
        (
            NodeErrorKind.NONCE_TOO_LOW,
            (
                r"nonce too low",  # geth, Anvil, erigon, Hardhat
                r"doesn't have the correct nonce",  # Ganache (it queues higher nonces)
                r"nonce is too low",  # OpenEthereum
                r"nonce_too_low",  # Besu
                r"\boldnonce\b",  # Nethermind
            ),
        ),
        (
            NodeErrorKind.NONCE_GAP,
            (
                r"nonce too high",  # geth, Hardhat
                r"nonce is too high",
                r"nonce too far in the future",
                r"nonce_too_far_in_future",  # Besu
                r"nonce_too_high",
                r"\bnoncegap\b",  # Nethermind
            ),
        ),
        (
            NodeErrorKind.INSUFFICIENT_FUNDS,
            (
                r"insufficient funds",  # geth, Anvil, erigon, OpenEthereum
                r"\binsufficientfunds\b",  # Nethermind
                r"upfront_cost_exceeds_balance",  # Besu
                r"doesn't have enough funds",  # Hardhat
            ),
        ),
        (
            NodeErrorKind.GAS_LIMIT,
            (
                r"exceeds block gas limit",  # geth, erigon
                r"exceeds_block_gas_limit",  # Besu
                r"intrinsic gas too high",  # Anvil
                r"gas_limit > env\.block\.gas_limit",  # Anvil/revm
                r"\bblockgaslimitexceeded\b",  # Nethermind
            ),
        ),
        (
            NodeErrorKind.INTRINSIC_GAS,
            (
                r"intrinsic gas too low",  # geth, Anvil, erigon
                r"intrinsic_gas_exceeds_gas_limit",  # Besu
                r"\bintrinsicgastoolow\b",  # Nethermind
                r"not enough gas to cover minimal cost",  # OpenEthereum
                r"requires at least \d+ gas but got",  # Hardhat
            ),
        ),
        (
            NodeErrorKind.WRONG_CHAIN,
            (
                r"invalid chain ?id",  # Hardhat "invalid chainId", Ganache "Invalid chain id"
                r"chain ?id mismatch",
            ),
        ),
        (
            NodeErrorKind.NO_EIP1559,
            (
                r"eip.?1559 is not activated",  # Ganache before London
                r"eth_feeHistory is disabled",  # Hardhat before London
                r"eip.?1559 not (yet )?(active|enabled|supported)",
            ),
        ),
        (
            NodeErrorKind.REVERT,
            (
                r"execution reverted",  # geth, Anvil, erigon, Besu
                r"\breverted\b",  # Hardhat "reverted with reason string", Nethermind
                r"vm exception while processing transaction: revert",  # Ganache
            ),
        ),
    )
)


def classify(message: str, code: int | None = None) -> NodeErrorKind:
    """The kind of a node's error ``message`` (``code`` 3 alone means a revert)."""
    for kind, pattern in _PATTERNS:
        if pattern.search(message):
            return kind
    if code == REVERT_CODE:
        return NodeErrorKind.REVERT
    return NodeErrorKind.UNKNOWN


# geth and Anvil: "execution reverted: <reason>"; Hardhat: "reverted with reason string '<r>'".
_REASON = re.compile(r"execution reverted:\s*(.+)|reverted with reason string '(.*)'", re.S)


class NodeError(RpcPermanentError):
    """A JSON-RPC error response: the node refused the request itself."""

    kind: ClassVar[NodeErrorKind] = NodeErrorKind.UNKNOWN

    def __init__(self, code: int | None, message: str, data: Any = None) -> None:
        super().__init__(message if code is None else f"{message} (code {code})")
        self.code = code
        self.message = message
        self.data = data

    def __reduce__(self) -> tuple[Any, ...]:
        # The formatted text is not the constructor's signature; pickle the parts.
        return (type(self), (self.code, self.message, self.data))


class DuplicateTransaction(NodeError):
    """The node already has these exact bytes: the send has succeeded before."""

    kind = NodeErrorKind.DUPLICATE


class ReplacementUnderpriced(NodeError, Rejected):
    """A transaction with this nonce is pooled and ours does not outbid it enough."""

    kind = NodeErrorKind.REPLACEMENT_UNDERPRICED


class Underpriced(NodeError, Rejected):
    """The fee is below the pool's minimum or the block's base fee."""

    kind = NodeErrorKind.UNDERPRICED


class NonceTooLow(NodeError, NonceError):
    """The nonce is already used on chain (perhaps by one of our own attempts)."""

    kind = NodeErrorKind.NONCE_TOO_LOW


class NonceGap(NodeError, NonceError):
    """The nonce is ahead of the account's next nonce; an earlier one is missing."""

    kind = NodeErrorKind.NONCE_GAP


class NodeInsufficientFunds(NodeError, InsufficientFunds):
    """The sender cannot pay gas * fee cap + value."""

    kind = NodeErrorKind.INSUFFICIENT_FUNDS


class IntrinsicGasTooLow(NodeError, Rejected):
    """The gas limit does not cover the transaction's intrinsic cost."""

    kind = NodeErrorKind.INTRINSIC_GAS


class GasLimitExceeded(NodeError, Rejected):
    """The gas limit is above the block gas limit."""

    kind = NodeErrorKind.GAS_LIMIT


class ExecutionReverted(NodeError, Reverted):
    """The call reverted; ``reason`` is the node's text, ``data`` the raw revert data."""

    kind = NodeErrorKind.REVERT

    def __init__(self, code: int | None, message: str, data: Any = None) -> None:
        super().__init__(code, message, data)
        found = _REASON.search(message)
        self.reason: str | None = found.group(1) or found.group(2) if found else None


class WrongChainId(NodeError, Rejected):
    """The transaction was signed for another chain id than the node's."""

    kind = NodeErrorKind.WRONG_CHAIN


class Eip1559NotActive(NodeError, Rejected):
    """The chain runs a pre-London hardfork: no base fee, no type-2 transactions."""

    kind = NodeErrorKind.NO_EIP1559


ERROR_CLASSES: dict[NodeErrorKind, type[NodeError]] = {
    cls.kind: cls
    for cls in (
        NodeError,
        DuplicateTransaction,
        ReplacementUnderpriced,
        Underpriced,
        NonceTooLow,
        NonceGap,
        NodeInsufficientFunds,
        IntrinsicGasTooLow,
        GasLimitExceeded,
        ExecutionReverted,
        WrongChainId,
        Eip1559NotActive,
    )
}


def node_error(code: int | None, message: str, data: Any = None) -> NodeError:
    """The exception for a JSON-RPC error object, typed by :func:`classify`."""
    return ERROR_CLASSES[classify(message, code)](code, message, data)


def resend_error(exc: NodeError, *, node_has_tx: bool) -> NodeError:
    """What a node's refusal of bytes we sent before means.

    ``node_has_tx``: the node returns the transaction by its hash (pooled or mined).
    Then any refusal says "known" (Ganache: "transaction underpriced"; a nonce-too-low
    for our own mined bytes), and the send has succeeded.
    """
    if node_has_tx and exc.kind is not NodeErrorKind.DUPLICATE:
        return DuplicateTransaction(exc.code, exc.message, exc.data)
    return exc


def core_error(exc: BaseException) -> BaseException:
    """The core error a node error stands for (what callers catch and what the journal
    can rebuild); other exceptions pass through."""
    if not isinstance(exc, NodeError):
        return exc
    for core in (InsufficientFunds, NonceError, Reverted, Rejected):
        if isinstance(exc, core):
            return core(str(exc))
    return exc
