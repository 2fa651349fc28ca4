"""Bad input to the EVM operator's own arguments: typed errors naming what is wrong."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from core_factories import SENDER, make_attempt, make_receipt, make_tx

from chainops.abis import load_abi
from chainops.core.attempt import FeeParams
from chainops.core.errors import ValidationError
from chainops.core.priority import Priority
from chainops.core.transaction import Transaction, TxState, TxUpdate
from chainops.operators.evm.checks import (
    block_param,
    check_above_base_fee,
    check_deadline,
    check_fees,
    own_transaction,
)
from chainops.operators.evm.requests import ContractHandle, build_request, check_priority

WETH = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
FRIEND = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


@pytest.mark.parametrize("bad", ["soon", True, math.nan, math.inf, -math.inf, 0, -1, 0.0, [5]])
def test_deadline_must_be_positive_finite_seconds(bad: Any) -> None:
    with pytest.raises(ValidationError, match=r"^deadline must be "):
        check_deadline(bad)


def test_good_deadlines_pass() -> None:
    assert check_deadline(None) is None
    assert check_deadline(5) == 5.0
    assert check_deadline(0.25) == 0.25


@pytest.mark.parametrize(
    "bad", ["nonsense", -1, True, "0xzz", "0x", "", 1.5, None, "0x" + "a" * 65]
)
def test_block_tag_is_checked_locally(bad: Any) -> None:
    with pytest.raises(ValidationError, match="block must be an int >= 0, one of latest"):
        block_param(bad)


def test_good_block_tags() -> None:
    assert block_param(0) == "0x0"
    assert block_param(17) == "0x11"
    assert block_param("Latest") == "latest"
    assert block_param("finalized") == "finalized"
    assert block_param("0x0011") == "0x11"
    block_hash = "0x" + "ab" * 32
    assert block_param(block_hash) == {"blockHash": block_hash}


@pytest.mark.parametrize("bad", ["ULTRA", None, 3, "", Priority])
def test_priority_lists_the_choices(bad: Any) -> None:
    with pytest.raises(ValidationError, match="priority must be one of SLOW, NORMAL, FAST"):
        check_priority(bad)
    with pytest.raises(ValidationError, match="priority must be one of SLOW, NORMAL, FAST"):
        build_request(to=FRIEND, priority=bad)


def test_priority_by_name_in_any_case() -> None:
    assert check_priority("fast") is Priority.FAST
    assert build_request(to=FRIEND, priority=Priority.SLOW).priority is Priority.SLOW


def test_unknown_request_field_is_named_with_the_accepted_ones() -> None:
    with pytest.raises(ValidationError, match=r"unknown request field\(s\) foo; accepted: to, "):
        build_request(to=FRIEND, foo=1)
    weth = ContractHandle(WETH, load_abi("WETH9"))
    with pytest.raises(ValidationError, match=r"unknown request field\(s\) to; accepted: value"):
        weth.request("deposit", to=FRIEND)


@pytest.mark.parametrize(
    ("fees", "message"),
    [
        ("x", "fees must be FeeParams or None, got str"),
        ({"gas_price": 1}, "fees must be FeeParams or None, got dict"),
        (FeeParams(compute_unit_price=1), "fees must set gas_price or both EIP-1559 fields"),
    ],
)
def test_replacement_fees_are_type_checked(fees: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        check_fees(fees)


def test_explicit_fee_below_base_fee() -> None:
    with pytest.raises(ValidationError, match=r"gas_price 0 wei is below the current base fee"):
        check_above_base_fee(FeeParams(gas_price=0), 7, "anvil")
    with pytest.raises(ValidationError, match=r"max_fee_per_gas 6 wei .* \(7 wei\)"):
        check_above_base_fee(FeeParams(max_fee_per_gas=6, max_priority_fee_per_gas=1), 7, "x")
    check_above_base_fee(FeeParams(gas_price=7), 7, "anvil")


def _pending(client_id: str = "tx1", **kw: Any) -> Transaction:
    tx = make_tx(client_id, **kw)
    tx.add_attempt(make_attempt(0))
    return tx


def test_foreign_sender_is_refused() -> None:
    tx = _pending()
    with pytest.raises(ValidationError, match="is not a transaction of this operator's account"):
        own_transaction(tx, sender=FRIEND, platform="anvil", following=lambda cid: tx)


def test_other_chain_is_refused() -> None:
    tx = _pending()
    with pytest.raises(ValidationError, match="account on base: it is on anvil"):
        own_transaction(tx, sender=SENDER, platform="base", following=lambda cid: tx)


def test_untracked_pending_transaction_is_refused() -> None:
    tx = _pending()
    assert tx.state is TxState.SIGNED
    with pytest.raises(ValidationError, match="that it follows"):
        own_transaction(tx, sender=SENDER, platform="anvil", following=lambda cid: None)


def test_the_followed_instance_is_used() -> None:
    tracked, copy = _pending(), _pending()
    got = own_transaction(copy, sender=SENDER, platform="anvil", following=lambda cid: tracked)
    assert got is tracked


def test_not_a_transaction() -> None:
    with pytest.raises(ValidationError, match="expected a Transaction, got str"):
        own_transaction("0xabc", sender=SENDER, platform="anvil", following=lambda cid: None)


@pytest.mark.parametrize("abi", [[{"junk": 1}], "notalist", [1, 2], None, {"abi": []}])
def test_bad_abi_is_a_validation_error(abi: Any) -> None:
    with pytest.raises(ValidationError, match="ABI"):
        ContractHandle(WETH, abi)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((FRIEND,), r"wrong number of arguments for transfer: expected 2 \(transfer\(address,"),
        ((FRIEND, 1, 2), r"expected 2 \(transfer\(address,uint256\)\), got 3"),
        (
            (FRIEND, -1),
            r"argument 1 \(wad\) of transfer\(address,uint256\) is not a valid uint256: -1",
        ),
        ((FRIEND, 1.5), r"argument 1 \(wad\) .* uint256: 1.5"),
        (
            ("bob", 1),
            r"argument 0 \(dst\) of transfer\(address,uint256\) is not a valid address: 'bob'",
        ),
    ],
)
def test_abi_argument_errors_say_what_is_wrong(args: tuple[Any, ...], message: str) -> None:
    weth = ContractHandle(WETH, load_abi("WETH9"))
    with pytest.raises(ValidationError, match=message):
        weth.request("transfer", *args)


@pytest.mark.parametrize("bad", ["1", math.nan, math.inf, -1, True, [1]])
async def test_wait_timeout_is_checked_whatever_the_state(bad: Any) -> None:
    pending = _pending()
    done = _pending("tx2")
    done.mark_broadcast(0)
    receipt = make_receipt(done.attempts[0])
    done.apply(TxUpdate(state=TxState.INCLUDED, receipt=receipt, confirmations=1))
    done.apply(TxUpdate(state=TxState.CONFIRMED, confirmations=1))
    assert await done.wait(timeout=0) is done  # a good timeout still returns at once
    for tx in (pending, done):
        with pytest.raises(ValidationError, match=r"^timeout must be "):
            await asyncio.wait_for(tx.wait(timeout=bad), 2)
