"""Speed-up and cancel: a new signed attempt at the same nonce with higher fees.

Every replacement raises both the tip and the fee cap by at least 10 % (what
geth demands; Anvil accepts less, we never rely on it), follows the market
when it moved further, re-estimates gas and never lowers it, and stops at the
policy's ceilings: an absolute fee cap and a multiple of the market fee cap.
Reaching a ceiling raises :class:`BumpCapReached` and publishes
:class:`TxFeeCapReached`; it never stalls silently.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from chainops.core.assets import Asset
from chainops.core.attempt import AttemptKind, FeeParams, TxAttempt
from chainops.core.bus import EventBus
from chainops.core.errors import ChainopsError, InvalidTransition, NonceError, ValidationError
from chainops.core.events import TxEvent
from chainops.core.ids import EvmAddress
from chainops.core.priority import Priority
from chainops.core.transaction import Transaction, TxState
from chainops.operators.evm.bumps import bump
from chainops.operators.evm.checks import check_sender
from chainops.operators.evm.metrics import EvmMetrics
from chainops.operators.evm.node_errors import NodeError, NodeErrorKind
from chainops.operators.evm.parts import (
    GasEstimate,
    LiveTransactions,
    NodeRpc,
    PipelineVerbs,
    Pricing,
    ReplacementPolicy,
)
from chainops.operators.evm.requests import TxRequest

REPLACEABLE = (TxState.SIGNED, TxState.BROADCAST)


class BumpCapReached(ChainopsError):
    """A replacement would need fees above the policy's ceiling; the attempt stays as it is."""

    def __init__(self, message: str, *, needed_wei: int, cap_wei: int) -> None:
        super().__init__(message)
        self.needed_wei = needed_wei
        self.cap_wei = cap_wei


@dataclass(frozen=True, kw_only=True)
class TxFeeCapReached(TxEvent):
    """Bumping stopped at the fee ceiling; the transaction is still pending."""

    needed_wei: int
    cap_wei: int


def _cap_of(fees: FeeParams) -> int:
    value = fees.max_fee_per_gas if fees.is_eip1559 else fees.gas_price
    assert value is not None
    return value


class Replacer:
    """Speed-ups and cancels of one account's pending transactions."""

    def __init__(
        self,
        *,
        sender: EvmAddress,
        native: Asset,
        pipeline: PipelineVerbs,
        rpc: NodeRpc,
        live: LiveTransactions,
        pricing: Pricing,
        estimate_gas: GasEstimate,
        policy: ReplacementPolicy,
        events: EventBus,
        metrics: EvmMetrics,
    ) -> None:
        self.sender = sender
        self.native = native
        self.pipeline = pipeline
        self.rpc = rpc
        self.live = live
        self.pricing = pricing
        self.estimate_gas = estimate_gas
        self.policy = policy
        self.events = events
        self.metrics = metrics
        self._locks: dict[str, asyncio.Lock] = {}

    async def speed_up(
        self, tx: Transaction, *, priority: Priority = Priority.FAST, fees: FeeParams | None = None
    ) -> TxAttempt:
        """A new attempt at the same nonce, +10 % or more on tip and fee cap."""
        return await self.replace(tx, cancel=False, priority=priority, fees=fees)

    async def cancel(self, tx: Transaction, *, fees: FeeParams | None = None) -> TxAttempt:
        """A 0-value self-transfer at the same nonce with bumped fees."""
        return await self.replace(tx, cancel=True, fees=fees)

    @contextlib.asynccontextmanager
    async def replacing(self, tx: Transaction) -> AsyncIterator[None]:
        """One replacement at a time per transaction (user and watchdog alike)."""
        lock = self._locks.setdefault(str(tx.client_id), asyncio.Lock())
        async with lock:
            yield

    def forget(self, client_id: str) -> None:
        """Drop the replacement lock of a finished transaction (unless one is running)."""
        lock = self._locks.get(client_id)
        if lock is not None and not lock.locked():
            del self._locks[client_id]

    async def fees_for(self, tx: Transaction, priority: Priority) -> FeeParams:
        """Fees for the next attempt: +10 % on both fields, at least the market, within caps."""
        previous = tx.fee_params
        if previous is None:
            raise ValidationError(f"{tx.client_id} has no fee parameters to bump")
        self.pricing.invalidate()  # a bump answers a stuck transaction: price from fresh data
        market = await self.pricing.estimate(priority)
        if market.is_eip1559 != previous.is_eip1559:
            market = FeeParams(gas_price=_cap_of(market)) if not previous.is_eip1559 else market
        fees = bump(previous, market=market)
        ceiling = self.policy.max_fee_multiple * _cap_of(market)
        if self.policy.max_fee_cap_wei is not None:
            ceiling = min(ceiling, self.policy.max_fee_cap_wei)
        if _cap_of(fees) > ceiling:
            self.metrics.fee_cap_reached += 1
            self.events.publish(
                TxFeeCapReached(
                    client_id=tx.client_id,
                    platform=tx.platform,
                    transaction=tx,
                    previous=tx.state,
                    state=tx.state,
                    needed_wei=_cap_of(fees),
                    cap_wei=ceiling,
                    reason="fee ceiling reached",
                )
            )
            raise BumpCapReached(
                f"{tx.client_id}: a replacement needs a fee cap of {_cap_of(fees)} wei, above "
                f"the ceiling of {ceiling} wei; the transaction stays pending at its current fees",
                needed_wei=_cap_of(fees),
                cap_wei=ceiling,
            )
        return fees

    async def replace(
        self,
        tx: Transaction,
        *,
        cancel: bool,
        priority: Priority = Priority.FAST,
        fees: FeeParams | None = None,
    ) -> TxAttempt:
        """Sign, journal and broadcast a replacement attempt for ``tx`` at its nonce."""
        check_sender(tx, str(self.sender))  # never sign for another account's nonce
        if tx.state not in REPLACEABLE:
            raise InvalidTransition("Transaction", tx.state.name, "replacement (already mined?)")
        if tx.nonce is None:
            raise ValidationError(f"{tx.client_id} has no nonce")
        if cancel:
            request = TxRequest(to=self.sender, gas_limit=21_000)
            gas = 21_000
        else:
            to = None if tx.to is None else EvmAddress(tx.to)
            request = TxRequest(to=to, data=tx.data, value=self.native.from_raw(tx.value))
            gas = tx.gas_limit or 21_000
            try:
                estimate = await self.estimate_gas(request)
                gas = max(gas, estimate * self.policy.gas_headroom_bps // 10_000)  # never lowered
            except ChainopsError:
                pass  # the original's gas limit already passed simulation; keep it
        new_fees = fees or await self.fees_for(tx, priority)
        kind = AttemptKind.CANCEL if cancel else AttemptKind.SPEED_UP
        async with self.replacing(tx):
            if tx.state not in REPLACEABLE:  # mined while we priced it
                raise InvalidTransition("Transaction", tx.state.name, "replacement")
            value = 0 if cancel else tx.value
            # Journalled before the node hears of it, as every attempt.
            attempt = await self.pipeline.add_attempt(tx, request, value, gas, new_fees, kind)
        if cancel:
            self.metrics.cancels += 1
        else:
            self.metrics.bumps += 1
        try:
            await self.rpc.send_raw(attempt.raw)
        except NodeError as exc:
            tx.attempt_failed(attempt.index, exc)
            self.pipeline.save_soon(tx)
            if exc.kind is NodeErrorKind.NONCE_TOO_LOW:
                self.live.wake()  # an earlier attempt (or someone else) took the nonce
                raise NonceError(f"{tx.client_id}: nonce {tx.nonce} is already used") from exc
            if exc.kind is NodeErrorKind.REPLACEMENT_UNDERPRICED and fees is None:
                # Something pricier holds the nonce in the pool: outbid it, once.
                pooled = await self.pooled_fees(tx.nonce)
                if pooled is not None:
                    outbid = bump(pooled, market=new_fees)
                    return await self.replace(tx, cancel=cancel, priority=priority, fees=outbid)
            raise
        tx.mark_broadcast(attempt.index)
        self.live.wake()
        return attempt

    async def pooled_fees(self, nonce: int) -> FeeParams | None:
        """The fees of whatever transaction holds our ``nonce`` in the node's pool."""
        try:
            pooled = await self.rpc.call(
                "eth_getTransactionBySenderAndNonce", [str(self.sender), hex(nonce)]
            )
        except ChainopsError:
            return None
        if not isinstance(pooled, dict):
            return None
        if pooled.get("maxFeePerGas"):
            return FeeParams(
                max_fee_per_gas=int(pooled["maxFeePerGas"], 16),
                max_priority_fee_per_gas=int(pooled["maxPriorityFeePerGas"], 16),
            )
        return FeeParams(gas_price=int(pooled["gasPrice"], 16))
