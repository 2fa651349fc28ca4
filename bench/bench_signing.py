"""Transaction signing: LocalSigner (fast path) against eth-account's sign_transaction."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import coincurve
import rlp
from eth_account import Account
from eth_hash.auto import keccak
from eth_keys import keys
from eth_keys.backends import NativeECCBackend

from bench.harness import Result, per_second
from chainops.operators.evm import fastsign
from chainops.operators.evm.signer import LocalSigner

N = 2_000
N_PURE_PYTHON = 40
KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
TO = "0xF0109fC8DF283027b6285cc889F5aA624EaC1F55"
TRANSFER = bytes.fromhex("a9059cbb" + "00" * 12 + TO[2:].lower() + f"{10**18:064x}")


def _transactions(count: int) -> list[dict[str, Any]]:
    """ERC-20 transfers as the operator builds them: type 2, ints and bytes."""
    return [
        {
            "type": 2,
            "chainId": 1,
            "nonce": nonce,
            "maxPriorityFeePerGas": 10**9,
            "maxFeePerGas": 35 * 10**9 + nonce,
            "gas": 65_000,
            "to": TO,
            "value": 0,
            "data": TRANSFER,
        }
        for nonce in range(count)
    ]


def _ms_per_tx(sign: Callable[[dict[str, Any]], object], n: int, repeats: int = 5) -> float:
    txs = itertools.cycle(_transactions(256))
    return 1000.0 / per_second(lambda: sign(next(txs)), n, repeats)


def _with_rlp_package(tx: dict[str, Any], key: coincurve.PrivateKey) -> tuple[bytes, bytes]:
    """The fast path with the `rlp` package doing the encoding, to compare encoders."""
    to = bytes.fromhex(tx["to"][2:])
    fields = [
        tx["chainId"],
        tx["nonce"],
        tx["maxPriorityFeePerGas"],
        tx["maxFeePerGas"],
        tx["gas"],
        to,
        tx["value"],
        tx["data"],
        [],
    ]
    sig = key.sign_recoverable(keccak(b"\x02" + rlp.encode(fields)), hasher=None)
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big")
    raw = b"\x02" + rlp.encode([*fields, sig[64], r, s])
    return raw, keccak(raw)


def run() -> list[Result]:
    signer = LocalSigner.from_key(KEY)
    account = Account.from_key(KEY)
    native_key = keys.PrivateKey(KEY, backend=NativeECCBackend())
    fast_key = coincurve.PrivateKey(KEY)
    sample = _transactions(1)[0]

    reference = account.sign_transaction(sample)
    identical = (
        signer.sign(sample).raw
        == bytes(reference.raw_transaction)
        == _with_rlp_package(sample, fast_key)[0]
        == bytes(Account.sign_transaction(sample, native_key).raw_transaction)
    )
    details = {
        "byte_identical_to_eth_account": identical,
        "eth_account_backend": type(keys.PrivateKey(KEY).backend).__name__,
        "fastsign_only_ms_per_tx": _ms_per_tx(
            lambda tx: fastsign.sign_transaction(tx, fast_key), N
        ),
        "fast_path_with_rlp_package_ms_per_tx": _ms_per_tx(
            lambda tx: _with_rlp_package(tx, fast_key), N
        ),
        "eth_account_pure_python_backend_ms_per_tx": _ms_per_tx(
            lambda tx: Account.sign_transaction(tx, native_key), N_PURE_PYTHON, repeats=3
        ),
        "transaction": "type 2, ERC-20 transfer calldata (68 bytes), chain 1",
    }
    return [
        Result(
            name="sign_transaction",
            unit="ms/tx",
            ours=_ms_per_tx(signer.sign, N),
            baseline=_ms_per_tx(account.sign_transaction, N // 4),
            baseline_name="eth-account LocalAccount.sign_transaction (coincurve backend)",
            higher_is_better=False,
            details=details,
        )
    ]
