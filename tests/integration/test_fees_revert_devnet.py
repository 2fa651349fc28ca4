"""Fee estimates and revert decoding against a real Anvil (a fork of the devnet world)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from eth_account import Account
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from chainops.core.attempt import FeeParams
from chainops.core.errors import Reverted
from chainops.core.platforms import ChainKind, ChainPlatform, get_chain
from chainops.core.priority import Priority
from chainops.devnet.artifacts import our_artifact
from chainops.devnet.world import World
from chainops.operators.evm.fees import FeeOracle, FeePolicy, default_policy
from chainops.operators.evm.revert import decode_revert, revert_from_rpc_error, reverted_error

pytestmark = pytest.mark.integration
GWEI = 10**9
REVERTER_ABI: list[dict[str, Any]] = json.loads(
    (Path(__file__).resolve().parents[2] / "chainops" / "abis" / "Reverter.json").read_text()
)


class NodeError(Exception):
    """A JSON-RPC error reply, with the error object as Anvil sent it."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.error = error


class JsonRpc:
    """A minimal async JSON-RPC client that counts the calls per method."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url
        self.calls: list[str] = []

    async def reply(self, method: str, params: list[Any]) -> dict[str, Any]:
        self.calls.append(method)
        body = {"jsonrpc": "2.0", "id": len(self.calls), "method": method, "params": params}
        async with self.session.post(self.url, json=body) as response:
            result: dict[str, Any] = await response.json()
            return result

    async def __call__(self, method: str, params: list[Any]) -> Any:
        reply = await self.reply(method, params)
        if "error" in reply:
            raise NodeError(reply["error"])
        return reply["result"]


@pytest.fixture
async def rpc(devnet: World) -> AsyncIterator[JsonRpc]:
    async with aiohttp.ClientSession() as session:
        yield JsonRpc(session, devnet.rpc_url)


@pytest.fixture
async def fresh_rpc(devnet_fresh: World) -> AsyncIterator[JsonRpc]:
    # Anvil's evm_revert keeps the next block's base fee, so a fee spike would leak
    # into later tests on a shared fork: tests that spike get a fork of their own.
    async with aiohttp.ClientSession() as session:
        yield JsonRpc(session, devnet_fresh.rpc_url)


def deploy_reverter(world: World) -> Contract:
    w3 = Web3(Web3.HTTPProvider(world.rpc_url))
    artifact = our_artifact("Reverter")
    factory = w3.eth.contract(abi=REVERTER_ABI, bytecode=artifact.bytecode)
    tx_hash = factory.constructor().transact({"from": world.book.accounts[0].address})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1
    return w3.eth.contract(address=receipt["contractAddress"], abi=REVERTER_ABI)


# --- revert decoding ---------------------------------------------------------------------------

CASES = [
    ("revertWithReason", ["insufficient balance"], "error", "insufficient balance"),
    ("panicDivide", [1, 0], "panic", "Panic(0x12): division or modulo by zero"),
    ("panicOverflow", [2**256 - 1, 1], "panic", "Panic(0x11): arithmetic overflow or underflow"),
    ("panicAssert", [], "panic", "Panic(0x01): assertion failed"),
    ("revertWithCustomError", [1, 2], "custom", "InsufficientThing(have=1, want=2)"),
    ("revertBare", [], "empty", "execution reverted (no data)"),
]


@pytest.mark.parametrize(("function", "args", "kind", "reason"), CASES)
async def test_revert_round_trips_through_call_and_estimate(
    devnet: World, rpc: JsonRpc, function: str, args: list[Any], kind: str, reason: str
) -> None:
    reverter = deploy_reverter(devnet)
    call = getattr(reverter.functions, function)(*args)
    tx = {
        "from": devnet.book.accounts[1].address,
        "to": reverter.address,
        "data": call._encode_transaction_data(),
    }
    for method, params in (("eth_call", [tx, "latest"]), ("eth_estimateGas", [tx])):
        reply = await rpc.reply(method, params)
        error = reply["error"]
        # the shape every node-facing part relies on: code 3, message, hex data
        assert error["code"] == 3 and error["message"].startswith("execution reverted")
        assert isinstance(error["data"], str) and error["data"].startswith("0x")
        info = revert_from_rpc_error(error, REVERTER_ABI)
        assert info is not None, method
        assert (info.kind, info.reason) == (kind, reason), method
        assert info == decode_revert(error["data"], REVERTER_ABI)
        raised = reverted_error(info)
        assert isinstance(raised, Reverted) and raised.reason == reason
    # the same revert as web3.py raises it
    with pytest.raises(ContractLogicError) as caught:
        call.call({"from": devnet.book.accounts[1].address})
    from_web3 = revert_from_rpc_error(caught.value, REVERTER_ABI)
    assert from_web3 is not None and (from_web3.kind, from_web3.reason) == (kind, reason)


async def test_success_and_other_errors_are_not_reverts(devnet: World, rpc: JsonRpc) -> None:
    reverter = deploy_reverter(devnet)
    ok = {"to": reverter.address, "data": reverter.functions.succeed(7)._encode_transaction_data()}
    assert int(await rpc("eth_call", [ok, "latest"]), 16) == 7
    broke = Account.create()
    poor = {"from": broke.address, "to": reverter.address, "value": hex(10**18)}
    reply = await rpc.reply("eth_estimateGas", [poor])
    assert "error" in reply and revert_from_rpc_error(reply["error"]) is None
    missing = await rpc.reply("eth_noSuchMethod", [])
    assert revert_from_rpc_error(missing) is None


# --- fees --------------------------------------------------------------------------------------


async def mined(rpc: JsonRpc, raw: str) -> dict[str, Any]:
    """Broadcast and wait for the receipt (automine seals the block just after replying)."""
    tx_hash = await rpc("eth_sendRawTransaction", [raw])
    for _ in range(200):
        receipt: dict[str, Any] | None = await rpc("eth_getTransactionReceipt", [tx_hash])
        if receipt is not None:
            assert receipt["status"] == "0x1"
            return receipt
        await asyncio.sleep(0.01)
    raise AssertionError(f"{tx_hash} not mined")


async def fee_history_reaches(rpc: JsonRpc, head: int, blocks: int) -> None:
    """Wait until Anvil's fee history holds the ``blocks`` blocks ending at ``head``.

    Anvil fills that history from a task of its own after it mines, so a request
    made right after a block can come back without it (foundry-rs/foundry#13680).
    """
    probe = JsonRpc(rpc.session, rpc.url)  # its calls stay out of the counts tests check
    for _ in range(500):
        reply = await probe("eth_feeHistory", [hex(blocks), hex(head), []])
        if len(reply["gasUsedRatio"]) == blocks:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"Anvil's fee history never reached block {head}")


async def send_with_tip(world: World, rpc: JsonRpc, index: int, tip: int) -> dict[str, Any]:
    """A self-transfer paying exactly ``tip``; automine puts it alone in a new block."""
    account = world.book.accounts[index]
    nonce = int(await rpc("eth_getTransactionCount", [account.address, "pending"]), 16)
    signed = Account.sign_transaction(
        {
            "type": 2,
            "chainId": world.chain_id,
            "nonce": nonce,
            "to": account.address,
            "value": 0,
            "gas": 21_000,
            "maxFeePerGas": 1_000 * GWEI,
            "maxPriorityFeePerGas": tip,
        },
        account.private_key,
    )
    return await mined(rpc, "0x" + signed.raw_transaction.hex())


async def send_at(world: World, rpc: JsonRpc, fees: FeeParams) -> dict[str, Any]:
    """Send a self-transfer at the given fees; proves the node accepts and mines them."""
    account = world.book.accounts[2]
    nonce = int(await rpc("eth_getTransactionCount", [account.address, "pending"]), 16)
    tx: dict[str, Any] = {
        "chainId": world.chain_id,
        "nonce": nonce,
        "to": account.address,
        "value": 0,
        "gas": 21_000,
    }
    if fees.is_eip1559:
        tx |= {
            "type": 2,
            "maxFeePerGas": fees.max_fee_per_gas,
            "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
        }
    else:
        tx["gasPrice"] = fees.gas_price
    signed = Account.sign_transaction(tx, account.private_key)
    return await mined(rpc, "0x" + signed.raw_transaction.hex())


async def test_fee_spike_moves_the_cap_to_twice_the_next_base_fee(
    devnet_fresh: World, fresh_rpc: JsonRpc
) -> None:
    devnet, rpc = devnet_fresh, fresh_rpc
    chain = get_chain("devnet")
    # two blocks of history: exactly the two blocks our tipped transactions land in
    oracle = FeeOracle(rpc, chain, FeePolicy(min_tip_wei=GWEI, history_blocks=2))
    before = await oracle.estimate()
    spike = 100 * GWEI
    await rpc("anvil_setNextBlockBaseFeePerGas", [hex(spike)])
    first = await send_with_tip(devnet, rpc, 3, 2 * GWEI)
    block = await rpc("eth_getBlockByNumber", [first["blockNumber"], False])
    assert int(block["baseFeePerGas"], 16) == spike
    await send_with_tip(devnet, rpc, 4, 5 * GWEI)
    head = int(await rpc("eth_blockNumber", []), 16)
    latest = await rpc("eth_getBlockByNumber", [hex(head), False])
    base, used = int(latest["baseFeePerGas"], 16), int(latest["gasUsed"], 16)
    target = int(latest["gasLimit"], 16) // 2
    # EIP-1559: a block below its gas target lowers the next base fee by up to 1/8
    next_base = base - base * (target - used) // target // 8
    assert spike * 3 // 4 < next_base < spike

    await fee_history_reaches(rpc, head, 2)
    normal = await oracle.estimate(head=head)
    # each block holds one tx, so every percentile of a block is that tx's tip;
    # the median of 2 and 5 gwei is 3.5 gwei
    assert normal == FeeParams(
        max_fee_per_gas=2 * next_base + 3_500_000_000, max_priority_fee_per_gas=3_500_000_000
    )
    assert before.max_fee_per_gas is not None and normal.max_fee_per_gas > before.max_fee_per_gas
    fast = await oracle.estimate(Priority.FAST, head=head)
    assert fast.max_priority_fee_per_gas == 3_500_000_000
    assert rpc.calls.count("eth_feeHistory") == 2  # one before the spike, one for the head

    receipt = await send_at(devnet, rpc, normal)
    assert int(receipt["effectiveGasPrice"], 16) <= normal.max_fee_per_gas


async def test_the_cache_follows_the_head(devnet_fresh: World, fresh_rpc: JsonRpc) -> None:
    devnet, rpc = devnet_fresh, fresh_rpc
    oracle = FeeOracle(rpc, get_chain("devnet"))
    head = int(await rpc("eth_blockNumber", []), 16)
    await fee_history_reaches(rpc, head, 1)
    first = await oracle.estimate(head=head)
    await oracle.estimate(Priority.SLOW, head=head)
    await oracle.snapshot(head=head)
    assert rpc.calls.count("eth_feeHistory") == 1
    await rpc("anvil_setNextBlockBaseFeePerGas", [hex(50 * GWEI)])
    devnet.anvil.mine(1)
    await fee_history_reaches(rpc, head + 1, 1)
    moved = await oracle.estimate(head=head + 1)
    assert rpc.calls.count("eth_feeHistory") == 2
    assert moved.max_fee_per_gas is not None and first.max_fee_per_gas is not None
    # the mined (empty) block's base fee is the spike; the next one is 7/8 of it
    assert moved.max_fee_per_gas == 2 * (50 * GWEI * 7 // 8) + GWEI
    assert moved.max_fee_per_gas > first.max_fee_per_gas
    await oracle.estimate(head=head + 1)
    assert rpc.calls.count("eth_feeHistory") == 2
    oracle.invalidate()
    await oracle.estimate(head=head + 1)
    assert rpc.calls.count("eth_feeHistory") == 3


async def test_explicit_overrides_win_on_anvil(devnet: World, rpc: JsonRpc) -> None:
    oracle = FeeOracle(rpc, get_chain("devnet"))
    market = await oracle.estimate()
    assert market.max_fee_per_gas is not None
    explicit = await oracle.estimate(max_fee_per_gas=10 * GWEI + 7, max_priority_fee_per_gas=3)
    assert explicit == FeeParams(max_fee_per_gas=10 * GWEI + 7, max_priority_fee_per_gas=3)
    tip_only = await oracle.estimate(max_priority_fee_per_gas=4 * GWEI)
    assert tip_only.max_priority_fee_per_gas == 4 * GWEI
    assert (
        tip_only.max_fee_per_gas
        == market.max_fee_per_gas - (market.max_priority_fee_per_gas or 0) + 4 * GWEI
    )
    receipt = await send_at(devnet, rpc, tip_only)
    assert receipt["type"] == "0x2"


async def test_legacy_chain_gets_a_gas_price(devnet: World, rpc: JsonRpc) -> None:
    legacy_chain = ChainPlatform(
        name="anvil-legacy",
        kind=ChainKind.EVM,
        chain_id=devnet.chain_id,
        native_symbol="ETH",
        native_decimals=18,
        supports_eip1559=False,
        is_local=True,
    )
    oracle = FeeOracle(rpc, legacy_chain, default_policy(legacy_chain))
    node_price = int(await rpc("eth_gasPrice", []), 16)
    fees = await oracle.estimate()
    assert fees == FeeParams(gas_price=max(node_price, GWEI))
    fast = await oracle.estimate(Priority.FAST)
    assert fast.gas_price is not None and fast.gas_price > fees.gas_price  # type: ignore[operator]
    assert "eth_feeHistory" not in rpc.calls
    receipt = await send_at(devnet, rpc, fees)
    assert receipt["type"] == "0x0"
