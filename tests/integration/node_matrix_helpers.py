"""Shared pieces of the node matrix tests: development keys, operators, raw sends."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_account import Account

from chainops.devnet.node import DEFAULT_MNEMONIC, LocalNode
from chainops.operators.base import OperatorFactory
from chainops.operators.evm import EvmOperator

Account.enable_unaudited_hdwallet_features()

CHAIN_ID = 31337
TRANSFER = Decimal("0.001")
WEI = 10**18


def dev_key(index: int) -> str:
    """The private key of development account ``index`` (same on every node)."""
    account = Account.from_mnemonic(DEFAULT_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
    return "0x" + bytes(account.key).hex()


def dev_address(index: int) -> str:
    return str(Account.from_key(dev_key(index)).address)


def operator(node: LocalNode[Any], index: int, journal: Path, **options: Any) -> EvmOperator:
    op = OperatorFactory.create(
        "devnet",
        cache=False,
        rpc_url=node.url,
        private_key=dev_key(index),
        journal_path=journal,
        **options,
    )
    assert isinstance(op, EvmOperator)
    return op


def chain_nonce(node: LocalNode[Any], address: str, tag: str = "latest") -> int:
    return int(node.rpc("eth_getTransactionCount", [address, tag]), 16)


def balance(node: LocalNode[Any], address: str) -> int:
    return int(node.rpc("eth_getBalance", [address, "latest"]), 16)


def send_foreign(
    node: LocalNode[Any], index: int, nonce: int, *, to: str, fee_gwei: int = 50
) -> str:
    """Sign and send a transfer with the same key outside the operator (a second wallet)."""
    tx = {
        "chainId": CHAIN_ID,
        "nonce": nonce,
        "to": to,
        "value": 1,
        "gas": 21_000,
        "maxFeePerGas": fee_gwei * 10**9,
        "maxPriorityFeePerGas": fee_gwei * 10**9,
        "type": 2,
    }
    signed = Account.sign_transaction(tx, dev_key(index))
    return str(node.rpc("eth_sendRawTransaction", ["0x" + bytes(signed.raw_transaction).hex()]))


def receipt(node: LocalNode[Any], tx_hash: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = node.rpc("eth_getTransactionReceipt", [tx_hash])
    return found


def wait_receipt(node: LocalNode[Any], tx_hash: str) -> dict[str, Any]:
    for _ in range(500):  # automine: the receipt lands a moment after the send returns
        found = receipt(node, tx_hash)
        if found is not None:
            return found
        time.sleep(0.01)
    raise AssertionError(f"{tx_hash} was not mined")


# Runtime code PUSH1 0 PUSH1 0 REVERT, returned by its init code: every call reverts.
ALWAYS_REVERTS_INIT = "0x6460006000fd6000526005601bf3"
