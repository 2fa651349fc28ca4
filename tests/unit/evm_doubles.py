"""Test doubles for the EVM parts' decision logic: a fake clock and a fake RPC.

``FakeNode`` answers the few JSON-RPC verbs the parts use from in-memory
tables the test sets (receipts, the pool, the account's nonce count, scripted
refusals). It is our double for our own decision logic, not a node: the
behaviour of real nodes is covered by the Anvil tests. ``Rig`` wires the real
parts (pipeline, monitor, replacer, watchdog, recovery, allocator, journal)
around these two doubles.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from eth_utils.crypto import keccak

from chainops.core.assets import native_asset
from chainops.core.attempt import FeeParams
from chainops.core.bus import EventBus
from chainops.core.ids import ClientIdGenerator, TxHash
from chainops.core.journal import SqliteJournal
from chainops.core.platforms import get_chain
from chainops.core.priority import Priority
from chainops.core.transaction import Transaction
from chainops.operators.chain import Waiters
from chainops.operators.evm.metrics import EvmMetrics
from chainops.operators.evm.monitor import BlockMonitor
from chainops.operators.evm.nonces import NonceAllocator
from chainops.operators.evm.parts import ReplacementPolicy, WatchdogPolicy
from chainops.operators.evm.pipeline import SendPipeline
from chainops.operators.evm.recovery import Recovery
from chainops.operators.evm.replacements import Replacer
from chainops.operators.evm.requests import TxRequest
from chainops.operators.evm.signer import LocalSigner
from chainops.operators.evm.watchdog import Watchdog
from chainops.operators.group_commit import GroupCommitter

# Anvil's first well-known development key: never holds value anywhere.
KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
RECIPIENT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
GWEI = 10**9
CHAIN = get_chain("devnet")
ETH = native_asset(CHAIN)


class FakeClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeNode:
    """In-memory answers to ``call``, ``call_many`` and ``send_raw`` (the NodeRpc protocol)."""

    def __init__(self) -> None:
        self.head = 100
        self.finalized: int | None = None
        self.receipts: dict[str, dict[str, Any]] = {}
        self.pool: set[str] = set()
        self.pooled_by_nonce: dict[int, dict[str, Any]] = {}
        self.nonce_count = 0  # the account's count at "latest"
        self.pending_count = 0  # ... and at "pending"
        self.sent: list[bytes] = []
        self.refusals: list[BaseException] = []  # raised by the next sends, in order
        self.failing: set[str] = set()  # methods answered with an error
        self.calls: list[str] = []
        self.queued: dict[str, dict[str, str]] = {}  # txpool_inspect's queue: sender -> nonces
        self.block_hashes: dict[int, str] = {}  # eth_getBlockByNumber by number: its hash

    # -- what the test arranges ---------------------------------------------------------------

    def mine(self, tx_hash: str, *, status: int = 1, block: int | None = None) -> None:
        """A receipt for ``tx_hash`` in ``block`` (default: the head)."""
        number = self.head if block is None else block
        self.receipts[tx_hash] = {
            "transactionHash": tx_hash,
            "blockNumber": hex(number),
            "blockHash": "0x" + keccak(text=f"{number}:{len(self.receipts)}").hex(),
            "transactionIndex": "0x0",
            "status": hex(status),
            "gasUsed": hex(21_000),
            "effectiveGasPrice": hex(GWEI),
            "contractAddress": None,
        }
        self.pool.discard(tx_hash)

    def reorg_out(self, tx_hash: str) -> None:
        """The block holding ``tx_hash`` is gone, and the transaction with it."""
        del self.receipts[tx_hash]

    # -- NodeRpc --------------------------------------------------------------------------------

    async def call(self, method: str, params: list[Any]) -> Any:
        answer = self._answer(method, params)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    async def call_many(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        return [self._answer(method, params) for method, params in calls]

    def call_soon(self, method: str, params: list[Any]) -> asyncio.Future[Any]:
        return asyncio.ensure_future(self.call(method, params))

    def send_raw_soon(self, raw: bytes) -> asyncio.Future[TxHash]:
        return asyncio.ensure_future(self.send_raw(raw))

    async def send_raw(self, raw: bytes) -> TxHash:
        self.calls.append("eth_sendRawTransaction")
        self.sent.append(raw)
        if self.refusals:
            raise self.refusals.pop(0)
        tx_hash = TxHash(keccak(raw))
        self.pool.add(str(tx_hash))
        return tx_hash

    def _answer(self, method: str, params: list[Any]) -> Any:
        self.calls.append(method)
        if method in self.failing:
            return ConnectionError(f"{method} failed")
        if method == "eth_blockNumber":
            return hex(self.head)
        if method == "eth_getTransactionReceipt":
            return self.receipts.get(params[0])
        if method == "eth_getTransactionByHash":
            return {"hash": params[0]} if params[0] in self.pool else None
        if method == "eth_getTransactionCount":
            return hex(self.pending_count if params[1] == "pending" else self.nonce_count)
        if method == "eth_getTransactionBySenderAndNonce":
            return self.pooled_by_nonce.get(int(params[1], 16))
        if method == "eth_getBlockByNumber" and params[0] == "finalized":
            return None if self.finalized is None else {"number": hex(self.finalized)}
        if method == "eth_getBlockByNumber":
            number = int(params[0], 16)
            found = self.block_hashes.get(number)
            return None if found is None else {"number": params[0], "hash": found}
        if method == "eth_estimateGas":
            return hex(21_000)
        if method == "txpool_inspect":
            return {"pending": {}, "queued": self.queued}
        raise AssertionError(f"the fake node does not answer {method}")


class FakePricing:
    """The market's fees, as the test sets them (the Pricing protocol)."""

    def __init__(self, market: FeeParams) -> None:
        self.market = market
        self.invalidations = 0

    def invalidate(self) -> None:
        self.invalidations += 1

    async def estimate(
        self,
        priority: Priority = Priority.NORMAL,
        *,
        max_fee_per_gas: int | None = None,
        max_priority_fee_per_gas: int | None = None,
        gas_price: int | None = None,
        head: int | None = None,
    ) -> FeeParams:
        return self.market


def fees(cap_gwei: int = 100, tip_gwei: int = 2) -> FeeParams:
    return FeeParams(max_fee_per_gas=cap_gwei * GWEI, max_priority_fee_per_gas=tip_gwei * GWEI)


class Rig:
    """The real EVM parts wired around a FakeNode and a FakeClock."""

    def __init__(
        self,
        *,
        watchdog: WatchdogPolicy | None = None,
        replacement: ReplacementPolicy | None = None,
        confirmations: int = 1,
        node: FakeNode | None = None,
        journal: SqliteJournal | None = None,
    ) -> None:
        self.clock = FakeClock()
        self.node = node or FakeNode()
        self.signer = LocalSigner.from_key(KEY)
        self.journal = journal or SqliteJournal(":memory:")
        self.events = EventBus()
        self.metrics = EvmMetrics()
        self.waiters = Waiters()
        self.pricing = FakePricing(fees())
        self.nonces = NonceAllocator(
            CHAIN.chain_id, self.signer.address, self.journal, self._pending_count, window=16
        )
        self.reverted_replays = 0
        self.monitor = BlockMonitor(
            self.node.call_many,
            ETH,
            confirmations=confirmations,
            track_finality=False,
            poll_interval=0.01,
            revert_reason=self._revert_reason,
            on_change=self._changed,
        )
        self.pipeline = SendPipeline(
            chain_id=31337,
            platform=CHAIN.name,
            signer=self.signer,
            ids=ClientIdGenerator("tx"),
            nonces=self.nonces,
            commits=GroupCommitter(self.journal),
            rpc=self.node,
            live=self.monitor,
            pricing=self.pricing,
            events=self.events,
            metrics=self.metrics,
            bind=lambda tx: None,
            wake=self.waiters.wake,
            stall=self.waiters.stall,
            clock=self.clock,
        )
        self.replacer = Replacer(
            sender=self.signer.address,
            native=ETH,
            pipeline=self.pipeline,
            rpc=self.node,
            live=self.monitor,
            pricing=self.pricing,
            estimate_gas=self._estimate,
            policy=replacement or ReplacementPolicy(),
            events=self.events,
            metrics=self.metrics,
        )
        self.watchdog = Watchdog(
            owner=str(self.signer.address),
            policy=watchdog or WatchdogPolicy(rebroadcast_after=1.0),
            rpc=self.node,
            live=self.monitor,
            pipeline=self.pipeline,
            replacer=self.replacer,
            metrics=self.metrics,
            clock=self.clock,
        )
        self.recovery = Recovery(self.nonces, self.pipeline)

    async def _pending_count(self) -> int:
        return self.node.pending_count

    async def _estimate(self, request: TxRequest) -> int:
        return 21_000

    async def _revert_reason(self, tx: Transaction, receipt: dict[str, Any]) -> str | None:
        self.reverted_replays += 1
        return "out of luck"

    async def _changed(self, tx: Transaction) -> None:
        await self.pipeline.changed(tx)

    async def send(self, value: str = "0.1") -> Transaction:
        """reserve -> sign -> journal -> broadcast, as ``EvmOperator.send`` ends."""
        request = TxRequest(to=RECIPIENT, value=Decimal(value))  # type: ignore[arg-type]
        tx = await self.pipeline.prepare(request, ETH.to_raw(request.value), 21_000, fees())
        await self.pipeline.launch(tx)
        self.node.pending_count = max(self.node.pending_count, (tx.nonce or 0) + 1)
        return tx

    def stored(self, tx: Transaction) -> Transaction:
        """The journal's copy of ``tx``."""
        found = self.journal.load(str(tx.client_id), Transaction)
        assert found is not None
        return found
