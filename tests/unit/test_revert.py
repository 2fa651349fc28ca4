"""Revert data decoding on hand-built payloads, and extraction from client errors."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi.abi import encode
from eth_utils.crypto import keccak
from hypothesis import given
from hypothesis import strategies as st
from web3.exceptions import (
    ContractCustomError,
    ContractLogicError,
    ContractPanicError,
    Web3RPCError,
)

from chainops.core.errors import ChainopsError, Reverted, ValidationError
from chainops.operators.evm.revert import (
    ERROR_SELECTOR,
    PANIC_CODES,
    PANIC_SELECTOR,
    RevertInfo,
    decode_revert,
    error_signature,
    revert_from_rpc_error,
    reverted_error,
)

INSUFFICIENT = {
    "type": "error",
    "name": "InsufficientThing",
    "inputs": [
        {"name": "have", "type": "uint256", "internalType": "uint256"},
        {"name": "want", "type": "uint256", "internalType": "uint256"},
    ],
}
COMPLEX = {
    "type": "error",
    "name": "Rejected",
    "inputs": [
        {"name": "who", "type": "address"},
        {
            "name": "order",
            "type": "tuple",
            "components": [{"name": "id", "type": "bytes32"}, {"name": "tag", "type": "string"}],
        },
        {"name": "", "type": "int8[]"},
    ],
}
NO_ARGS = {"type": "error", "name": "Paused", "inputs": []}
ABI: list[dict[str, Any]] = [
    {"type": "function", "name": "succeed", "inputs": [{"name": "v", "type": "uint256"}]},
    INSUFFICIENT,
    COMPLEX,
    NO_ARGS,
    {"type": "event", "name": "Succeeded", "inputs": []},
]


def error_data(reason: str) -> bytes:
    return ERROR_SELECTOR + encode(["string"], [reason])


def panic_data(code: int) -> bytes:
    return PANIC_SELECTOR + encode(["uint256"], [code])


def custom_data(signature: str, types: list[str], args: list[Any]) -> bytes:
    return keccak(text=signature)[:4] + encode(types, args)


def test_selectors_are_the_standard_ones() -> None:
    assert keccak(text="Error(string)")[:4] == ERROR_SELECTOR
    assert keccak(text="Panic(uint256)")[:4] == PANIC_SELECTOR
    assert error_signature(INSUFFICIENT) == "InsufficientThing(uint256,uint256)"
    assert error_signature(COMPLEX) == "Rejected(address,(bytes32,string),int8[])"
    assert error_signature(NO_ARGS) == "Paused()"


@pytest.mark.parametrize("as_hex", [False, True])
def test_error_string(as_hex: bool) -> None:
    data = error_data("insufficient balance")
    info = decode_revert("0x" + data.hex() if as_hex else data)
    assert info.kind == "error" and info.reason == "insufficient balance"
    assert info.selector == "0x08c379a0" and info.args == ("insufficient balance",)
    assert info.name == "Error" and info.data == data


def test_error_string_unicode_and_empty() -> None:
    assert decode_revert(error_data("zu wenig €")).reason == "zu wenig €"
    empty = decode_revert(error_data(""))
    assert empty.kind == "error" and empty.reason == ""


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (0x01, "assert"),
        (0x11, "overflow"),
        (0x12, "division or modulo by zero"),
        (0x21, "enum"),
        (0x22, "storage"),
        (0x31, "pop"),
        (0x32, "out of bounds"),
        (0x41, "memory"),
        (0x51, "zero"),
    ],
)
def test_panic_codes(code: int, text: str) -> None:
    info = decode_revert(panic_data(code))
    assert info.kind == "panic" and info.panic_code == code and info.args == (code,)
    assert info.reason.startswith(f"Panic(0x{code:02x}): ")
    assert text in info.reason and info.reason.endswith(PANIC_CODES[code])


def test_panic_reason_text_and_unknown_code() -> None:
    assert decode_revert(panic_data(0x12)).reason == "Panic(0x12): division or modulo by zero"
    odd = decode_revert(panic_data(0x99))
    assert odd.kind == "panic" and odd.reason == "Panic(0x99): unknown panic code"
    assert decode_revert(panic_data(0x100)).reason.startswith("Panic(0x100)")


def test_custom_error_from_the_abi() -> None:
    data = custom_data("InsufficientThing(uint256,uint256)", ["uint256", "uint256"], [1, 2])
    info = decode_revert(data, ABI)
    assert info.kind == "custom" and info.reason == "InsufficientThing(have=1, want=2)"
    assert info.selector == "0x2067310d" and info.args == (1, 2)
    assert info.name == "InsufficientThing" and info.panic_code is None


def test_custom_error_with_tuples_arrays_addresses_and_unnamed_params() -> None:
    who = "0x" + "ab" * 20
    data = custom_data(
        "Rejected(address,(bytes32,string),int8[])",
        ["address", "(bytes32,string)", "int8[]"],
        [who, (b"\x01" * 32, 'say "hi"'), [-1, 2]],
    )
    info = decode_revert(data, ABI)
    assert info.kind == "custom"
    checksum = "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"
    assert info.reason == (
        f'Rejected(who={checksum}, order=(0x{"01" * 32}, "say \\"hi\\""), [-1, 2])'
    )
    assert decode_revert(custom_data("Paused()", [], []), ABI).reason == "Paused()"


def test_unknown_selector_stays_readable() -> None:
    data = custom_data("InsufficientThing(uint256,uint256)", ["uint256", "uint256"], [1, 2])
    for abi in (None, [], [NO_ARGS]):
        info = decode_revert(data, abi)
        assert info.kind == "unknown" and info.selector == "0x2067310d"
        assert info.reason.startswith("unknown revert data 0x2067310d")
        assert info.reason.endswith("(68 bytes)")
    short = decode_revert("0x1234")
    assert short.kind == "unknown" and short.reason == "unknown revert data 0x1234"
    assert short.selector is None


def test_corrupt_standard_payloads_are_unknown_not_exceptions() -> None:
    assert decode_revert(ERROR_SELECTOR + b"\x00" * 7).kind == "unknown"
    assert decode_revert(PANIC_SELECTOR).kind == "unknown"
    # the right selector with arguments that do not decode falls through to unknown
    bad = keccak(text="InsufficientThing(uint256,uint256)")[:4] + b"\x01"
    assert decode_revert(bad, ABI).kind == "unknown"
    bad_utf8 = ERROR_SELECTOR + encode(["bytes"], [b"\xff\xfe"])
    assert decode_revert(bad_utf8).kind == "unknown"


@pytest.mark.parametrize("empty", [None, b"", "0x", "", "0X"])
def test_empty_data(empty: bytes | str | None) -> None:
    info = decode_revert(empty)
    assert info == RevertInfo(kind="empty", reason="execution reverted (no data)")


def test_non_hex_text_and_wrong_types() -> None:
    info = decode_revert("not hex at all")
    assert info.kind == "unknown" and "not hex at all" in info.reason
    with pytest.raises(ValidationError):
        decode_revert(12)  # type: ignore[arg-type]


@given(st.binary(max_size=200))
def test_decode_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    info = decode_revert(data, ABI)
    assert info.kind in {"error", "panic", "custom", "empty", "unknown"}
    assert isinstance(info.reason, str) and info.reason


@given(st.text(max_size=100))
def test_error_strings_round_trip(reason: str) -> None:
    assert decode_revert(error_data(reason)).reason == reason


# --- from client errors ------------------------------------------------------------------------

ANVIL_CUSTOM = custom_data("InsufficientThing(uint256,uint256)", ["uint256", "uint256"], [1, 2])


def test_web3_contract_errors() -> None:
    data = "0x" + error_data("nope").hex()
    info = revert_from_rpc_error(ContractLogicError("execution reverted: nope", data))
    assert info is not None and info.kind == "error" and info.reason == "nope"
    panic = revert_from_rpc_error(
        ContractPanicError("Panic error 0x12: Division by zero.", "0x" + panic_data(0x12).hex())
    )
    assert panic is not None and panic.reason == "Panic(0x12): division or modulo by zero"
    hex_custom = "0x" + ANVIL_CUSTOM.hex()
    custom = revert_from_rpc_error(ContractCustomError(hex_custom, hex_custom), ABI)
    assert custom is not None and custom.reason == "InsufficientThing(have=1, want=2)"
    bare = revert_from_rpc_error(ContractLogicError("execution reverted", "0x"))
    assert bare is not None and bare.kind == "empty"


def test_web3_error_without_data_uses_the_message() -> None:
    info = revert_from_rpc_error(ContractLogicError("execution reverted: too late", None))
    assert info is not None and info.kind == "error" and info.reason == "too late"
    assert info.data == b""
    nothing = revert_from_rpc_error(ContractLogicError(None, None))
    assert nothing is not None and nothing.kind == "empty"
    # CCIP-read errors carry a dict, not bytes
    lookup = revert_from_rpc_error(ContractLogicError("execution reverted", {"sender": "0x"}))
    assert lookup is not None and lookup.kind == "empty"


def test_anvil_error_objects() -> None:
    hex_data = "0x" + error_data("insufficient balance").hex()
    error = {"code": 3, "message": "execution reverted: insufficient balance", "data": hex_data}
    info = revert_from_rpc_error(error)
    assert info is not None and info.kind == "error" and info.reason == "insufficient balance"
    response = {"jsonrpc": "2.0", "id": 1, "error": error}
    assert revert_from_rpc_error(response) == info
    # Anvil prints a custom error's raw bytes in the message; the data decodes it
    custom = {
        "code": 3,
        "message": "execution reverted: " + ANVIL_CUSTOM.decode("latin-1"),
        "data": "0x" + ANVIL_CUSTOM.hex(),
    }
    decoded = revert_from_rpc_error(custom, ABI)
    assert decoded is not None and decoded.reason == "InsufficientThing(have=1, want=2)"
    bare = revert_from_rpc_error({"code": 3, "message": "execution reverted", "data": "0x"})
    assert bare is not None and bare.kind == "empty"
    unreadable = revert_from_rpc_error({"code": 3, "message": custom["message"]})
    assert unreadable is not None and unreadable.kind == "empty"


def test_other_node_shapes() -> None:
    nested = {
        "code": -32603,
        "message": "Error: reverted",
        "data": {"data": "0x" + panic_data(1).hex()},
    }
    info = revert_from_rpc_error(nested)
    assert info is not None and info.kind == "panic" and info.panic_code == 1
    by_hash = {
        "code": -32000,
        "message": "VM Exception while processing transaction: revert",
        "data": {"0x" + "11" * 32: {"error": "revert", "return": "0x" + error_data("x").hex()}},
    }
    found = revert_from_rpc_error(by_hash)
    assert found is not None and found.reason == "x"
    legacy = ValueError({"code": 3, "message": "execution reverted: old", "data": "0x"})
    old = revert_from_rpc_error(legacy)
    # no data, but the message still names the reason
    assert old is not None and old.kind == "error" and old.reason == "old"
    text = revert_from_rpc_error("execution reverted: plain text")
    assert text is not None and text.reason == "plain text"


def test_web3_rpc_error_with_response() -> None:
    response: Any = {
        "jsonrpc": "2.0",
        "id": 1,
        "error": {
            "code": 3,
            "message": "execution reverted",
            "data": "0x" + panic_data(0x11).hex(),
        },
    }
    info = revert_from_rpc_error(Web3RPCError("execution reverted", rpc_response=response))
    assert info is not None and info.panic_code == 0x11


@pytest.mark.parametrize(
    "error",
    [
        {"code": -32000, "message": "insufficient funds for gas * price + value"},
        {"code": -32003, "message": "transaction already imported"},
        {"jsonrpc": "2.0", "id": 1, "error": {"code": -32000, "message": "nonce too low"}},
        ValueError({"code": -32000, "message": "replacement transaction underpriced"}),
        Web3RPCError("nonce too low", rpc_response={"jsonrpc": "2.0", "id": 1,
                                                   "error": {"code": -32000,
                                                             "message": "nonce too low"}}),
        TimeoutError("timed out"),
        ChainopsError("something else"),
        "insufficient funds",
        None,
        42,
    ],
)  # fmt: skip
def test_not_a_revert(error: object) -> None:
    assert revert_from_rpc_error(error) is None


def test_reverted_error() -> None:
    info = decode_revert(error_data("insufficient balance"))
    error = reverted_error(info)
    assert isinstance(error, Reverted) and isinstance(error, ChainopsError)
    assert error.reason == "insufficient balance"
    assert str(error) == "execution reverted: insufficient balance"
    empty = reverted_error(decode_revert(None))
    assert str(empty) == "execution reverted (no data)"
    assert empty.reason == "execution reverted (no data)"
    custom = reverted_error(decode_revert(ANVIL_CUSTOM, ABI))
    assert custom.reason == "InsufficientThing(have=1, want=2)"
