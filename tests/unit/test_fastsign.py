"""The fast signer must match eth-account byte for byte, or decline."""

from __future__ import annotations

from typing import Any

import coincurve
import pytest
import rlp
from eth_account import Account
from eth_keys import keys
from eth_keys.backends import NativeECCBackend
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from hypothesis import given, settings
from hypothesis import strategies as st

from chainops.operators.evm import fastsign

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
UINT256_MAX = 2**256 - 1
KEY = bytes.fromhex("46" * 32)
ADDRESS = Account.from_key(KEY).address
TO = "0x3535353535353535353535353535353535353535"
MIXED_CASE = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"

# EIP-155's own example: key 0x46..46, nonce 9, 20 gwei, 1 ether to 0x35..35 on chain 1.
EIP155_RAW = bytes.fromhex(
    "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a7640000"
    "8025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f"
    "761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"
)


def _eip155_tx() -> dict[str, Any]:
    return {
        "chainId": 1,
        "nonce": 9,
        "gasPrice": 20 * 10**9,
        "gas": 21000,
        "to": TO,
        "value": 10**18,
        "data": b"",
    }


def _type2_tx(**changes: Any) -> dict[str, Any]:
    tx: dict[str, Any] = {
        "type": 2,
        "chainId": 31337,
        "nonce": 7,
        "maxPriorityFeePerGas": 10**9,
        "maxFeePerGas": 30 * 10**9,
        "gas": 60_000,
        "to": TO,
        "value": 12345,
        "data": bytes(range(100)),
    }
    tx.update(changes)
    return tx


def _fast(tx: dict[str, Any], key: bytes = KEY, sender: str | None = None) -> tuple[bytes, bytes]:
    result = fastsign.sign_transaction(tx, coincurve.PrivateKey(key), sender=sender)
    assert result is not None, "fast path declined a supported transaction"
    return result


def _reference(tx: dict[str, Any], key: bytes = KEY) -> tuple[bytes, bytes]:
    signed = Account.sign_transaction(tx, key)
    return bytes(signed.raw_transaction), bytes(signed.hash)


# -- RLP ---------------------------------------------------------------------------------


@given(st.binary(max_size=300))
def test_encode_bytes_matches_rlp(data: bytes) -> None:
    assert fastsign.encode_bytes(data) == rlp.encode(data)


@given(st.integers(min_value=0, max_value=2**512))
def test_encode_int_matches_rlp(value: int) -> None:
    assert fastsign.encode_int(value) == rlp.encode(value)


@given(st.lists(st.binary(max_size=80), max_size=8))
def test_encode_list_matches_rlp(items: list[bytes]) -> None:
    payload = b"".join(fastsign.encode_bytes(item) for item in items)
    assert fastsign.encode_list(payload) == rlp.encode(items)


def test_long_lengths_take_several_length_bytes() -> None:
    for size in (55, 56, 255, 256, 65_535, 65_536):
        data = b"\xab" * size
        assert fastsign.encode_bytes(data) == rlp.encode(data)
        assert fastsign.encode_list(fastsign.encode_bytes(data)) == rlp.encode([data])


# -- fixed vectors -----------------------------------------------------------------------


def test_eip155_vector() -> None:
    raw, tx_hash = _fast(_eip155_tx())
    assert raw == EIP155_RAW
    assert tx_hash == keccak(EIP155_RAW)
    assert (raw, tx_hash) == _reference(_eip155_tx())


def test_type2_vector_matches_both_eth_keys_backends() -> None:
    tx = _type2_tx()
    native = Account.sign_transaction(tx, keys.PrivateKey(KEY, backend=NativeECCBackend()))
    assert _fast(tx) == _reference(tx) == (bytes(native.raw_transaction), bytes(native.hash))
    assert _fast(tx)[0][:1] == b"\x02"


def test_legacy_vector_matches_pure_python_backend() -> None:
    tx = dict(_eip155_tx(), chainId=31337, data=b"\x00" * 57)
    native = Account.sign_transaction(tx, keys.PrivateKey(KEY, backend=NativeECCBackend()))
    assert _fast(tx) == (bytes(native.raw_transaction), bytes(native.hash))


@pytest.mark.parametrize(
    "changes",
    [
        {"to": None},
        {"to": b""},
        {"to": ""},
        {"to": bytes.fromhex(TO[2:])},
        {"to": MIXED_CASE},
        {"to": HexBytes(MIXED_CASE)},
        {"to": HexBytes(b"")},
        {"data": HexBytes("0xdeadbeef")},
        {"data": bytearray(b"\x01\x02")},
        {"accessList": []},
        {"accessList": ()},
        {"type": "0x2"},
        {"type": "0x02"},
        {"value": 0, "data": b"", "nonce": 0},
        {"value": UINT256_MAX, "maxFeePerGas": UINT256_MAX, "gas": UINT256_MAX},
        {"chainId": 1},
        {"chainId": 2**64 - 1},
    ],
    ids=repr,
)
def test_type2_shapes(changes: dict[str, Any]) -> None:
    tx = _type2_tx(**changes)
    assert _fast(tx) == _reference(tx)


def test_type2_inferred_without_type_field() -> None:
    tx = _type2_tx()
    del tx["type"]
    assert _fast(tx) == _reference(tx)


def test_contract_creation_legacy() -> None:
    tx = dict(_eip155_tx(), data=b"\x60\x80" * 200)
    del tx["to"]
    assert _fast(tx) == _reference(tx)


def test_from_field_only_when_it_is_the_sender() -> None:
    tx = _type2_tx(**{"from": ADDRESS})
    assert _fast(tx, sender=ADDRESS) == _reference(tx)
    key = coincurve.PrivateKey(KEY)
    assert fastsign.sign_transaction(tx, key) is None
    assert fastsign.sign_transaction(tx, key, sender=TO) is None


def test_signature_is_low_s_and_recovers_the_sender() -> None:
    for nonce in range(40):
        raw, _ = _fast(_type2_tx(nonce=nonce))
        fields = rlp.decode(raw[1:])
        y_parity, s = fields[9], int.from_bytes(fields[11], "big")
        assert y_parity in (b"", b"\x01")
        assert 0 < s <= SECP256K1_N // 2
        assert Account.recover_transaction(raw) == ADDRESS


# -- declines ----------------------------------------------------------------------------


DECLINED: dict[str, dict[str, Any]] = {
    "access list": _type2_tx(accessList=[{"address": TO, "storageKeys": []}]),
    "type 1": _type2_tx(type=1),
    "type 3": _type2_tx(type=3),
    "type 4": _type2_tx(type=4),
    "type True": _type2_tx(type=True),
    "type 0X2": _type2_tx(type="0X2"),
    "hex nonce": _type2_tx(nonce="0x7"),
    "bool value": _type2_tx(value=True),
    "negative value": _type2_tx(value=-1),
    "value 2**256": _type2_tx(value=2**256),
    "float gas": _type2_tx(gas=21000.0),
    "hex data": _type2_tx(data="0x1234"),
    "memoryview data": _type2_tx(data=memoryview(b"ab")),
    "lower-case to": _type2_tx(to=MIXED_CASE.lower()),
    "unprefixed to": _type2_tx(to=MIXED_CASE[2:]),
    "19-byte to": _type2_tx(to=b"\x35" * 19),
    "bytearray to": _type2_tx(to=bytearray(bytes.fromhex(TO[2:]))),
    "empty bytearray to": _type2_tx(to=bytearray()),
    "gasPrice with fee caps": _type2_tx(gasPrice=1),
    "blob field": _type2_tx(maxFeePerBlobGas=1),
    "chainId None": _type2_tx(chainId=None),
    "no tip": {k: v for k, v in _type2_tx().items() if k != "maxPriorityFeePerGas"},
    "legacy with access list": dict(_eip155_tx(), accessList=[]),
    "legacy chainId None": dict(_eip155_tx(), chainId=None),
    "legacy without chainId": {k: v for k, v in _eip155_tx().items() if k != "chainId"},
    "legacy without gas": {k: v for k, v in _eip155_tx().items() if k != "gas"},
    "type 0": dict(_eip155_tx(), type=0),
    "unknown key": dict(_eip155_tx(), extra=1),
}


@pytest.mark.parametrize("case", DECLINED)
def test_declines_what_it_does_not_cover(case: str) -> None:
    assert fastsign.sign_transaction(DECLINED[case], coincurve.PrivateKey(KEY)) is None


# -- properties --------------------------------------------------------------------------

keys_st = st.integers(min_value=1, max_value=SECP256K1_N - 1).map(lambda k: k.to_bytes(32, "big"))
uint256 = st.integers(min_value=0, max_value=UINT256_MAX)
small = st.integers(min_value=0, max_value=2**64 - 1)
chain_ids = st.one_of(
    st.sampled_from([1, 10, 137, 31337, 11155111, 2**32 - 1, 2**64 - 1]),
    st.integers(min_value=1, max_value=UINT256_MAX),
)
addresses = st.binary(min_size=20, max_size=20)
recipients = st.one_of(
    addresses,
    addresses.map(lambda raw: to_checksum_address(raw)),
    st.sampled_from([None, b""]),
)


@settings(max_examples=300)
@given(
    key=keys_st,
    chain_id=chain_ids,
    nonce=small,
    tip=uint256,
    fee_cap=uint256,
    gas=small,
    to=recipients,
    value=uint256,
    data=st.binary(max_size=300),
    explicit_type=st.booleans(),
)
def test_type2_matches_eth_account(
    key: bytes,
    chain_id: int,
    nonce: int,
    tip: int,
    fee_cap: int,
    gas: int,
    to: bytes | str | None,
    value: int,
    data: bytes,
    explicit_type: bool,
) -> None:
    tx: dict[str, Any] = {
        "chainId": chain_id,
        "nonce": nonce,
        "maxPriorityFeePerGas": tip,
        "maxFeePerGas": fee_cap,
        "gas": gas,
        "to": to,
        "value": value,
        "data": data,
    }
    if explicit_type:
        tx["type"] = 2
    assert _fast(tx, key) == _reference(tx, key)


@settings(max_examples=300)
@given(
    key=keys_st,
    chain_id=chain_ids,
    nonce=small,
    gas_price=uint256,
    gas=small,
    to=recipients,
    value=uint256,
    data=st.binary(max_size=300),
)
def test_legacy_matches_eth_account(
    key: bytes,
    chain_id: int,
    nonce: int,
    gas_price: int,
    gas: int,
    to: bytes | str | None,
    value: int,
    data: bytes,
) -> None:
    tx: dict[str, Any] = {
        "chainId": chain_id,
        "nonce": nonce,
        "gasPrice": gas_price,
        "gas": gas,
        "to": to,
        "value": value,
        "data": data,
    }
    assert _fast(tx, key) == _reference(tx, key)
