"""EIP-1559 fee estimation from ``eth_feeHistory``, and the legacy fallback.

One ``eth_feeHistory`` call gives the next block's base fee and, per recent
block, the 10th/50th/90th percentile priority fees actually paid. The tip for
a :class:`Priority` is the median of its percentile over the non-empty blocks,
floored by the chain's :class:`FeePolicy`; the fee cap is
``base_fee_multiplier * next_base_fee + tip`` (2x still covers the base fee
after about six consecutive full blocks, each raising it by 12.5 %). Chains
without EIP-1559 (declared, or detected: a node that refuses ``eth_feeHistory``
before London, as Hardhat does, or reports a null base fee, as Ganache does), and
nodes that do not know ``eth_feeHistory``, are priced from ``eth_gasPrice``.

All arithmetic is on integer wei; nothing here ever goes through a float.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chainops.core.attempt import FeeParams
from chainops.core.errors import ChainopsError, RpcError, ValidationError
from chainops.core.platforms import ChainPlatform
from chainops.core.priority import Priority
from chainops.operators.evm.london import (
    NoBaseFee,
    history_doubtful,
    latest_block_has_base_fee,
    may_be_pre_london,
    says_pre_london,
)

__all__ = [
    "LEGACY_MULTIPLIER_BPS",
    "REWARD_PERCENTILES",
    "FeeCapExceeded",
    "FeeOracle",
    "FeePolicy",
    "FeeSnapshot",
    "NoBaseFee",
    "RpcCall",
    "default_policy",
    "parse_fee_history",
]

GWEI = 10**9
BPS = 10_000

RpcCall = Callable[[str, list[Any]], Awaitable[Any]]
"""An async JSON-RPC call: ``await rpc(method, params)`` returns the decoded ``result``."""
# A read queued at the call (the batcher's call_soon): the future gives its answer.
RpcSoon = Callable[[str, list[Any]], "asyncio.Future[Any]"]


# Reward percentile per priority: the 10th is what the cheapest included txs paid
# (mined eventually, in a calm market), the median is what a typical tx paid, the 90th
# outbids nearly every tx in recent blocks without chasing the extreme outliers.
REWARD_PERCENTILES: Mapping[Priority, int] = {
    Priority.SLOW: 10,
    Priority.NORMAL: 50,
    Priority.FAST: 90,
}
_PERCENTILES = sorted(REWARD_PERCENTILES.values())

# Legacy gas price as a share of eth_gasPrice, in basis points. The node's value is
# already its "normal" suggestion; SLOW does not go below it because, without a base
# fee, an under-market price may never be mined; FAST adds a quarter to jump the queue.
LEGACY_MULTIPLIER_BPS: Mapping[Priority, int] = {
    Priority.SLOW: 10_000,
    Priority.NORMAL: 10_000,
    Priority.FAST: 12_500,
}

# eth_feeHistory serves at most 1024 blocks per call (geth, Erigon, Anvil).
_MAX_HISTORY_BLOCKS = 1024
_METHOD_NOT_FOUND = -32601
_MISSING_METHOD_TEXT = (
    "method not found",
    "does not exist",
    "not available",
    "not supported",
    "unsupported method",
)


class FeeCapExceeded(ChainopsError):
    """A fee above the policy's absolute ceiling; nothing was priced or sent at it.

    Raised rather than clamped: a transaction priced under the market would sit
    in the mempool, holding its nonce, until the market came back down.
    """

    def __init__(self, message: str, *, fee_wei: int, cap_wei: int) -> None:
        super().__init__(message)
        self.fee_wei = fee_wei
        self.cap_wei = cap_wei


def _check_uint(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError(f"{what} must be a non-negative int (wei), got {value!r}")
    return value


@dataclass(frozen=True, kw_only=True)
class FeePolicy:
    """Per-chain floors and ceilings for fee estimates (all values in wei).

    ``min_tip_wei`` floors the EIP-1559 tip and ``min_gas_price_wei`` the legacy
    gas price. ``max_fee_cap_wei`` is an absolute ceiling on the fee cap (or gas
    price): an estimate or explicit value above it raises :class:`FeeCapExceeded`;
    ``None`` means no ceiling.
    """

    min_tip_wei: int = 0
    min_gas_price_wei: int = 0
    max_fee_cap_wei: int | None = None
    # 10 blocks (~2 minutes on Ethereum) follow the market without one odd block dominating.
    history_blocks: int = 10
    base_fee_multiplier: int = 2

    def __post_init__(self) -> None:
        _check_uint(self.min_tip_wei, "min_tip_wei")
        _check_uint(self.min_gas_price_wei, "min_gas_price_wei")
        if self.max_fee_cap_wei is not None:
            _check_uint(self.max_fee_cap_wei, "max_fee_cap_wei")
            if self.max_fee_cap_wei < self.min_tip_wei:
                raise ValidationError("max_fee_cap_wei is below min_tip_wei")
        _check_uint(self.history_blocks, "history_blocks")
        if not 1 <= self.history_blocks <= _MAX_HISTORY_BLOCKS:
            raise ValidationError(f"history_blocks must be in 1..{_MAX_HISTORY_BLOCKS}")
        _check_uint(self.base_fee_multiplier, "base_fee_multiplier")
        if self.base_fee_multiplier < 1:
            raise ValidationError("base_fee_multiplier must be at least 1")


_POLICIES: dict[int, FeePolicy] = {
    # Ethereum: a tip of 0.01 gwei keeps builders interested when blocks are calm;
    # 500 gwei is above every spike since 2022, so a higher fee must be a deliberate choice.
    1: FeePolicy(min_tip_wei=GWEI // 100, max_fee_cap_wei=500 * GWEI),
    # Polygon PoS: nodes refuse tips below 30 gwei; fees there spike into the thousands.
    137: FeePolicy(min_tip_wei=30 * GWEI, max_fee_cap_wei=10_000 * GWEI),
    # BSC prices by a flat gas price; the floor only guards against a zero suggestion.
    56: FeePolicy(min_gas_price_wei=GWEI // 10, max_fee_cap_wei=100 * GWEI),
    # Arbitrum's sequencer orders first-come-first-served: a tip buys nothing.
    42161: FeePolicy(min_tip_wei=0, max_fee_cap_wei=100 * GWEI),
    # OP Stack chains order by tip under load; 0.001 gwei is a token, sub-cent tip.
    10: FeePolicy(min_tip_wei=GWEI // 1000, max_fee_cap_wei=100 * GWEI),
    8453: FeePolicy(min_tip_wei=GWEI // 1000, max_fee_cap_wei=100 * GWEI),
}

# Local chains: 1 gwei matches Anvil's initial base fee; ether is free there and tests
# spike the base fee at will, so there is no ceiling.
_LOCAL_POLICY = FeePolicy(min_tip_wei=GWEI, min_gas_price_wei=GWEI)
# Unknown chains get no floor and no ceiling: a floor right for one chain overpays by
# orders of magnitude on a cheap one. Pass an explicit policy for production use.
_GENERIC_POLICY = FeePolicy()


def default_policy(chain: ChainPlatform) -> FeePolicy:
    """The built-in fee policy of a chain (local chains share one; unknown chains get none)."""
    if chain.is_local:
        return _LOCAL_POLICY
    if isinstance(chain.chain_id, int):
        return _POLICIES.get(chain.chain_id, _GENERIC_POLICY)
    return _GENERIC_POLICY


@dataclass(frozen=True, kw_only=True)
class FeeSnapshot:
    """What one ``eth_feeHistory`` reply says about the market (all wei)."""

    latest_block: int
    next_base_fee: int
    tips: Mapping[Priority, int]  # median reward of each priority's percentile, unfloored
    blocks: int  # blocks in the reply
    non_empty_blocks: int  # blocks the tips were taken from


def _to_int(value: object, what: str) -> int:
    """A JSON-RPC quantity (hex string, or int if already decoded) as an int."""
    if isinstance(value, int) and not isinstance(value, bool):
        result = value
    elif isinstance(value, str):
        try:
            result = int(value, 16) if value[:2].lower() == "0x" else int(value)
        except ValueError:
            raise RpcError(f"{what}: not a quantity: {value!r}") from None
    else:
        raise RpcError(f"{what}: not a quantity: {value!r}")
    if result < 0:
        raise RpcError(f"{what}: negative quantity {value!r}")
    return result


def _median(values: Sequence[int]) -> int:
    """The integer median; between two middle values it rounds up (never under-tips)."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return -(-(ordered[mid - 1] + ordered[mid]) // 2)


def _is_empty_block(ratio: object, rewards: Sequence[int]) -> bool:
    """An empty block reports all-zero rewards that say nothing about the market."""
    if isinstance(ratio, int | float) and not isinstance(ratio, bool):
        # float used only as a flag (0 = no gas used), never in fee arithmetic
        return ratio == 0
    return not any(rewards)


def parse_fee_history(reply: object) -> FeeSnapshot:
    """Reduce an ``eth_feeHistory`` reply requested with percentiles 10, 50, 90."""
    if not isinstance(reply, Mapping):
        raise RpcError(f"eth_feeHistory: unexpected reply {reply!r}")
    base_fees = reply.get("baseFeePerGas")
    ratios = reply.get("gasUsedRatio")
    rewards = reply.get("reward") or []
    if not isinstance(base_fees, list) or not base_fees or not isinstance(ratios, list):
        raise RpcError("eth_feeHistory: reply lacks baseFeePerGas or gasUsedRatio")
    if not isinstance(rewards, list) or (rewards and len(rewards) != len(ratios)):
        raise RpcError("eth_feeHistory: reward does not match the blocks")
    oldest = _to_int(reply.get("oldestBlock"), "eth_feeHistory oldestBlock")
    blocks = len(ratios)
    # the last base fee is the one of the block after the newest in the reply
    next_base_fee = _to_int(base_fees[-1], "eth_feeHistory baseFeePerGas")
    columns: list[list[int]] = [[] for _ in _PERCENTILES]
    for ratio, row in zip(ratios, rewards, strict=False):
        if not isinstance(row, list) or len(row) != len(_PERCENTILES):
            raise RpcError(f"eth_feeHistory: reward row {row!r} does not match percentiles")
        values = [_to_int(v, "eth_feeHistory reward") for v in row]
        if _is_empty_block(ratio, values):
            continue
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    tips = {
        priority: _median(columns[_PERCENTILES.index(pct)]) if columns[0] else 0
        for priority, pct in REWARD_PERCENTILES.items()
    }
    return FeeSnapshot(
        latest_block=oldest + blocks - 1 if blocks else oldest,
        next_base_fee=next_base_fee,
        tips=tips,
        blocks=blocks,
        non_empty_blocks=len(columns[0]),
    )


def _rpc_error_code(exc: BaseException) -> int | None:
    """A JSON-RPC error code carried by an exception, wherever the client put it."""
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        return code
    response = getattr(exc, "rpc_response", None)
    candidates = [response, *exc.args]
    for item in candidates:
        if isinstance(item, Mapping):
            error = item.get("error", item)
            if isinstance(error, Mapping) and isinstance(error.get("code"), int):
                return int(error["code"])
    return None


def _is_method_missing(exc: BaseException) -> bool:
    """True if a node said it does not implement the method."""
    if _rpc_error_code(exc) == _METHOD_NOT_FOUND:
        return True
    text = str(exc).lower()
    return any(marker in text for marker in _MISSING_METHOD_TEXT)


class FeeOracle:
    """Estimates fees for one chain from its own node, cached per block.

    ``rpc`` is an async JSON-RPC call returning decoded results (hex strings).
    ``legacy=True`` prices by ``eth_gasPrice`` from the start (a network declared legacy
    in the config); otherwise the oracle switches to it when the node shows the chain
    has no EIP-1559.
    """

    def __init__(
        self,
        rpc: RpcCall,
        chain: ChainPlatform,
        policy: FeePolicy | None = None,
        *,
        legacy: bool = False,
        rpc_soon: RpcSoon | None = None,
    ) -> None:
        if not chain.is_evm:
            raise ValidationError(f"{chain.name} is not an EVM chain")
        self._rpc = rpc
        self._rpc_soon = rpc_soon
        self.chain = chain
        self.policy = policy if policy is not None else default_policy(chain)
        self._legacy = legacy or not chain.supports_eip1559
        self._snapshot: tuple[int, FeeSnapshot] | None = None  # (cache key, data)
        self._gas_price: tuple[int, int] | None = None  # (head, wei)
        # One fetch per head at a time, shared by every caller that asks meanwhile (a lock
        # would let its waiters through one loop turn each: a thousand sends in a trickle).
        self._fetches: dict[int | None, asyncio.Future[FeeSnapshot]] = {}

    @property
    def legacy(self) -> bool:
        """True when pricing by ``eth_gasPrice`` (chain without EIP-1559, or no feeHistory)."""
        return self._legacy

    def use_legacy(self) -> None:
        """Price by ``eth_gasPrice`` from now on (the node refused a type-2 transaction)."""
        self._legacy = True
        self.invalidate()

    def invalidate(self) -> None:
        """Forget cached market data; the next estimate asks the node."""
        self._snapshot = None
        self._gas_price = None

    async def snapshot(self, head: int | None = None) -> FeeSnapshot:
        """The market from ``eth_feeHistory``; reused while the caller's ``head`` is unchanged.

        The cache key is the caller's ``head`` when given (the reply is at least that
        fresh), else the newest block the reply reports. A key can only be older
        than the data it holds, so a hit is never stale. Anvil reports a wrong
        ``oldestBlock`` when it returns fewer blocks than asked for, which makes its
        reported newest block too low: at worst a cache miss, never a stale hit.
        One exception: Anvil fills that history after it mines, so a reply right after
        a block can lack it, and the hit is one block behind until the head moves; the
        default ``base_fee_multiplier`` of 2 covers that (a base fee rises 1.125x at most).
        """
        hit = self._cached(head)
        if hit is not None:
            return hit
        fetch = self._fetches.get(head)
        if fetch is None:
            fetch = self._fetches[head] = asyncio.ensure_future(self._fetch(head))
            fetch.add_done_callback(lambda done: self._fetched(head, done))
        # shield: one caller cancelled must not cancel the fetch the others wait for
        return await asyncio.shield(fetch)

    def prefetch(self, head: int | None = None) -> None:
        """Start the fee market fetch for ``head`` now, unless cached or under way.

        A burst of sends asks for it while other reads of theirs are in flight; their
        :meth:`estimate` calls then share this one fetch (one task, not one per send).
        """
        if self._legacy or head is None or self._cached(head) is not None:
            return
        if head not in self._fetches:
            # Queued now when the batcher allows: the read shares the batch of the reads
            # asked in this turn, and is answered (and parsed) before their callers resume.
            soon = self._rpc_soon
            asked = None if soon is None else soon("eth_feeHistory", self._history_params())
            fetch = self._fetches[head] = asyncio.ensure_future(self._fetch(head, asked))
            fetch.add_done_callback(lambda done: self._fetched(head, done))

    def _history_params(self) -> list[Any]:
        return [hex(self.policy.history_blocks), "latest", _PERCENTILES]

    async def _fetch(
        self, head: int | None, asked: asyncio.Future[Any] | None = None
    ) -> FeeSnapshot:
        if asked is not None:
            reply = await asked
        else:
            reply = await self._rpc("eth_feeHistory", self._history_params())
        doubtful = history_doubtful(reply)
        if doubtful or (doubtful is None and not await latest_block_has_base_fee(self._rpc)):
            raise NoBaseFee(f"{self.chain.name}: the node reports no base fee")
        snapshot = parse_fee_history(reply)
        self._snapshot = (head if head is not None else snapshot.latest_block, snapshot)
        return snapshot

    def _fetched(self, head: int | None, done: asyncio.Future[FeeSnapshot]) -> None:
        if self._fetches.get(head) is done:
            del self._fetches[head]
        if not done.cancelled():
            done.exception()  # its callers raise it; one gone first must not leave it unread

    def _cached(self, head: int | None) -> FeeSnapshot | None:
        if head is None or self._snapshot is None or self._snapshot[0] != head:
            return None
        return self._snapshot[1]

    async def _node_gas_price(self, head: int | None) -> int:
        cached = self._gas_price
        if head is not None and cached is not None and cached[0] == head:
            return cached[1]
        price = _to_int(await self._rpc("eth_gasPrice", []), "eth_gasPrice")
        if head is not None:
            self._gas_price = (head, price)
        return price

    async def estimate(
        self,
        priority: Priority = Priority.NORMAL,
        *,
        max_fee_per_gas: int | None = None,
        max_priority_fee_per_gas: int | None = None,
        gas_price: int | None = None,
        head: int | None = None,
    ) -> FeeParams:
        """Fees for a transaction sent now; explicit values override the estimate.

        Explicit values are validated, never changed: a tip above the cap raises
        :class:`ValidationError`, a value above ``max_fee_cap_wei`` raises
        :class:`FeeCapExceeded`. An explicit ``gas_price`` gives a legacy
        transaction even on an EIP-1559 chain. Only one of the two 1559 fields
        given: the other is estimated (an estimated tip is lowered to a given cap).
        """
        priority = Priority(priority)
        for name, value in (
            ("max_fee_per_gas", max_fee_per_gas),
            ("max_priority_fee_per_gas", max_priority_fee_per_gas),
            ("gas_price", gas_price),
        ):
            if value is not None:
                _check_uint(value, name)
        if head is not None:
            _check_uint(head, "head")
        explicit_1559 = max_fee_per_gas is not None or max_priority_fee_per_gas is not None
        if gas_price is not None:
            if explicit_1559:
                raise ValidationError("give gas_price (legacy) or EIP-1559 fees, not both")
            self._check_ceiling(gas_price, "gas_price")
            return FeeParams(gas_price=gas_price)
        if explicit_1559 and not self.chain.supports_eip1559:
            raise ValidationError(f"{self.chain.name} does not support EIP-1559 fees")
        if max_fee_per_gas is not None and max_priority_fee_per_gas is not None:
            return self._finish(max_fee_per_gas, max_priority_fee_per_gas)
        if explicit_1559 and self._legacy:
            raise ValidationError(
                f"{self.chain.name}: the node offers no EIP-1559 fee data "
                "(no eth_feeHistory, or a pre-London chain); give both EIP-1559 fields or gas_price"
            )
        if not self._legacy:
            try:
                snapshot = await self.snapshot(head)
            except Exception as exc:
                legacy = says_pre_london(exc) or _is_method_missing(exc)
                if not legacy and may_be_pre_london(exc):
                    # Ganache fails feeHistory on its pre-London blocks: the block tells
                    legacy = not await latest_block_has_base_fee(self._rpc)
                if not legacy:
                    raise
                if explicit_1559:
                    raise ValidationError(
                        f"{self.chain.name}: the node offers no EIP-1559 fee data "
                        f"({exc}); give both EIP-1559 fields or gas_price"
                    ) from exc
                # a pre-London chain, or a node without feeHistory: price it the old way
                self._legacy = True
            else:
                return self._from_snapshot(
                    snapshot, priority, max_fee_per_gas, max_priority_fee_per_gas
                )
        node_price = await self._node_gas_price(head)
        price = -(-node_price * LEGACY_MULTIPLIER_BPS[priority] // BPS)  # rounded up
        price = max(price, self.policy.min_gas_price_wei)
        self._check_ceiling(price, "estimated gas_price")
        return FeeParams(gas_price=price)

    def _from_snapshot(
        self,
        snapshot: FeeSnapshot,
        priority: Priority,
        max_fee: int | None,
        tip: int | None,
    ) -> FeeParams:
        if tip is None:
            tip = max(snapshot.tips[priority], self.policy.min_tip_wei)
            if max_fee is not None:
                # the caller's cap binds: no tx can pay more tip than its cap anyway
                tip = min(tip, max_fee)
                return self._finish(max_fee, tip)
        if max_fee is None:
            max_fee = self.policy.base_fee_multiplier * snapshot.next_base_fee + tip
            self._check_ceiling(max_fee, "estimated max_fee_per_gas")
        return self._finish(max_fee, tip)

    def _finish(self, max_fee: int, tip: int) -> FeeParams:
        if tip > max_fee:
            raise ValidationError(
                f"max_priority_fee_per_gas {tip} exceeds max_fee_per_gas {max_fee}"
            )
        self._check_ceiling(max_fee, "max_fee_per_gas")
        return FeeParams(max_fee_per_gas=max_fee, max_priority_fee_per_gas=tip)

    def _check_ceiling(self, fee: int, what: str) -> None:
        cap = self.policy.max_fee_cap_wei
        if cap is not None and fee > cap:
            raise FeeCapExceeded(
                f"{self.chain.name}: {what} {fee} wei is above the policy ceiling {cap} wei",
                fee_wei=fee,
                cap_wei=cap,
            )
