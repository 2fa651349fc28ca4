"""Node error strings: every known wording maps to one kind and one exception class."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainops.core.errors import (
    ChainopsError,
    InsufficientFunds,
    NonceError,
    Rejected,
    Reverted,
    RpcPermanentError,
    RpcTransientError,
)
from chainops.operators.evm.node_errors import (
    DuplicateTransaction,
    Eip1559NotActive,
    ExecutionReverted,
    GasLimitExceeded,
    IntrinsicGasTooLow,
    NodeError,
    NodeErrorKind,
    NodeInsufficientFunds,
    NonceGap,
    NonceTooLow,
    ReplacementUnderpriced,
    Underpriced,
    WrongChainId,
    classify,
    node_error,
    resend_error,
)

K = NodeErrorKind

# Real wordings seen from geth, Anvil, erigon, Nethermind, Besu, Hardhat, OpenEthereum.
CASES: list[tuple[str, NodeErrorKind]] = [
    ("already known", K.DUPLICATE),
    ("transaction already imported", K.DUPLICATE),
    ("Transaction with the same hash was already imported.", K.DUPLICATE),
    ("known transaction: 0x5f3c…", K.DUPLICATE),
    ("Known transaction", K.DUPLICATE),
    ("TRANSACTION_ALREADY_KNOWN", K.DUPLICATE),
    ("AlreadyKnown", K.DUPLICATE),
    ("tx already exists in cache", K.DUPLICATE),
    ("replacement transaction underpriced", K.REPLACEMENT_UNDERPRICED),
    ("REPLACEMENT_UNDERPRICED", K.REPLACEMENT_UNDERPRICED),
    (
        "Transaction gas price is too low. There is another transaction with same nonce "
        "in the queue. Try increasing the gas price or incrementing the nonce.",
        K.REPLACEMENT_UNDERPRICED,
    ),
    ("ReplacementNotAllowed", K.REPLACEMENT_UNDERPRICED),
    ("transaction underpriced", K.UNDERPRICED),
    ("transaction underpriced: tip needed 1, tip permitted 0", K.UNDERPRICED),
    ("max fee per gas less than block base fee", K.UNDERPRICED),
    (
        "max fee per gas less than block base fee: address 0xf39F…, maxFeePerGas: 1, "
        "baseFee: 875000000",
        K.UNDERPRICED,
    ),
    ("fee cap less than block base fee", K.UNDERPRICED),
    ("GAS_PRICE_BELOW_CURRENT_BASE_FEE", K.UNDERPRICED),
    ("FeeTooLow, MaxFeePerGas too low", K.UNDERPRICED),
    ("FeeTooLowToCompete", K.UNDERPRICED),
    ("Transaction gas price too low", K.UNDERPRICED),
    ("nonce too low", K.NONCE_TOO_LOW),
    ("nonce too low: address 0xf39F…, tx: 0 state: 1", K.NONCE_TOO_LOW),
    ("Transaction nonce is too low. Try incrementing the nonce.", K.NONCE_TOO_LOW),
    ("NONCE_TOO_LOW", K.NONCE_TOO_LOW),
    ("OldNonce, Current nonce: 5, nonce of rejected tx: 3", K.NONCE_TOO_LOW),
    ("Nonce too low. Expected nonce to be 4 but got 2.", K.NONCE_TOO_LOW),
    ("nonce too high", K.NONCE_GAP),
    ("Nonce too high. Expected nonce to be 1 but got 5.", K.NONCE_GAP),
    ("nonce too far in the future", K.NONCE_GAP),
    ("NONCE_TOO_FAR_IN_FUTURE_FOR_SENDER", K.NONCE_GAP),
    ("NonceGap, Future nonce. Expected nonce: 3", K.NONCE_GAP),
    ("insufficient funds for gas * price + value", K.INSUFFICIENT_FUNDS),
    ("Insufficient funds for gas * price + value", K.INSUFFICIENT_FUNDS),
    (
        "insufficient funds for gas * price + value: address 0xabc have 0 want 21000",
        K.INSUFFICIENT_FUNDS,
    ),
    ("InsufficientFunds, Account balance: 0, cumulative cost: 21000", K.INSUFFICIENT_FUNDS),
    ("UPFRONT_COST_EXCEEDS_BALANCE", K.INSUFFICIENT_FUNDS),
    ("sender doesn't have enough funds to send tx", K.INSUFFICIENT_FUNDS),
    ("intrinsic gas too low", K.INTRINSIC_GAS),
    ("intrinsic gas too low: have 20000, want 21000", K.INTRINSIC_GAS),
    ("INTRINSIC_GAS_EXCEEDS_GAS_LIMIT", K.INTRINSIC_GAS),
    ("IntrinsicGasTooLow", K.INTRINSIC_GAS),
    ("Transaction gas is too low. There is not enough gas to cover minimal cost", K.INTRINSIC_GAS),
    ("exceeds block gas limit", K.GAS_LIMIT),
    ("tx fee (1.00 ether) exceeds block gas limit", K.GAS_LIMIT),
    ("EXCEEDS_BLOCK_GAS_LIMIT", K.GAS_LIMIT),
    ("intrinsic gas too high -- tx.gas_limit > env.block.gas_limit", K.GAS_LIMIT),
    ("BlockGasLimitExceeded", K.GAS_LIMIT),
    ("execution reverted", K.REVERT),
    ("execution reverted: nope", K.REVERT),
    ("execution reverted: panic: arithmetic underflow or overflow (0x11)", K.REVERT),
    ("Error: VM Exception while processing transaction: reverted with reason string 'x'", K.REVERT),
    ("VM Exception while processing transaction: revert", K.REVERT),
    ("Method not found", K.UNKNOWN),
    ("invalid argument 0: json: cannot unmarshal hex string without 0x prefix", K.UNKNOWN),
    ("transaction type not supported", K.UNKNOWN),
    ("unknown transaction type", K.UNKNOWN),
    ("max priority fee per gas higher than max fee per gas", K.UNKNOWN),
    ("", K.UNKNOWN),
]

# Recorded from Hardhat Network 2.x (EDR) and Ganache 7, word for word.
NODE_MATRIX_CASES: list[tuple[str, NodeErrorKind]] = [
    (
        "Nonce too high. Expected nonce to be 1 but got 2. Note that transactions can't be "
        "queued when automining.",
        K.NONCE_GAP,
    ),
    (
        "Known transaction: 0x15fd04b2cfdd5dd02f27d9c094786dd067d0ab5df74ef8b6dc22518233ee4b59",
        K.DUPLICATE,
    ),
    (
        "Replacement transaction underpriced. A gasPrice/maxFeePerGas of at least 5500000000 "
        "is necessary to replace the existing transaction with nonce 0.",
        K.REPLACEMENT_UNDERPRICED,
    ),
    ("Transaction nonce too low. Expected nonce to be at least 1 but got 0.", K.NONCE_TOO_LOW),
    ("Transaction requires at least 21000 gas but got 20000", K.INTRINSIC_GAS),
    (
        "Trying to send a raw transaction with an invalid chainId. The expected chainId is 31337",
        K.WRONG_CHAIN,
    ),
    ("Invalid chain id (1342) for chain with id 1337.", K.WRONG_CHAIN),
    (
        "the tx doesn't have the correct nonce. account has nonce of: 2 tx has nonce of: 1",
        K.NONCE_TOO_LOW,
    ),
    (
        "eth_feeHistory is disabled. It only works with the London hardfork or a later one.",
        K.NO_EIP1559,
    ),
    ("EIP 1559 is not activated.", K.NO_EIP1559),
    ("transaction underpriced", K.UNDERPRICED),  # Ganache; see test_resend_error
]
CASES += NODE_MATRIX_CASES

CLASS_OF = {
    K.DUPLICATE: DuplicateTransaction,
    K.REPLACEMENT_UNDERPRICED: ReplacementUnderpriced,
    K.UNDERPRICED: Underpriced,
    K.NONCE_TOO_LOW: NonceTooLow,
    K.NONCE_GAP: NonceGap,
    K.INSUFFICIENT_FUNDS: NodeInsufficientFunds,
    K.INTRINSIC_GAS: IntrinsicGasTooLow,
    K.GAS_LIMIT: GasLimitExceeded,
    K.REVERT: ExecutionReverted,
    K.WRONG_CHAIN: WrongChainId,
    K.NO_EIP1559: Eip1559NotActive,
    K.UNKNOWN: NodeError,
}

CORE_OF: dict[NodeErrorKind, type[ChainopsError] | None] = {
    K.DUPLICATE: None,
    K.REPLACEMENT_UNDERPRICED: Rejected,
    K.UNDERPRICED: Rejected,
    K.NONCE_TOO_LOW: NonceError,
    K.NONCE_GAP: NonceError,
    K.INSUFFICIENT_FUNDS: InsufficientFunds,
    K.INTRINSIC_GAS: Rejected,
    K.GAS_LIMIT: Rejected,
    K.REVERT: Reverted,
    K.WRONG_CHAIN: Rejected,
    K.NO_EIP1559: Rejected,
    K.UNKNOWN: None,
}


@pytest.mark.parametrize(("message", "kind"), CASES)
def test_classify_every_known_wording(message: str, kind: NodeErrorKind) -> None:
    assert classify(message) is kind
    assert classify(message.upper()) is kind
    assert classify(message.lower()) is kind


def test_every_kind_has_a_wording_and_a_class() -> None:
    assert {kind for _, kind in CASES} == set(NodeErrorKind)
    assert set(CLASS_OF) == set(NodeErrorKind)


@pytest.mark.parametrize(("message", "kind"), CASES)
def test_node_error_is_the_matching_core_error(message: str, kind: NodeErrorKind) -> None:
    exc = node_error(-32000, message, "0xdead")
    assert type(exc) is CLASS_OF[kind]
    assert exc.kind is kind
    assert isinstance(exc, NodeError)
    assert isinstance(exc, RpcPermanentError)
    assert not isinstance(exc, RpcTransientError)
    assert (exc.code, exc.message, exc.data) == (-32000, message, "0xdead")
    core = CORE_OF[kind]
    if core is not None:
        assert isinstance(exc, core)
    others = {c for c in CORE_OF.values() if c is not None and c is not core}
    assert not any(isinstance(exc, other) for other in others)


@pytest.mark.parametrize(("message", "kind"), NODE_MATRIX_CASES)
def test_hardhat_and_ganache_recorded_messages(message: str, kind: NodeErrorKind) -> None:
    exc = node_error(-32000, message)
    assert exc.kind is kind
    assert type(exc) is CLASS_OF[kind]


def test_resend_error() -> None:
    # Ganache refuses a re-send of bytes it pooled or mined with "transaction underpriced"
    ganache = node_error(-32003, "transaction underpriced")
    known = resend_error(ganache, node_has_tx=True)
    assert isinstance(known, DuplicateTransaction)
    assert (known.code, known.message) == (-32003, "transaction underpriced")
    # the same text for bytes the node does not hold is a real price refusal
    assert resend_error(ganache, node_has_tx=False) is ganache
    mined = node_error(
        -32000, "Transaction nonce too low. Expected nonce to be at least 1 but got 0."
    )
    assert isinstance(resend_error(mined, node_has_tx=True), DuplicateTransaction)
    assert resend_error(mined, node_has_tx=False) is mined
    dup = node_error(-32000, "Known transaction: 0xab")
    assert resend_error(dup, node_has_tx=False) is dup


def test_replacement_wins_over_plain_underpriced() -> None:
    assert classify("replacement transaction underpriced") is K.REPLACEMENT_UNDERPRICED
    assert classify("transaction underpriced") is K.UNDERPRICED


def test_unknown_transaction_is_not_a_duplicate() -> None:
    assert classify("unknown transaction") is K.UNKNOWN
    assert classify("known transaction") is K.DUPLICATE


def test_revert_code_without_words_is_a_revert() -> None:
    assert classify("", 3) is K.REVERT
    assert classify("something odd", 3) is K.REVERT
    assert classify("something odd", -32000) is K.UNKNOWN
    # The message wins over the code when it is specific.
    assert classify("nonce too low", 3) is K.NONCE_TOO_LOW


def test_revert_reason_and_data() -> None:
    data = "0x08c379a0" + "00" * 64
    exc = node_error(3, "execution reverted: nope", data)
    assert isinstance(exc, ExecutionReverted)
    assert exc.reason == "nope"
    assert exc.data == data
    assert str(exc) == "execution reverted: nope (code 3)"
    hardhat = node_error(None, "reverted with reason string 'too little'")
    assert isinstance(hardhat, ExecutionReverted)
    assert hardhat.reason == "too little"
    bare = node_error(3, "execution reverted", "0x")
    assert isinstance(bare, ExecutionReverted)
    assert bare.reason is None


def test_str_without_code() -> None:
    assert str(node_error(None, "nonce too low")) == "nonce too low"


@pytest.mark.parametrize(("message", "kind"), CASES[::7])
def test_node_errors_pickle(message: str, kind: NodeErrorKind) -> None:
    exc = node_error(-32003, message, {"x": 1})
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is type(exc)
    assert (back.code, back.message, back.data, str(back)) == (
        exc.code,
        exc.message,
        exc.data,
        str(exc),
    )


@given(
    index=st.integers(0, len(CASES) - 1),
    prefix=st.text(alphabet="abcdefghij -:", max_size=12),
    suffix=st.text(alphabet="0123456789 :,", max_size=12),
    flips=st.lists(st.booleans(), min_size=200, max_size=200),
)
def test_classify_ignores_case_and_surrounding_text(
    index: int, prefix: str, suffix: str, flips: list[bool]
) -> None:
    message, kind = CASES[index]
    if kind is K.UNKNOWN:
        return
    mixed = "".join(c.upper() if f else c.lower() for c, f in zip(message, flips, strict=False))
    mixed += message[len(flips) :]
    # A prefix may not turn "known transaction" into "unknown transaction".
    assert classify(f"{prefix.rstrip('n')} {mixed} {suffix}") is kind
