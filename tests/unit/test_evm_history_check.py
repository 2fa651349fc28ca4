"""missing_history: when a journal's confirmed transaction is missing from the node."""

from __future__ import annotations

import re

import pytest
from core_factories import make_attempt, make_receipt, make_tx
from evm_doubles import FakeNode

from chainops.core.transaction import Transaction, TxState, TxUpdate
from chainops.operators.evm import history_check
from chainops.operators.evm.history_check import missing_history

BLOCK = 120  # where the journal says the witness was mined


def confirmed(nonce: int, *, seed: int) -> Transaction:
    tx = make_tx(f"tx{nonce}", nonce=nonce)
    attempt = make_attempt(nonce=nonce, seed=seed)
    tx.add_attempt(attempt)
    tx.apply(TxUpdate(state=TxState.CONFIRMED, receipt=make_receipt(attempt, block=BLOCK)))
    return tx


@pytest.fixture
def witness() -> Transaction:
    return confirmed(7, seed=70)


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history_check, "POLL_S", 0.001)


async def test_a_count_that_covers_every_confirmed_nonce_asks_nothing(witness: Transaction) -> None:
    node = FakeNode()
    assert await missing_history(node, [witness], 8, chain_id=1, local=False) is None
    assert node.calls == []


async def test_a_node_that_has_the_witness_is_only_stale(witness: Transaction) -> None:
    node = FakeNode()
    node.receipts[str(witness.receipt.transaction_hash)] = {"blockNumber": hex(BLOCK)}  # type: ignore[union-attr]
    assert await missing_history(node, [witness], 0, chain_id=1, local=False) is None
    assert node.calls == ["eth_getTransactionReceipt"]


async def test_another_block_at_the_witness_height_is_another_history(
    witness: Transaction,
) -> None:
    node = FakeNode()
    node.head = BLOCK + 5
    node.block_hashes[BLOCK] = "0x" + "ab" * 32
    reason = await missing_history(node, [witness], 3, chain_id=1, local=False)
    assert reason is not None and "holds another block at that height" in reason


async def test_the_same_block_is_left_to_the_monitor(witness: Transaction) -> None:
    node = FakeNode()
    node.head = BLOCK
    node.block_hashes[BLOCK] = str(witness.receipt.block_hash).upper().replace("0X", "0x")  # type: ignore[union-attr]
    assert await missing_history(node, [witness], 3, chain_id=1, local=False) is None


async def test_a_local_node_below_the_block_is_refused_at_once(witness: Transaction) -> None:
    node = FakeNode()
    node.head = BLOCK - 50
    reason = await missing_history(node, [witness], 0, chain_id=31337, local=True, wait=60.0)
    assert reason is not None and re.search(r"at block 70, below it, and its nonce count", reason)
    assert "far behind" not in reason and node.calls.count("eth_blockNumber") == 1


async def test_a_remote_node_below_the_block_gets_the_wait(witness: Transaction) -> None:
    node = FakeNode()
    node.head = BLOCK - 50
    reason = await missing_history(node, [witness], 0, chain_id=1, local=False, wait=0.05)
    assert reason is not None and re.search(r"after 0\.05 s.*or far behind", reason)
    assert node.calls.count("eth_blockNumber") > 1


async def test_a_remote_node_that_catches_up_with_the_same_block_passes(
    witness: Transaction,
) -> None:
    node = FakeNode()
    node.head = BLOCK - 2
    node.block_hashes[BLOCK] = str(witness.receipt.block_hash)  # type: ignore[union-attr]
    answer = node._answer

    def catching_up(method: str, params: list[object]) -> object:
        if method == "eth_blockNumber":
            node.head += 1
        return answer(method, params)

    node._answer = catching_up  # type: ignore[method-assign]
    assert await missing_history(node, [witness], 0, chain_id=1, local=False, wait=5.0) is None
    assert node.head == BLOCK


async def test_the_witness_is_the_highest_confirmed_nonce_the_count_misses() -> None:
    node = FakeNode()
    node.head = BLOCK - 50
    low, high = confirmed(3, seed=30), confirmed(9, seed=90)
    pending = make_tx("tx10", nonce=10)
    reason = await missing_history(node, [low, high, pending], 2, chain_id=31337, local=True)
    assert reason is not None and re.search(r"tx9 .* at nonce 9", reason)
