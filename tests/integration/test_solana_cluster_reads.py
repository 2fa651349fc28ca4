"""The local cluster over raw JSON-RPC: ``minContextSlot`` enforced as a validator does,
and the node-level reads of a one-node cluster (leaders, samples, stake minimum, ...).

Each server runs on a held clock (``slot_time=None``): slots move only when a test
produces blocks, so every slot asserted here is exact.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message, to_bytes_versioned
from solders.transaction import VersionedTransaction

from chainops.devnet.solana import SolanaRpcServer
from chainops.devnet.solana.cluster import SLOTS_PER_EPOCH
from chainops.operators.solana import programs

pytestmark = pytest.mark.integration

SOL = 10**9
TOKEN = str(programs.TOKEN_PROGRAM_ID)
VOTE_PROGRAM = "Vote111111111111111111111111111111111111111"
NOT_REACHED = "Minimum context slot has not been reached"
SAMPLE_SLOTS = 150  # 60 s of the held clock's nominal 0.4 s slots


@dataclass
class Rpc:
    server: SolanaRpcServer
    session: aiohttp.ClientSession

    async def call(self, method: str, params: list[Any] | None = None) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
        async with self.session.post(self.server.url, json=body) as reply:
            assert reply.status == 200
            return await reply.json()

    async def result(self, method: str, params: list[Any] | None = None) -> Any:
        reply = await self.call(method, params)
        assert "error" not in reply, reply
        return reply["result"]

    async def invalid(self, method: str, params: list[Any]) -> str:
        """The message of the -32602 the call must be answered with."""
        reply = await self.call(method, params)
        assert reply.get("error", {}).get("code") == -32602, reply
        return str(reply["error"]["message"])


async def open_rpc(skip_every: int | None = None) -> AsyncIterator[Rpc]:
    server = await SolanaRpcServer(slot_time=None, skip_every=skip_every).start()
    try:
        async with aiohttp.ClientSession() as session:
            yield Rpc(server, session)
    finally:
        await server.stop()


@pytest.fixture
async def rpc() -> AsyncIterator[Rpc]:
    async for opened in open_rpc():
        yield opened


@dataclass
class Keys:
    payer: str
    blockhash: str
    transaction: str  # a signed, funded transfer, base64
    message: str  # its message, base64


def prepare(rpc: Rpc) -> Keys:
    """A funded payer, 41 blocks (three distinct commitment levels), a transfer to send."""
    chain = rpc.server.chain
    payer = Keypair()
    chain.airdrop(str(payer.pubkey()), 10 * SOL)
    chain.advance(40)
    blockhash, _ = chain.latest_blockhash()
    ix = programs.transfer(payer.pubkey(), Keypair().pubkey(), SOL)
    message = Message.new_with_blockhash([ix], payer.pubkey(), Hash.from_string(blockhash))
    tx = VersionedTransaction(message, [payer])
    return Keys(
        payer=str(payer.pubkey()),
        blockhash=blockhash,
        transaction=base64.b64encode(bytes(tx)).decode(),
        message=base64.b64encode(to_bytes_versioned(message)).decode(),
    )


def _send(k: Keys, cfg: dict[str, Any]) -> list[Any]:
    # sendTransaction reads at its preflight commitment, not at ``commitment``
    moved = {"preflightCommitment": cfg["commitment"]} if "commitment" in cfg else {}
    rest = {key: value for key, value in cfg.items() if key != "commitment"}
    return [k.transaction, {"encoding": "base64", **rest, **moved}]


Call = Callable[[Keys, dict[str, Any]], list[Any]]
# Every implemented method whose config takes ``minContextSlot`` on a real node.
WITH_MIN_CONTEXT_SLOT: dict[str, Call] = {
    "getAccountInfo": lambda k, cfg: [k.payer, cfg],
    "getBalance": lambda k, cfg: [k.payer, cfg],
    "getBlockHeight": lambda k, cfg: [cfg],
    "getEpochInfo": lambda k, cfg: [cfg],
    "getFeeForMessage": lambda k, cfg: [k.message, cfg],
    "getLatestBlockhash": lambda k, cfg: [cfg],
    "getMultipleAccounts": lambda k, cfg: [[k.payer], cfg],
    "getProgramAccounts": lambda k, cfg: [VOTE_PROGRAM, cfg],
    "getSignaturesForAddress": lambda k, cfg: [k.payer, cfg],
    "getSlot": lambda k, cfg: [cfg],
    "getSlotLeader": lambda k, cfg: [cfg],
    "getStakeMinimumDelegation": lambda k, cfg: [cfg],
    "getTokenAccountsByOwner": lambda k, cfg: [k.payer, {"programId": TOKEN}, cfg],
    "getTransactionCount": lambda k, cfg: [cfg],
    "isBlockhashValid": lambda k, cfg: [k.blockhash, cfg],
    "simulateTransaction": lambda k, cfg: [k.transaction, {"encoding": "base64", **cfg}],
    "sendTransaction": _send,
}


@pytest.mark.parametrize("method", sorted(WITH_MIN_CONTEXT_SLOT))
async def test_min_context_slot_is_a_floor_under_the_slot_read_at(rpc: Rpc, method: str) -> None:
    k = prepare(rpc)
    build = WITH_MIN_CONTEXT_SLOT[method]
    chain = rpc.server.chain
    # getSignaturesForAddress refuses processed outright, as a validator does
    levels = ["confirmed", "finalized"]
    if method != "getSignaturesForAddress":
        levels.insert(0, "processed")
    for level in [None, *levels]:
        slot = chain.slot_at(level or "finalized")  # the RPC's default is finalized
        cfg: dict[str, Any] = {"minContextSlot": slot + 1}
        if level is not None:
            cfg["commitment"] = level
        reply = await rpc.call(method, build(k, cfg))
        assert reply.get("error") == {
            "code": -32016,
            "message": NOT_REACHED,
            "data": {"contextSlot": slot},
        }, (level, reply)
    assert len({chain.slot_at(level) for level in levels}) == len(levels)
    assert chain.received == {}  # nothing refused was sent on
    # At the floor exactly, the read is served, from a view at least that new.
    floor = chain.slot_at("finalized")
    answer = await rpc.result(method, build(k, {"minContextSlot": floor}))
    if isinstance(answer, dict) and "context" in answer:
        assert answer["context"]["slot"] >= floor


async def test_send_without_preflight_reads_at_the_newest_slot(rpc: Rpc) -> None:
    k = prepare(rpc)
    tip = rpc.server.chain.slot
    cfg = {"encoding": "base64", "minContextSlot": tip}
    refused = await rpc.call("sendTransaction", [k.transaction, cfg])
    assert refused.get("error", {}).get("code") == -32016, refused  # preflight: finalized
    sent = await rpc.result("sendTransaction", [k.transaction, {**cfg, "skipPreflight": True}])
    assert rpc.server.chain.transaction(sent) is not None


@pytest.mark.parametrize("value", [-1, "7", 1.5, True, 2**64, [3], {"slot": 3}])
@pytest.mark.parametrize(
    "method",
    [
        "getSlot",
        "getBalance",
        "getTokenAccountsByOwner",
        "getSignaturesForAddress",
        "simulateTransaction",
        "sendTransaction",
        "getStakeMinimumDelegation",
    ],
)
async def test_a_bad_min_context_slot_is_invalid_params(rpc: Rpc, method: str, value: Any) -> None:
    k = prepare(rpc)
    message = await rpc.invalid(method, WITH_MIN_CONTEXT_SLOT[method](k, {"minContextSlot": value}))
    assert "minContextSlot" in message
    assert rpc.server.chain.received == {}


# -- blocks and leaders ------------------------------------------------------------------


async def test_blocks_with_limit_lists_the_blocks_from_a_slot_on() -> None:
    async for rpc in open_rpc(skip_every=3):  # slots 3, 6, 9, ... hold no block
        rpc.server.chain.advance(20)
        confirmed = {"commitment": "confirmed"}
        got = await rpc.result("getBlocksWithLimit", [2, 5, confirmed])
        assert got == [2, 4, 5, 7, 8]
        newest = rpc.server.chain.slot_at("confirmed")
        everything = await rpc.result("getBlocks", [1, newest, confirmed])
        assert await rpc.result("getBlocksWithLimit", [0, 10_000, confirmed]) == everything
        assert await rpc.result("getBlocksWithLimit", [newest + 1, 3, confirmed]) == []
        assert await rpc.result("getBlocksWithLimit", [1, 0]) == []
        finalized = rpc.server.chain.slot_at("finalized")
        assert max(await rpc.result("getBlocksWithLimit", [1, 100])) == finalized


@pytest.mark.parametrize(
    "params",
    [
        [1],
        ["1", 5],
        [-1, 5],
        [True, 5],
        [1, -1],
        [1, 2.5],
        [1, 500_001],
        [1, 5, {"commitment": "processed"}],
        [1, 5, {"commitment": "soon"}],
    ],
)
async def test_blocks_with_limit_refuses_bad_params(rpc: Rpc, params: list[Any]) -> None:
    await rpc.invalid("getBlocksWithLimit", params)


async def test_slot_leaders_are_the_one_node_for_the_known_epochs(rpc: Rpc) -> None:
    node = (await rpc.result("getIdentity"))["identity"]
    assert await rpc.result("getSlotLeader") == node
    assert await rpc.result("getSlotLeaders", [0, 3]) == [node] * 3
    assert await rpc.result("getSlotLeaders", [5, 0]) == []
    assert len(await rpc.result("getSlotLeaders", [0, 5000])) == 5000
    # The schedule is known through the epoch after the root's (epoch 0 here).
    last_known = 2 * SLOTS_PER_EPOCH - 1
    assert await rpc.result("getSlotLeaders", [last_known, 1]) == [node]
    message = await rpc.invalid("getSlotLeaders", [last_known, 2])
    assert message == "Invalid slot range: leader schedule for epoch 2 is unavailable"


@pytest.mark.parametrize("params", [[], [0], ["0", 3], [-1, 3], [0, 5001], [0, "3"], [0, None]])
async def test_slot_leaders_refuse_bad_params(rpc: Rpc, params: list[Any]) -> None:
    await rpc.invalid("getSlotLeaders", params)


# -- what the node is ----------------------------------------------------------------------


async def test_performance_samples_count_each_minute_of_slots(rpc: Rpc) -> None:
    chain = rpc.server.chain
    payer = Keypair()
    chain.airdrop(str(payer.pubkey()), 10 * SOL)  # slot 1: the first sample's
    assert await rpc.result("getRecentPerformanceSamples") == []  # no whole minute yet
    chain.advance(200)
    blockhash, _ = chain.latest_blockhash()
    for lamports in (1, 2):  # two transfers in slot 201: the second sample's
        ix = programs.transfer(payer.pubkey(), Keypair().pubkey(), lamports)
        message = Message.new_with_blockhash([ix], payer.pubkey(), Hash.from_string(blockhash))
        chain.send(bytes(VersionedTransaction(message, [payer])))
    chain.advance(2 * SAMPLE_SLOTS - chain.slot)
    samples = await rpc.result("getRecentPerformanceSamples")
    assert samples == [
        {
            "slot": 2 * SAMPLE_SLOTS,
            "numTransactions": 2,
            "numNonVoteTransactions": 2,
            "numSlots": SAMPLE_SLOTS,
            "samplePeriodSecs": 60,
        },
        {
            "slot": SAMPLE_SLOTS,
            "numTransactions": 1,
            "numNonVoteTransactions": 1,
            "numSlots": SAMPLE_SLOTS,
            "samplePeriodSecs": 60,
        },
    ]
    assert await rpc.result("getRecentPerformanceSamples", [1]) == samples[:1]
    assert await rpc.result("getRecentPerformanceSamples", [0]) == []
    assert sum(s["numTransactions"] for s in samples) == await rpc.result(
        "getTransactionCount", [{"commitment": "processed"}]
    )


async def test_a_performance_sample_ends_at_a_block_when_its_last_slot_is_skipped() -> None:
    async for rpc in open_rpc(skip_every=SAMPLE_SLOTS):
        rpc.server.chain.advance(SAMPLE_SLOTS)
        samples = await rpc.result("getRecentPerformanceSamples")
        assert [s["slot"] for s in samples] == [SAMPLE_SLOTS - 1]


@pytest.mark.parametrize("params", [[721], [-1], ["3"], [2.5], [True]])
async def test_performance_samples_refuse_bad_limits(rpc: Rpc, params: list[Any]) -> None:
    await rpc.invalid("getRecentPerformanceSamples", params)


async def test_stake_minimum_delegation_is_the_stake_programs(rpc: Rpc) -> None:
    rpc.server.chain.advance(40)
    got = await rpc.result("getStakeMinimumDelegation", [{"commitment": "confirmed"}])
    assert got["context"]["slot"] == rpc.server.chain.slot_at("confirmed")
    assert got["value"] == SOL  # what the runtime's features make it: one SOL


async def test_no_votes_no_inflation_no_snapshot(rpc: Rpc) -> None:
    votes = await rpc.result("getVoteAccounts", [{"commitment": "confirmed"}])
    assert votes == {"current": [], "delinquent": []}
    assert await rpc.result("getProgramAccounts", [VOTE_PROGRAM]) == []  # the same truth
    governor = await rpc.result("getInflationGovernor")
    assert governor == dict.fromkeys(
        ("initial", "terminal", "taper", "foundation", "foundationTerm"), 0.0
    )
    rate = await rpc.result("getInflationRate")
    epoch = (await rpc.result("getEpochInfo"))["epoch"]
    assert rate == {"total": 0.0, "validator": 0.0, "foundation": 0.0, "epoch": epoch}
    snapshot = await rpc.call("getHighestSnapshotSlot")
    assert snapshot["error"] == {"code": -32008, "message": "No snapshot"}


async def test_the_newest_shreds_are_the_newest_block(rpc: Rpc) -> None:
    rpc.server.chain.advance(7)
    tip = await rpc.result("getSlot", [{"commitment": "processed"}])
    assert tip == 8
    assert await rpc.result("getMaxRetransmitSlot") == tip
    assert await rpc.result("getMaxShredInsertSlot") == tip


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("getVoteAccounts", [{"votePubkey": "not-a-key"}]),
        ("getVoteAccounts", [{"delinquentSlotDistance": -1}]),
        ("getVoteAccounts", [{"keepUnstakedDelinquents": "yes"}]),
        ("getVoteAccounts", [{"commitment": "soon"}]),
        ("getInflationGovernor", [{"commitment": "soon"}]),
        ("getStakeMinimumDelegation", [{"commitment": "soon"}]),
    ],
)
async def test_node_reads_refuse_bad_params(rpc: Rpc, method: str, params: list[Any]) -> None:
    await rpc.invalid(method, params)
