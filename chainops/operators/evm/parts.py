"""The narrow interfaces the EVM parts depend on (never the facade).

The watchdog, the replacer and recovery each take only what they use: the node
(a few JSON-RPC verbs), the live transactions (the monitor), the send
pipeline's verbs, fee pricing, a clock. Tests hand them small in-memory
objects with the same shape.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from chainops.core.attempt import AttemptKind, FeeParams, TxAttempt
from chainops.core.errors import ChainopsError
from chainops.core.ids import TxHash
from chainops.core.priority import Priority
from chainops.core.transaction import Transaction
from chainops.operators.evm.node_errors import NodeError
from chainops.operators.evm.requests import TxRequest

GasEstimate = Callable[[TxRequest], Awaitable[int]]


class Clock(Protocol):
    """Monotonic seconds."""

    def __call__(self) -> float: ...


monotonic: Clock = time.monotonic


class NodeRpc(Protocol):
    """The JSON-RPC verbs the parts use (coalesced into batches by the batcher)."""

    async def call(self, method: str, params: list[Any]) -> Any: ...

    async def call_many(self, calls: list[tuple[str, list[Any]]]) -> list[Any]: ...

    async def send_raw(self, raw: bytes) -> TxHash: ...

    def call_soon(self, method: str, params: list[Any]) -> asyncio.Future[Any]:
        """:meth:`call`, queued at once: it joins this loop turn's batch."""
        ...

    def send_raw_soon(self, raw: bytes) -> asyncio.Future[TxHash]:
        """:meth:`send_raw`, queued at once (a coroutine would wait a turn to start)."""
        ...


class LiveTransactions(Protocol):
    """The monitor as the parts see it: the head, the live set, a turn on demand."""

    head: int | None
    sending: set[str]  # client ids whose first broadcast is under way

    @property
    def live(self) -> list[Transaction]: ...

    def track(self, tx: Transaction) -> None: ...

    def wake(self) -> None: ...

    async def turn(self) -> None: ...

    def sequence(self) -> int: ...

    def mined_count(self, sender: str) -> int | None:
        """``sender``'s nonce count at ``latest`` as the last turn read it (None: unknown)."""
        ...


class Pricing(Protocol):
    """Fee estimates from the market."""

    def invalidate(self) -> None: ...

    async def estimate(
        self,
        priority: Priority = ...,
        *,
        max_fee_per_gas: int | None = ...,
        max_priority_fee_per_gas: int | None = ...,
        gas_price: int | None = ...,
        head: int | None = ...,
    ) -> FeeParams: ...


class PipelineVerbs(Protocol):
    """What the watchdog, the replacer and recovery ask of the send pipeline."""

    async def add_attempt(
        self,
        tx: Transaction,
        request: TxRequest,
        value: int,
        gas: int,
        fees: FeeParams,
        kind: AttemptKind,
    ) -> TxAttempt: ...

    def save_soon(self, tx: Transaction) -> None: ...

    async def broadcast(
        self, tx: Transaction, attempt: TxAttempt, *, restoring: bool = False
    ) -> None: ...

    async def fill(self, nonce: int) -> Transaction: ...

    async def fill_below(self, tx: Transaction, count: int) -> None: ...

    async def give_up(self, tx: Transaction, exc: NodeError, *, release: bool = True) -> bool: ...

    async def replaced_elsewhere(self, tx: Transaction) -> None: ...

    def stall(self, tx: Transaction, error: ChainopsError) -> None: ...


class Replacements(Protocol):
    """Speed-up and cancel, as the watchdog triggers them."""

    async def speed_up(self, tx: Transaction) -> TxAttempt: ...

    async def cancel(self, tx: Transaction) -> TxAttempt: ...


class NonceBook(Protocol):
    """The allocator's verbs recovery uses."""

    async def sync(self) -> int: ...

    async def adopt(self, nonce: int) -> None: ...

    def high_water(self) -> int: ...

    def forget_high_water(self) -> None: ...


@dataclass(frozen=True)
class WatchdogPolicy:
    """When to bump, cancel and look for a transaction that stays pending."""

    bump_after_blocks: int | None = 3
    bump_after_seconds: float | None = None
    max_bumps: int = 8
    rebroadcast_after: float = 30.0
    # The share of rebroadcast_after the account's nonce count may stand still before
    # its lowest pending nonce is looked at (a public chain's count stands still between
    # blocks; under automine a still count with work pending is already a stall).
    head_look: float = 0.25
    # How long the count must also stand still before a bump by blocks: under automine a
    # run of blocks without the account's queued transactions can pass in milliseconds.
    bump_min_seconds: float = 0.0


@dataclass(frozen=True)
class ReplacementPolicy:
    """Gas headroom and the fee ceilings of every replacement."""

    gas_headroom_bps: int = 12_000
    max_fee_multiple: int = 4
    max_fee_cap_wei: int | None = None
