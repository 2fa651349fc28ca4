"""Fee estimation from eth_feeHistory (against a scripted node) and the replacement bump rule."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainops.core.attempt import FeeParams
from chainops.core.errors import ChainopsError, RpcError, ValidationError
from chainops.core.platforms import ChainKind, ChainPlatform, get_chain
from chainops.operators.evm.bumps import bump
from chainops.operators.evm.fees import (
    LEGACY_MULTIPLIER_BPS,
    REWARD_PERCENTILES,
    FeeCapExceeded,
    FeeOracle,
    FeePolicy,
    Priority,
    default_policy,
    parse_fee_history,
)
from chainops.operators.evm.node_errors import NodeError, node_error

GWEI = 10**9
MAX_WEI = 2**256 - 1


def chain(*, eip1559: bool = True, chain_id: int = 999_001, local: bool = False) -> ChainPlatform:
    return ChainPlatform(
        name="testchain",
        kind=ChainKind.EVM,
        chain_id=chain_id,
        native_symbol="ETH",
        native_decimals=18,
        supports_eip1559=eip1559,
        is_local=local,
    )


def history(
    rewards: list[list[int]],
    base_fees: list[int],
    *,
    oldest: int = 100,
    ratios: list[float] | None = None,
) -> dict[str, Any]:
    assert len(base_fees) == len(rewards) + 1
    return {
        "oldestBlock": hex(oldest),
        "baseFeePerGas": [hex(b) for b in base_fees],
        "gasUsedRatio": ratios if ratios is not None else [0.5] * len(rewards),
        "reward": [[hex(v) for v in row] for row in rewards],
    }


class FakeNode:
    """Answers JSON-RPC calls from a script and records them."""

    def __init__(self, **answers: Any) -> None:
        self.answers = answers
        self.calls: list[tuple[str, list[Any]]] = []

    async def __call__(self, method: str, params: list[Any]) -> Any:
        self.calls.append((method, params))
        answer = self.answers[method]
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            return answer()
        return answer

    def count(self, method: str) -> int:
        return sum(1 for m, _ in self.calls if m == method)


# Three blocks; percentiles (10, 50, 90) per block; next base fee 40 gwei.
REWARDS = [
    [1 * GWEI, 2 * GWEI, 5 * GWEI],
    [1 * GWEI, 3 * GWEI, 9 * GWEI],
    [2 * GWEI, 4 * GWEI, 7 * GWEI],
]
BASES = [30 * GWEI, 32 * GWEI, 35 * GWEI, 40 * GWEI]


def oracle(node: FakeNode, policy: FeePolicy | None = None, **chain_kw: Any) -> FeeOracle:
    return FeeOracle(node, chain(**chain_kw), policy or FeePolicy())


# --- policy ---------------------------------------------------------------------------------


def test_priorities_map_to_increasing_percentiles() -> None:
    assert [REWARD_PERCENTILES[p] for p in Priority] == [10, 50, 90]
    assert Priority("FAST") is Priority.FAST


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_tip_wei": -1},
        {"min_tip_wei": 1.5},
        {"min_tip_wei": True},
        {"max_fee_cap_wei": -5},
        {"max_fee_cap_wei": 10, "min_tip_wei": 11},
        {"history_blocks": 0},
        {"history_blocks": 1025},
        {"base_fee_multiplier": 0},
        {"min_gas_price_wei": -1},
    ],
)
def test_policy_rejects_bad_values(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        FeePolicy(**kwargs)


def test_default_policies_per_chain() -> None:
    eth = default_policy(get_chain("ethereum"))
    assert eth.min_tip_wei == GWEI // 100 and eth.max_fee_cap_wei is not None
    assert default_policy(get_chain("polygon")).min_tip_wei == 30 * GWEI
    assert default_policy(get_chain("bsc")).min_gas_price_wei > 0
    local = default_policy(get_chain("devnet"))
    assert local.min_tip_wei == GWEI and local.max_fee_cap_wei is None
    assert default_policy(chain(local=True)) == local
    generic = default_policy(chain())
    assert generic == FeePolicy() and generic.base_fee_multiplier == 2
    for name in ("ethereum", "polygon", "bsc", "arbitrum", "base", "optimism"):
        policy = default_policy(get_chain(name))
        assert policy.history_blocks == 10


def test_oracle_uses_the_chain_default_policy_and_refuses_non_evm() -> None:
    node = FakeNode()
    assert FeeOracle(node, get_chain("polygon")).policy.min_tip_wei == 30 * GWEI
    with pytest.raises(ValidationError):
        FeeOracle(node, get_chain("solana"))


# --- parsing ----------------------------------------------------------------------------------


def test_parse_takes_the_pending_base_fee_and_per_priority_medians() -> None:
    snap = parse_fee_history(history(REWARDS, BASES, oldest=100))
    assert snap.latest_block == 102 and snap.blocks == 3 and snap.non_empty_blocks == 3
    assert snap.next_base_fee == 40 * GWEI
    assert snap.tips == {
        Priority.SLOW: 1 * GWEI,
        Priority.NORMAL: 3 * GWEI,
        Priority.FAST: 7 * GWEI,
    }


def test_parse_skips_empty_blocks_and_rounds_even_medians_up() -> None:
    rewards = [[0, 0, 0], [1, 2, 3], [0, 0, 0], [2, 5, 10]]
    snap = parse_fee_history(history(rewards, [7] * 5, ratios=[0.0, 0.3, 0, 0.9]))
    assert snap.non_empty_blocks == 2
    # medians of (1, 2), (2, 5), (3, 10), each rounded up
    assert snap.tips == {Priority.SLOW: 2, Priority.NORMAL: 4, Priority.FAST: 7}


def test_parse_keeps_zero_tips_of_busy_blocks() -> None:
    snap = parse_fee_history(history([[0, 0, 0], [0, 0, 4]], [1, 1, 1], ratios=[0.9, 0.8]))
    assert snap.non_empty_blocks == 2 and snap.tips[Priority.FAST] == 2


def test_parse_without_ratios_treats_all_zero_rows_as_empty() -> None:
    reply = history([[0, 0, 0], [5, 6, 7]], [1, 1, 1])
    reply["gasUsedRatio"] = [None, None]
    snap = parse_fee_history(reply)
    assert snap.non_empty_blocks == 1 and snap.tips[Priority.NORMAL] == 6


def test_parse_all_empty_gives_zero_tips() -> None:
    snap = parse_fee_history(history([[0, 0, 0]] * 3, [9] * 4, ratios=[0.0] * 3))
    assert snap.non_empty_blocks == 0 and set(snap.tips.values()) == {0}


def test_parse_accepts_decoded_ints() -> None:
    reply = {
        "oldestBlock": 5,
        "baseFeePerGas": [3, 4],
        "gasUsedRatio": [0.5],
        "reward": [[1, 2, 3]],
    }
    snap = parse_fee_history(reply)
    assert (snap.latest_block, snap.next_base_fee, snap.tips[Priority.FAST]) == (5, 4, 3)


@pytest.mark.parametrize(
    "reply",
    [
        None,
        "0x1",
        {"baseFeePerGas": [], "gasUsedRatio": [], "oldestBlock": "0x1"},
        {"baseFeePerGas": ["0x1", "0x1"], "gasUsedRatio": [0.5], "oldestBlock": "zz"},
        {"baseFeePerGas": ["0x1", "0x1"], "gasUsedRatio": [0.5], "oldestBlock": "0x1",
         "reward": [["0x1", "0x2"]]},
        {"baseFeePerGas": ["0x1", "0x1"], "gasUsedRatio": [0.5, 0.5], "oldestBlock": "0x1",
         "reward": [["0x1", "0x2", "0x3"]]},
        {"baseFeePerGas": ["-0x1"], "gasUsedRatio": [], "oldestBlock": "0x1"},
        {"baseFeePerGas": [1.5], "gasUsedRatio": [], "oldestBlock": "0x1"},
    ],
)  # fmt: skip
def test_parse_rejects_malformed_replies(reply: Any) -> None:
    with pytest.raises(RpcError):
        parse_fee_history(reply)


# --- EIP-1559 estimates -------------------------------------------------------------------


async def test_estimate_is_twice_base_plus_tip_from_one_fee_history_call() -> None:
    node = FakeNode(eth_feeHistory=history(REWARDS, BASES))
    fees = oracle(node)
    normal = await fees.estimate()
    assert normal == FeeParams(max_fee_per_gas=83 * GWEI, max_priority_fee_per_gas=3 * GWEI)
    assert node.calls == [("eth_feeHistory", ["0xa", "latest", [10, 50, 90]])]
    assert all(isinstance(v, int) for v in normal.to_dict().values())


async def test_priorities_order_the_tip() -> None:
    node = FakeNode(eth_feeHistory=history(REWARDS, BASES))
    fees = oracle(node)
    slow = await fees.estimate(Priority.SLOW, head=102)
    fast = await fees.estimate("FAST", head=102)  # type: ignore[arg-type]
    assert slow.max_priority_fee_per_gas == 1 * GWEI
    assert fast.max_priority_fee_per_gas == 7 * GWEI
    assert fast.max_fee_per_gas == 87 * GWEI
    assert node.count("eth_feeHistory") == 1


async def test_policy_floor_multiplier_and_history_length() -> None:
    node = FakeNode(eth_feeHistory=history(REWARDS, BASES))
    policy = FeePolicy(min_tip_wei=5 * GWEI, base_fee_multiplier=3, history_blocks=20)
    fees = await oracle(node, policy).estimate(Priority.SLOW)
    assert fees.max_priority_fee_per_gas == 5 * GWEI
    assert fees.max_fee_per_gas == 3 * 40 * GWEI + 5 * GWEI
    assert node.calls[0][1][0] == "0x14"


async def test_empty_blocks_only_give_the_floor_tip() -> None:
    reply = history([[0, 0, 0]] * 2, [GWEI] * 3, ratios=[0.0, 0.0])
    fees = await oracle(FakeNode(eth_feeHistory=reply), FeePolicy(min_tip_wei=7)).estimate()
    assert fees == FeeParams(max_fee_per_gas=2 * GWEI + 7, max_priority_fee_per_gas=7)


async def test_estimate_above_the_ceiling_raises_instead_of_clamping() -> None:
    node = FakeNode(eth_feeHistory=history(REWARDS, BASES))
    fees = oracle(node, FeePolicy(max_fee_cap_wei=81 * GWEI))
    assert (await fees.estimate(Priority.SLOW)).max_fee_per_gas == 81 * GWEI
    with pytest.raises(FeeCapExceeded) as info:
        await fees.estimate(Priority.NORMAL)
    assert isinstance(info.value, ChainopsError)
    assert info.value.fee_wei == 83 * GWEI and info.value.cap_wei == 81 * GWEI


async def test_ceiling_exactly_met_is_allowed() -> None:
    node = FakeNode(eth_feeHistory=history(REWARDS, BASES))
    fees = oracle(node, FeePolicy(max_fee_cap_wei=83 * GWEI))
    assert (await fees.estimate()).max_fee_per_gas == 83 * GWEI


# --- cache ----------------------------------------------------------------------------------


async def test_cache_is_reused_only_while_the_head_stays() -> None:
    replies = iter(
        [
            history(REWARDS, BASES, oldest=100),
            history(REWARDS, [*BASES[:-1], 50 * GWEI], oldest=101),
        ]
    )
    node = FakeNode(eth_feeHistory=lambda: next(replies))
    fees = oracle(node)
    first = await fees.estimate(head=102)
    assert await fees.estimate(head=102) == first
    assert node.count("eth_feeHistory") == 1
    moved = await fees.estimate(head=103)
    assert node.count("eth_feeHistory") == 2
    assert moved.max_fee_per_gas == 2 * 50 * GWEI + 3 * GWEI
    assert (await fees.snapshot(head=103)).latest_block == 103
    assert node.count("eth_feeHistory") == 2


async def test_no_head_always_asks_and_invalidate_forgets() -> None:
    node = FakeNode(eth_feeHistory=history(REWARDS, BASES))
    fees = oracle(node)
    await fees.estimate()
    await fees.estimate()
    assert node.count("eth_feeHistory") == 2
    await fees.estimate(head=102)
    assert node.count("eth_feeHistory") == 2
    fees.invalidate()
    await fees.estimate(head=102)
    assert node.count("eth_feeHistory") == 3


async def test_short_replies_with_a_misreported_oldest_block_never_serve_stale_data() -> None:
    # Anvil returns only the blocks it has history for, but reports oldestBlock as if it
    # had returned all that were asked for: its "newest block" is then too low
    replies = iter(
        [history([[1, 2, 3]], [5, 6], oldest=91), history([[1, 2, 3]], [5, 9], oldest=92)]
    )
    node = FakeNode(eth_feeHistory=lambda: next(replies))
    fees = oracle(node, FeePolicy(history_blocks=10))
    first = await fees.estimate(head=100)
    assert (await fees.snapshot(head=100)).latest_block == 91
    assert await fees.estimate(head=100) == first
    assert node.count("eth_feeHistory") == 1
    moved = await fees.estimate(head=101)
    assert node.count("eth_feeHistory") == 2 and moved.max_fee_per_gas == 2 * 9 + 2


async def test_concurrent_estimates_at_one_head_share_one_request() -> None:
    async def slow_history(method: str, params: list[Any]) -> Any:
        calls.append(method)
        await asyncio.sleep(0.01)
        return history(REWARDS, BASES)

    calls: list[str] = []
    fees = FeeOracle(slow_history, chain(), FeePolicy())
    results = await asyncio.gather(*(fees.estimate(p, head=102) for p in [*Priority] * 3))
    assert len(calls) == 1 and len(set(results)) == 3


async def test_callers_waiting_for_one_fetch_resume_together() -> None:
    release = asyncio.Event()

    async def gated_history(method: str, params: list[Any]) -> Any:
        await release.wait()
        return history(REWARDS, BASES)

    fees = FeeOracle(gated_history, chain(), FeePolicy())
    resumed: list[int] = []
    turn = 0

    async def one() -> None:
        await fees.estimate(head=102)
        resumed.append(turn)

    waiting = [asyncio.ensure_future(one()) for _ in range(100)]
    gone = asyncio.ensure_future(fees.estimate(head=102))
    await asyncio.sleep(0)
    gone.cancel()  # one caller giving up leaves the fetch to the others
    release.set()
    while not all(w.done() for w in waiting):
        await asyncio.sleep(0)
        turn += 1
    assert len(set(resumed)) == 1  # a lock would let them through one turn each


async def test_a_failed_fetch_fails_its_waiters_and_the_next_call_asks_again() -> None:
    answers: list[Any] = [ConnectionError("down"), history(REWARDS, BASES)]

    async def flaky(method: str, params: list[Any]) -> Any:
        await asyncio.sleep(0)
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    fees = FeeOracle(flaky, chain(), FeePolicy())
    failed = await asyncio.gather(
        *(fees.estimate(head=102) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(f, ConnectionError) for f in failed)
    assert (await fees.estimate(head=102)).max_fee_per_gas is not None and answers == []


# --- explicit values --------------------------------------------------------------------------


async def test_explicit_fees_win_without_asking_the_node() -> None:
    node = FakeNode()
    fees = await oracle(node).estimate(max_fee_per_gas=10, max_priority_fee_per_gas=10)
    assert fees == FeeParams(max_fee_per_gas=10, max_priority_fee_per_gas=10)
    legacy = await oracle(node).estimate(gas_price=0)
    assert legacy == FeeParams(gas_price=0)
    assert node.calls == []


async def test_explicit_tip_alone_gets_an_estimated_cap() -> None:
    node = FakeNode(eth_feeHistory=history(REWARDS, BASES))
    fees = await oracle(node).estimate(max_priority_fee_per_gas=GWEI)
    assert fees == FeeParams(max_fee_per_gas=81 * GWEI, max_priority_fee_per_gas=GWEI)


async def test_explicit_cap_alone_keeps_the_cap_and_bounds_the_tip() -> None:
    node = FakeNode(eth_feeHistory=history(REWARDS, BASES))
    fees = oracle(node, FeePolicy(max_fee_cap_wei=100 * GWEI))
    low = await fees.estimate(Priority.FAST, max_fee_per_gas=2 * GWEI)
    assert low == FeeParams(max_fee_per_gas=2 * GWEI, max_priority_fee_per_gas=2 * GWEI)
    high = await fees.estimate(max_fee_per_gas=90 * GWEI)
    assert high == FeeParams(max_fee_per_gas=90 * GWEI, max_priority_fee_per_gas=3 * GWEI)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_fee_per_gas": 5, "max_priority_fee_per_gas": 6},
        {"max_fee_per_gas": -1, "max_priority_fee_per_gas": 0},
        {"max_priority_fee_per_gas": -1},
        {"max_fee_per_gas": 1.5},
        {"gas_price": True},
        {"gas_price": 10, "max_fee_per_gas": 10},
        {"head": -1},
    ],
)
async def test_bad_explicit_values_are_validation_errors(kwargs: dict[str, Any]) -> None:
    node = FakeNode(eth_feeHistory=history(REWARDS, BASES))
    with pytest.raises(ValidationError):
        await oracle(node).estimate(**kwargs)
    assert node.calls == []


async def test_explicit_values_above_the_ceiling_raise() -> None:
    fees = oracle(FakeNode(), FeePolicy(max_fee_cap_wei=100))
    with pytest.raises(FeeCapExceeded):
        await fees.estimate(max_fee_per_gas=101, max_priority_fee_per_gas=1)
    with pytest.raises(FeeCapExceeded):
        await fees.estimate(gas_price=101)
    assert await fees.estimate(gas_price=100) == FeeParams(gas_price=100)


# --- legacy ---------------------------------------------------------------------------------


async def test_legacy_chain_prices_from_gas_price() -> None:
    node = FakeNode(eth_gasPrice=hex(3 * GWEI))
    fees = oracle(node, eip1559=False)
    assert fees.legacy
    assert await fees.estimate() == FeeParams(gas_price=3 * GWEI)
    fast = await fees.estimate(Priority.FAST)
    assert fast.gas_price == 3 * GWEI * LEGACY_MULTIPLIER_BPS[Priority.FAST] // 10_000
    assert fast.gas_price is not None and fast.gas_price > 3 * GWEI
    assert node.count("eth_feeHistory") == 0 and node.count("eth_gasPrice") == 2


async def test_legacy_rounds_up_floors_caps_and_caches_by_head() -> None:
    node = FakeNode(eth_gasPrice="0x3")
    fees = oracle(node, FeePolicy(min_gas_price_wei=2), eip1559=False)
    assert (await fees.estimate(Priority.FAST, head=9)).gas_price == 4  # ceil(3 * 1.25)
    assert (await fees.estimate(Priority.SLOW, head=9)).gas_price == 3
    assert node.count("eth_gasPrice") == 1
    floored = oracle(FakeNode(eth_gasPrice="0x0"), FeePolicy(min_gas_price_wei=2), eip1559=False)
    assert (await floored.estimate()).gas_price == 2
    capped = oracle(FakeNode(eth_gasPrice="0x64"), FeePolicy(max_fee_cap_wei=99), eip1559=False)
    with pytest.raises(FeeCapExceeded):
        await capped.estimate()


async def test_legacy_chain_refuses_eip1559_values() -> None:
    fees = oracle(FakeNode(eth_gasPrice="0x1"), eip1559=False)
    with pytest.raises(ValidationError):
        await fees.estimate(max_priority_fee_per_gas=1)
    with pytest.raises(ValidationError):
        await fees.estimate(max_fee_per_gas=2, max_priority_fee_per_gas=1)


# Recorded from Hardhat Network 2.x and Ganache 7 started with hardfork "berlin".
HARDHAT_BERLIN = (
    "eth_feeHistory is disabled. It only works with the London hardfork or a later one."
)
GANACHE_BERLIN = {"oldestBlock": "0x0", "baseFeePerGas": [None, "0x0"], "gasUsedRatio": [0]}


@pytest.mark.parametrize(
    "answer",
    [
        node_error(-32000, HARDHAT_BERLIN),
        RpcError(f"eth_feeHistory: {HARDHAT_BERLIN}"),
        GANACHE_BERLIN,
    ],
    ids=["hardhat-typed", "hardhat-text", "ganache-null-base-fee"],
)
async def test_pre_london_chain_is_detected_and_priced_by_gas_price(answer: Any) -> None:
    node = FakeNode(eth_feeHistory=answer, eth_gasPrice=hex(2 * GWEI))
    fees = oracle(node)
    assert not fees.legacy
    assert await fees.estimate() == FeeParams(gas_price=2 * GWEI)
    assert fees.legacy
    assert await fees.estimate(Priority.FAST) == FeeParams(gas_price=2 * GWEI * 5 // 4)
    assert node.count("eth_feeHistory") == 1
    with pytest.raises(ValidationError, match="EIP-1559"):
        await fees.estimate(max_priority_fee_per_gas=1)


ANVIL_BERLIN = {"oldestBlock": "0x0", "baseFeePerGas": ["0x0", "0x0"], "gasUsedRatio": [0.0]}
BERLIN_BLOCK = {"number": "0x1", "gasLimit": "0x1c9c380"}  # no baseFeePerGas
ZERO_FEE_BLOCK = {"number": "0x1", "baseFeePerGas": "0x0"}
# Ganache 7 on berlin once blocks exist; the code is its own, not a parse error of ours
GANACHE_CRASH = node_error(-32700, "Cannot read properties of undefined (reading 'toBigInt')")


@pytest.mark.parametrize("history", [ANVIL_BERLIN, GANACHE_CRASH], ids=["anvil", "ganache"])
async def test_pre_london_confirmed_by_the_latest_block(history: Any) -> None:
    node = FakeNode(
        eth_feeHistory=history, eth_getBlockByNumber=BERLIN_BLOCK, eth_gasPrice=hex(GWEI)
    )
    fees = oracle(node)
    assert await fees.estimate() == FeeParams(gas_price=GWEI)
    assert fees.legacy and node.count("eth_getBlockByNumber") == 1


async def test_zero_base_fee_on_a_london_chain_stays_eip1559() -> None:
    node = FakeNode(eth_feeHistory=ANVIL_BERLIN, eth_getBlockByNumber=ZERO_FEE_BLOCK)
    fees = oracle(node, FeePolicy(min_tip_wei=5))
    assert await fees.estimate() == FeeParams(max_fee_per_gas=5, max_priority_fee_per_gas=5)
    assert not fees.legacy
    crash = FakeNode(eth_feeHistory=GANACHE_CRASH, eth_getBlockByNumber=ZERO_FEE_BLOCK)
    with pytest.raises(NodeError):
        await oracle(crash).estimate()


async def test_declared_legacy_never_asks_for_fee_history() -> None:
    node = FakeNode(eth_feeHistory=AssertionError("not asked"), eth_gasPrice=hex(GWEI))
    fees = FeeOracle(node, chain(), FeePolicy(), legacy=True)
    assert fees.legacy
    assert await fees.estimate() == FeeParams(gas_price=GWEI)
    assert node.count("eth_feeHistory") == 0


async def test_use_legacy_after_a_refused_type_2_transaction() -> None:
    node = FakeNode(
        eth_feeHistory={"oldestBlock": "0x1", "baseFeePerGas": ["0x1", "0x1"], "gasUsedRatio": [0]},
        eth_gasPrice=hex(GWEI),
    )
    fees = oracle(node)
    assert (await fees.estimate()).max_fee_per_gas is not None
    fees.use_legacy()  # the node answered "EIP 1559 is not activated."
    assert await fees.estimate() == FeeParams(gas_price=GWEI)


class MethodNotFound(Exception):
    def __init__(self) -> None:
        super().__init__("the method eth_feeHistory does not exist/is not available")
        self.code = -32601


class Web3Style(Exception):
    """A client error carrying the JSON-RPC response, as web3's Web3RPCError does."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.rpc_response = {"error": {"code": code, "message": message}}


@pytest.mark.parametrize(
    "error",
    [
        MethodNotFound(),
        Web3Style("Method not found", -32601),
        RpcError("eth_feeHistory: Method not found"),
        ValueError({"code": -32601, "message": "nope"}),
    ],
)
async def test_missing_fee_history_falls_back_to_legacy(error: Exception) -> None:
    node = FakeNode(eth_feeHistory=error, eth_gasPrice=hex(5 * GWEI))
    fees = oracle(node)
    assert await fees.estimate() == FeeParams(gas_price=5 * GWEI)
    assert fees.legacy
    assert await fees.estimate() == FeeParams(gas_price=5 * GWEI)
    assert node.count("eth_feeHistory") == 1 and node.count("eth_gasPrice") == 2
    with pytest.raises(ValidationError):
        await fees.estimate(max_priority_fee_per_gas=1)


async def test_missing_fee_history_with_one_explicit_field_is_a_validation_error() -> None:
    node = FakeNode(eth_feeHistory=MethodNotFound(), eth_gasPrice="0x1")
    with pytest.raises(ValidationError):
        await oracle(node).estimate(max_fee_per_gas=10)


@pytest.mark.parametrize(
    "error",
    [RpcError("connection reset"), Web3Style("execution timeout", -32000), TimeoutError()],
)
async def test_other_fee_history_failures_propagate(error: Exception) -> None:
    node = FakeNode(eth_feeHistory=error, eth_gasPrice="0x1")
    fees = oracle(node)
    with pytest.raises(type(error)):
        await fees.estimate()
    assert not fees.legacy and node.count("eth_gasPrice") == 0


# --- bump -----------------------------------------------------------------------------------


def ceil_110(value: int) -> int:
    return -(-value * 11 // 10)


@st.composite
def eip1559_fees(draw: Callable[..., Any], top: int = MAX_WEI) -> FeeParams:
    cap = draw(st.one_of(st.integers(0, 1000), st.integers(0, top)))
    tip = draw(st.integers(0, cap))
    return FeeParams(max_fee_per_gas=cap, max_priority_fee_per_gas=tip)


@given(eip1559_fees())
def test_bump_raises_both_fields_by_at_least_ten_percent_rounded_up(old: FeeParams) -> None:
    assert old.max_fee_per_gas is not None and old.max_priority_fee_per_gas is not None
    new = bump(old)
    assert new.max_fee_per_gas is not None and new.max_priority_fee_per_gas is not None
    for before, after in (
        (old.max_fee_per_gas, new.max_fee_per_gas),
        (old.max_priority_fee_per_gas, new.max_priority_fee_per_gas),
    ):
        assert after >= ceil_110(before)
        assert after > before  # geth also wants strictly higher (matters at 0)
        # geth's own check: new >= old * 110 / 100 (integer division)
        assert after >= before * 110 // 100
    assert new.max_priority_fee_per_gas <= new.max_fee_per_gas
    assert new.is_eip1559 and new.gas_price is None


@given(eip1559_fees(), eip1559_fees())
def test_bump_reaches_the_market_and_keeps_tip_under_cap(old: FeeParams, market: FeeParams) -> None:
    new = bump(old, market=market)
    assert new.max_fee_per_gas is not None and new.max_priority_fee_per_gas is not None
    assert old.max_fee_per_gas is not None and old.max_priority_fee_per_gas is not None
    assert market.max_fee_per_gas is not None and market.max_priority_fee_per_gas is not None
    assert new.max_fee_per_gas >= max(ceil_110(old.max_fee_per_gas), market.max_fee_per_gas)
    assert new.max_priority_fee_per_gas >= max(
        ceil_110(old.max_priority_fee_per_gas), market.max_priority_fee_per_gas
    )
    assert new.max_priority_fee_per_gas <= new.max_fee_per_gas


@given(st.one_of(st.integers(0, 10_000), st.integers(0, MAX_WEI)))
def test_bump_legacy_gas_price(old: int) -> None:
    new = bump(FeeParams(gas_price=old)).gas_price
    assert new is not None and new >= ceil_110(old) and new > old


@given(eip1559_fees(), st.integers(0, 50_000))
def test_bump_honours_any_factor(old: FeeParams, factor_bps: int) -> None:
    assert old.max_fee_per_gas is not None
    new = bump(old, factor_bps=factor_bps)
    assert new.max_fee_per_gas is not None
    assert new.max_fee_per_gas * 10_000 >= old.max_fee_per_gas * (10_000 + factor_bps)


def test_bump_examples() -> None:
    old = FeeParams(max_fee_per_gas=100, max_priority_fee_per_gas=5)
    assert bump(old) == FeeParams(max_fee_per_gas=110, max_priority_fee_per_gas=6)
    zero = FeeParams(max_fee_per_gas=0, max_priority_fee_per_gas=0)
    assert bump(zero) == FeeParams(max_fee_per_gas=1, max_priority_fee_per_gas=1)
    market = FeeParams(max_fee_per_gas=50, max_priority_fee_per_gas=40)
    assert bump(old, market=market) == FeeParams(max_fee_per_gas=110, max_priority_fee_per_gas=40)
    hot = FeeParams(max_fee_per_gas=500, max_priority_fee_per_gas=200)
    assert bump(old, market=hot) == FeeParams(max_fee_per_gas=500, max_priority_fee_per_gas=200)
    assert bump(FeeParams(gas_price=10)) == FeeParams(gas_price=11)
    assert bump(FeeParams(gas_price=10), market=FeeParams(gas_price=30)).gas_price == 30
    # a legacy tx on a 1559 chain must at least match the market's cap
    assert bump(FeeParams(gas_price=10), market=market).gas_price == 50
    assert bump(old, factor_bps=2500).max_fee_per_gas == 125


@pytest.mark.parametrize(
    ("previous", "kwargs"),
    [
        (FeeParams(), {}),
        (FeeParams(compute_unit_price=5), {}),
        (FeeParams(gas_price=1), {"factor_bps": -1}),
        (FeeParams(gas_price=1), {"market": FeeParams()}),
        (
            FeeParams(max_fee_per_gas=2, max_priority_fee_per_gas=1),
            {"market": FeeParams(gas_price=5)},
        ),
    ],
)
def test_bump_rejects_what_it_cannot_raise(previous: FeeParams, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        bump(previous, **kwargs)


async def test_prefetch_queues_its_read_before_returning() -> None:
    """Given the batcher's ``call_soon``, the fee history read is queued at the call: it
    joins the batch of the reads asked in the same turn (a burst's balance and code
    lookups) instead of a batch of its own a turn later, and its answer is parsed before
    the callers waiting on a later read of that batch resume: they find it cached."""
    node = FakeNode(eth_feeHistory=history(REWARDS, BASES))
    loop = asyncio.get_running_loop()
    queued: list[asyncio.Future[Any]] = []

    def call_soon(method: str, params: list[Any]) -> asyncio.Future[Any]:
        node.calls.append((method, params))
        queued.append(loop.create_future())
        return queued[-1]

    fees = FeeOracle(node, chain(), FeePolicy(), rpc_soon=call_soon)
    fees.prefetch(head=7)
    assert node.count("eth_feeHistory") == 1  # asked before prefetch returned
    code = loop.create_future()  # the next read of the same batch
    outcome: list[object] = []

    async def sender() -> None:
        await code
        estimate = fees.estimate(head=7)
        try:
            estimate.send(None)
        except StopIteration as done:  # returned without waiting: the market was cached
            outcome.append(done.value)
        else:
            estimate.close()
            outcome.append("waited")

    task = asyncio.ensure_future(sender())
    await asyncio.sleep(0)  # both wait for the batch's answers
    queued[0].set_result(node.answers["eth_feeHistory"])  # answered in the batch's order
    code.set_result("0x")
    await task
    assert outcome == [await fees.estimate(head=7)]
    assert node.count("eth_feeHistory") == 1


async def test_prefetch_without_call_soon_still_fetches_once() -> None:
    node = FakeNode(eth_feeHistory=history(REWARDS, BASES))
    fees = oracle(node)
    fees.prefetch(head=7)
    first, second = await asyncio.gather(fees.estimate(head=7), fees.estimate(head=7))
    assert first == second and node.count("eth_feeHistory") == 1
