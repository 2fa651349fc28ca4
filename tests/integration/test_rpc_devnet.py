"""JsonRpcClient against Anvil: reads, batches, raw sends (single and batched), error classes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from eth_account import Account
from eth_utils.crypto import keccak

from chainops.core.errors import InsufficientFunds, NonceError, Rejected, Reverted
from chainops.core.ids import TxHash
from chainops.devnet.anvil import free_port
from chainops.devnet.world import World
from chainops.operators.evm.batching import AutoBatcher
from chainops.operators.evm.node_errors import (
    ExecutionReverted,
    GasLimitExceeded,
    IntrinsicGasTooLow,
    NodeInsufficientFunds,
    NonceTooLow,
    ReplacementUnderpriced,
    Underpriced,
)
from chainops.operators.evm.rpc import JsonRpcClient

pytestmark = pytest.mark.integration
SINK = "0x000000000000000000000000000000000000dEaD"
TIP = 10**9


@pytest.fixture
async def rpc(devnet: World) -> AsyncIterator[JsonRpcClient]:
    async with JsonRpcClient([devnet.rpc_url], seed=1) as client:
        yield client


class Sender:
    """Signs type-2 transfers from one development account at explicit nonces."""

    def __init__(self, world: World, rpc: JsonRpcClient, index: int) -> None:
        entry = world.book.accounts[index]
        self.account = Account.from_key(entry.private_key)
        self.address: str = self.account.address
        self.rpc = rpc

    async def nonce(self) -> int:
        return int(await self.rpc.call("eth_getTransactionCount", [self.address, "pending"]), 16)

    async def max_fee(self) -> int:
        block = await self.rpc.call("eth_getBlockByNumber", ["latest", False])
        return 2 * int(block["baseFeePerGas"], 16) + TIP

    def sign(self, nonce: int, max_fee: int, **fields: Any) -> bytes:
        tx = {
            "type": 2,
            "chainId": 31337,
            "nonce": nonce,
            "to": SINK,
            "value": 1,
            "gas": 21_000,
            "maxFeePerGas": max_fee,
            "maxPriorityFeePerGas": TIP,
            **fields,
        }
        return bytes(self.account.sign_transaction(tx).raw_transaction)


async def wait_receipts(rpc: JsonRpcClient, hashes: list[str]) -> list[dict[str, Any]]:
    """Receipts of ``hashes`` once all exist (Anvil automines just after it replies)."""
    loop = asyncio.get_running_loop()
    deadline, nudge = loop.time() + 10, loop.time() + 2
    while True:
        found = await rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
        if all(isinstance(r, dict) for r in found):
            return found
        assert loop.time() < deadline, "transactions were not mined"
        if loop.time() > nudge:
            # Anvil may serve a batch's items out of order and, under load, park the one at the
            # account's nonce as "queued", which automine never mines: a block picks it up.
            await rpc.call("evm_mine", [])
            nudge = loop.time() + 1
        await asyncio.sleep(0.02)


async def test_plain_calls(rpc: JsonRpcClient, devnet: World) -> None:
    assert await rpc.call("eth_chainId") == hex(31337)
    assert int(await rpc.call("eth_blockNumber"), 16) == devnet.anvil.block_number()
    block = await rpc.call("eth_getBlockByNumber", ["latest", False])
    assert block["hash"].startswith("0x")
    assert rpc.stats.requests == 3 and rpc.stats.errors_by_kind == {}


async def test_batch_of_100_balances_is_one_request(rpc: JsonRpcClient, devnet: World) -> None:
    addresses = [entry.address for entry in devnet.book.accounts]
    addresses = (addresses * (100 // len(addresses) + 1))[:100]
    before = rpc.stats.requests
    balances = await rpc.batch([("eth_getBalance", [a, "latest"]) for a in addresses])
    assert rpc.stats.requests - before == 1
    assert len(balances) == 100
    for address, balance in list(zip(addresses, balances, strict=True))[:10]:
        assert balance == await rpc.call("eth_getBalance", [address, "latest"])


async def test_batch_mixes_results_and_node_errors(rpc: JsonRpcClient, devnet: World) -> None:
    weth = devnet.book.contracts["WETH9"]
    withdraw_too_much = "0x" + keccak(text="withdraw(uint256)")[:4].hex() + "ff" * 32
    out = await rpc.batch(
        [
            ("eth_chainId", []),
            ("eth_call", [{"to": weth, "data": withdraw_too_much, "from": SINK}, "latest"]),
            ("eth_no_such_method", []),
        ]
    )
    assert out[0] == hex(31337)
    assert isinstance(out[1], ExecutionReverted) and isinstance(out[1], Reverted)
    assert not isinstance(out[2], Reverted)


async def test_send_raw_then_mined(rpc: JsonRpcClient, devnet: World) -> None:
    sender = Sender(devnet, rpc, 5)
    raw = sender.sign(await sender.nonce(), await sender.max_fee())
    tx_hash = await rpc.send_raw(raw)
    assert tx_hash == TxHash(keccak(raw))
    (mined,) = await wait_receipts(rpc, [tx_hash])
    assert mined["status"] == "0x1"


async def test_resending_the_same_bytes_returns_the_same_hash(
    rpc: JsonRpcClient, devnet: World
) -> None:
    sender = Sender(devnet, rpc, 6)
    raw = sender.sign(await sender.nonce(), await sender.max_fee())
    devnet.anvil.set_mining("manual")
    try:
        first = await rpc.send_raw(raw)
        # Pending: Anvil answers "transaction already imported".
        assert await rpc.send_raw(raw) == first
        assert rpc.stats.errors_by_kind["duplicate"] == 1
        devnet.anvil.mine(1)
    finally:
        devnet.anvil.set_mining("auto")
    (mined,) = await wait_receipts(rpc, [first])
    assert mined["status"] == "0x1"
    # Mined: Anvil answers "nonce too low"; the chain holds these bytes, so it is success.
    assert await rpc.send_raw(raw) == first
    assert rpc.stats.errors_by_kind["nonce_too_low"] == 1


async def test_send_raw_batch_of_50_all_mined(rpc: JsonRpcClient, devnet: World) -> None:
    sender = Sender(devnet, rpc, 7)
    start, max_fee = await sender.nonce(), await sender.max_fee()
    raws = [sender.sign(start + i, max_fee, value=i + 1) for i in range(50)]
    before = rpc.stats.requests
    # Anvil serves a batch's items concurrently; with automine on, one that arrives while
    # the block before is being mined can be parked for good. Pooled first, mined at once.
    devnet.anvil.set_mining("manual")
    try:
        hashes = await rpc.send_raw_batch(raws)
        devnet.anvil.mine(1)
    finally:
        devnet.anvil.set_mining("auto")
    assert rpc.stats.requests - before == 1
    assert hashes == [TxHash(keccak(raw)) for raw in raws]
    receipts = await wait_receipts(rpc, [str(h) for h in hashes])
    assert [r["status"] for r in receipts] == ["0x1"] * 50
    assert [r["transactionHash"] for r in receipts] == hashes
    assert await sender.nonce() == start + 50
    # The same batch again: every item is already on chain, so every item is its hash.
    assert await rpc.send_raw_batch(raws) == hashes


async def test_nonce_too_low_is_classified(rpc: JsonRpcClient, devnet: World) -> None:
    sender = Sender(devnet, rpc, 8)
    nonce, max_fee = await sender.nonce(), await sender.max_fee()
    # Mined first: while still pending, the same nonce would read "replacement underpriced".
    await wait_receipts(rpc, [await rpc.send_raw(sender.sign(nonce, max_fee))])
    with pytest.raises(NonceTooLow) as info:
        await rpc.send_raw(sender.sign(nonce, max_fee, value=2))  # other bytes, same nonce
    assert isinstance(info.value, NonceError)


async def test_insufficient_funds_is_classified(rpc: JsonRpcClient, devnet: World) -> None:
    sender = Sender(devnet, rpc, 9)
    balance = int(await rpc.call("eth_getBalance", [sender.address, "latest"]), 16)
    raw = sender.sign(await sender.nonce(), await sender.max_fee(), value=balance)
    with pytest.raises(NodeInsufficientFunds) as info:
        await rpc.send_raw(raw)
    assert isinstance(info.value, InsufficientFunds)
    out = await rpc.send_raw_batch([raw])
    assert isinstance(out[0], InsufficientFunds)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"maxFeePerGas": 1, "maxPriorityFeePerGas": 1}, Underpriced),
        ({"gas": 20_000}, IntrinsicGasTooLow),
        ({"gas": 10**10}, GasLimitExceeded),
    ],
)
async def test_rejections_are_classified(
    rpc: JsonRpcClient, devnet: World, fields: dict[str, int], error: type[Rejected]
) -> None:
    sender = Sender(devnet, rpc, 4)
    raw = sender.sign(await sender.nonce(), await sender.max_fee(), **fields)
    with pytest.raises(error) as info:
        await rpc.send_raw(raw)
    assert isinstance(info.value, Rejected)


async def test_replacement_underpriced_is_classified(rpc: JsonRpcClient, devnet: World) -> None:
    sender = Sender(devnet, rpc, 3)
    nonce, max_fee = await sender.nonce(), await sender.max_fee()
    devnet.anvil.set_mining("manual")
    try:
        await rpc.send_raw(sender.sign(nonce, max_fee))
        with pytest.raises(ReplacementUnderpriced):
            await rpc.send_raw(sender.sign(nonce, max_fee, value=2))
        devnet.anvil.mine(1)
    finally:
        devnet.anvil.set_mining("auto")


async def test_failover_from_a_dead_endpoint(devnet: World) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    async with JsonRpcClient([dead, devnet.rpc_url], seed=3) as rpc:
        assert await rpc.call("eth_chainId") == hex(31337)
        balances = await rpc.batch([("eth_getBalance", [SINK, "latest"])] * 5)
        assert len(set(balances)) == 1
        sender = Sender(devnet, rpc, 2)
        raw = sender.sign(await sender.nonce(), await sender.max_fee())
        tx_hash = await rpc.send_raw(raw)
        assert tx_hash == TxHash(keccak(raw))
        await wait_receipts(rpc, [tx_hash])
    assert rpc.stats.errors_by_kind["connection"] == 1


async def test_identical_reads_of_one_turn_share_one_batch_entry(
    rpc: JsonRpcClient, devnet: World
) -> None:
    batcher = AutoBatcher(rpc)
    owner = devnet.book.accounts[1].address
    rpc.stats.reset()
    balances = await asyncio.gather(
        *(batcher.call("eth_getBalance", [owner, "pending"]) for _ in range(200)),
        batcher.call("eth_getBalance", [SINK, "pending"]),
    )
    assert rpc.stats.requests == 1 and rpc.stats.calls == 2  # one batch, two distinct reads
    assert len(set(balances[:200])) == 1 and batcher.shared == 199
    # A read asked after that turn is news: it is asked again, and sees the change.
    devnet.anvil.set_balance(owner, 12345)
    assert await batcher.call("eth_getBalance", [owner, "pending"]) == hex(12345)
    assert rpc.stats.calls == 3
    # One caller giving up does not take the shared answer from the others.
    first = asyncio.ensure_future(batcher.call("eth_getBalance", [owner, "latest"]))
    second = asyncio.ensure_future(batcher.call("eth_getBalance", [owner, "latest"]))
    await asyncio.sleep(0)
    first.cancel()
    assert await second == hex(12345)
    # Parameters that are not plain values are never shared.
    block = {"to": SINK, "data": "0x"}
    await asyncio.gather(*(batcher.call("eth_call", [block, "latest"]) for _ in range(3)))
    assert batcher.shared == 200
