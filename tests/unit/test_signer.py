"""LocalSigner: key sources, key secrecy, and signatures identical to eth-account's."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from chainops.core.errors import AuthenticationError, ConfigurationError, ValidationError
from chainops.core.ids import EvmAddress, TxHash
from chainops.operators.evm.signer import LocalSigner, SignedTx

KEY_HEX = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
KEY = bytes.fromhex(KEY_HEX)
ADDRESS = Account.from_key(KEY).address
TO = "0xF0109fC8DF283027b6285cc889F5aA624EaC1F55"
ENV = "CHAINOPS_TEST_SIGNER_KEY"


def _type2(**changes: Any) -> dict[str, Any]:
    tx: dict[str, Any] = {
        "type": 2,
        "chainId": 31337,
        "nonce": 3,
        "maxPriorityFeePerGas": 10**9,
        "maxFeePerGas": 2 * 10**10,
        "gas": 21_000,
        "to": TO,
        "value": 10**18,
        "data": b"",
    }
    tx.update(changes)
    return tx


def _secret_forms() -> list[str]:
    return [KEY_HEX, KEY_HEX.upper(), KEY_HEX[:16], repr(KEY)[2:-1]]


def _assert_no_secret(text: str) -> None:
    for form in _secret_forms():
        assert form not in text


def _reference(tx: dict[str, Any]) -> SignedTx:
    signed = Account.sign_transaction(tx, KEY)
    return SignedTx(raw=bytes(signed.raw_transaction), hash=TxHash(bytes(signed.hash)))


@pytest.fixture
def signer() -> LocalSigner:
    return LocalSigner.from_key(KEY)


# -- key sources -------------------------------------------------------------------------


@pytest.mark.parametrize("key", [KEY, KEY_HEX, "0x" + KEY_HEX], ids=["bytes", "hex", "0x-hex"])
def test_from_key_forms(key: str | bytes) -> None:
    signer = LocalSigner.from_key(key)
    assert signer.address == ADDRESS
    assert isinstance(signer.address, EvmAddress)


@pytest.mark.parametrize(
    "bad",
    [KEY_HEX[:-2], KEY_HEX + "00", "0x" + "zz" * 32, b"\x00" * 32, b"\xff" * 32, KEY[:31], ""],
    ids=["short", "long", "not hex", "zero", "above order", "31 bytes", "empty"],
)
def test_invalid_key_is_a_validation_error_without_the_key(bad: str | bytes) -> None:
    with pytest.raises(ValidationError) as info:
        LocalSigner.from_key(bad)
    text = str(info.value) + repr(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    if bad:
        assert (bad if isinstance(bad, str) else bad.hex()) not in text


def test_keystore_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    # pbkdf2 with few iterations keeps the test fast; the format is the same.
    path.write_text(json.dumps(Account.encrypt(KEY, "s3cret", kdf="pbkdf2", iterations=1000)))
    signer = LocalSigner.from_keystore(path, "s3cret")
    assert signer.address == ADDRESS
    assert signer.sign(_type2()) == _reference(_type2())


def test_keystore_scrypt(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(Account.encrypt(KEY, "pw", kdf="scrypt", iterations=2**4)))
    assert LocalSigner.from_keystore(str(path), "pw").address == ADDRESS


def test_keystore_wrong_password(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(Account.encrypt(KEY, "right", kdf="pbkdf2", iterations=1000)))
    with pytest.raises(AuthenticationError) as info:
        LocalSigner.from_keystore(path, "wrong")
    assert "wrong" in str(info.value)
    _assert_no_secret(str(info.value))


def test_keystore_missing_or_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        LocalSigner.from_keystore(tmp_path / "absent.json", "pw")
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    with pytest.raises(ConfigurationError):
        LocalSigner.from_keystore(garbage, "pw")


@pytest.mark.parametrize("content", [{}, [], {"version": 3}], ids=["empty", "list", "no crypto"])
def test_keystore_malformed(tmp_path: Path, content: object) -> None:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ConfigurationError):
        LocalSigner.from_keystore(path, "pw")


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, f"  0x{KEY_HEX}\n")
    assert LocalSigner.from_env(ENV).address == ADDRESS


def test_from_env_default_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINOPS_PRIVATE_KEY", KEY_HEX)
    assert LocalSigner.from_env().address == ADDRESS


@pytest.mark.parametrize("value", [None, ""], ids=["unset", "empty"])
def test_from_env_missing(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv(ENV, raising=False)
    else:
        monkeypatch.setenv(ENV, value)
    with pytest.raises(ConfigurationError, match=ENV):
        LocalSigner.from_env(ENV)


def test_from_env_invalid_value_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, KEY_HEX[:-1] + "g")
    with pytest.raises(ValidationError) as info:
        LocalSigner.from_env(ENV)
    assert KEY_HEX[:-1] not in str(info.value)


# -- secrecy -----------------------------------------------------------------------------


def test_key_not_in_repr_or_str(signer: LocalSigner) -> None:
    for text in (repr(signer), str(signer), f"{signer}", f"{signer!r}"):
        assert ADDRESS in text
        _assert_no_secret(text)


def test_no_instance_dict(signer: LocalSigner) -> None:
    with pytest.raises(AttributeError):
        _ = signer.__dict__


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickling_refused(signer: LocalSigner, protocol: int) -> None:
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(signer, protocol=protocol)


def test_copying_refused(signer: LocalSigner) -> None:
    for clone in (copy.copy, copy.deepcopy):
        with pytest.raises(TypeError):
            clone(signer)
    with pytest.raises(TypeError):
        signer.__getstate__()


def test_signing_errors_do_not_carry_the_key(signer: LocalSigner) -> None:
    for tx in (_type2(**{"from": TO}), _type2(type=9), _type2(chainId=None)):
        with pytest.raises(Exception) as info:
            signer.sign(tx)
        _assert_no_secret(str(info.value) + repr(info.value))


# -- signing -----------------------------------------------------------------------------


@pytest.mark.parametrize("chain_id", [None, 0, ""], ids=["None", "zero", "empty"])
def test_chain_id_required(signer: LocalSigner, chain_id: object) -> None:
    with pytest.raises(ValidationError, match="chain id"):
        signer.sign(_type2(chainId=chain_id))
    tx = _type2()
    del tx["chainId"]
    with pytest.raises(ValidationError, match="chain id"):
        signer.sign(tx)


def test_operator_shaped_transaction_takes_the_fast_path(
    signer: LocalSigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    tx = _type2(**{"from": EvmAddress(ADDRESS), "to": EvmAddress(TO), "data": b"\xa9\x05"})
    expected = _reference({k: v for k, v in tx.items() if k != "from"})

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("eth-account was used for a fast-path transaction")

    monkeypatch.setattr(LocalAccount, "sign_transaction", refuse)
    signed = signer.sign(tx)
    assert signed == expected
    assert isinstance(signed.hash, TxHash)
    assert isinstance(signed.raw, bytes)


def test_legacy_takes_the_fast_path(signer: LocalSigner, monkeypatch: pytest.MonkeyPatch) -> None:
    tx = {"chainId": 1, "nonce": 0, "gasPrice": 10**9, "gas": 21_000, "to": TO, "value": 1}
    expected = _reference(tx)
    monkeypatch.setattr(LocalAccount, "sign_transaction", None)
    assert signer.sign(tx) == expected


@pytest.mark.parametrize(
    "tx",
    [
        _type2(accessList=[{"address": TO, "storageKeys": ["0x" + "00" * 32]}]),
        _type2(nonce="0x3", value="0xde0b6b3a7640000", data="0xa9059cbb"),
        _type2(chainId="0x7a69"),
        {
            "type": 1,
            "chainId": 1,
            "nonce": 0,
            "gasPrice": 10**9,
            "gas": 30_000,
            "to": TO,
            "value": 0,
            "data": b"",
            "accessList": [],
        },
    ],
    ids=["access list", "hex strings", "hex chain id", "type 1"],
)
def test_other_shapes_fall_back_to_eth_account(signer: LocalSigner, tx: dict[str, Any]) -> None:
    assert signer.sign(tx) == _reference(tx)


def test_wrong_from_is_refused_as_eth_account_does(signer: LocalSigner) -> None:
    with pytest.raises(TypeError, match="from field must match"):
        signer.sign(_type2(**{"from": TO}))


def test_sign_does_not_mutate_the_request(signer: LocalSigner) -> None:
    tx = _type2(**{"from": ADDRESS})
    before = dict(tx)
    signer.sign(tx)
    assert tx == before
