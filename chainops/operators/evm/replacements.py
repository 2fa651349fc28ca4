"""Speed-up and cancel: a new signed attempt at the same nonce with higher fees.

Every replacement raises both the tip and the fee cap by at least 10 % (what
geth demands; Anvil accepts less, we never rely on it), follows the market
when it moved further, re-estimates gas and never lowers it, and stops at the
policy's ceilings: an absolute fee cap and a multiple of the market fee cap.
Reaching a ceiling raises :class:`BumpCapReached` and publishes
:class:`TxFeeCapReached`; it never stalls silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chainops.core.attempt import AttemptKind, FeeParams, TxAttempt
from chainops.core.errors import ChainopsError, InvalidTransition, NonceError, ValidationError
from chainops.core.events import TxEvent
from chainops.core.ids import EvmAddress
from chainops.core.priority import Priority
from chainops.core.transaction import Transaction, TxState
from chainops.operators.evm.fees import bump
from chainops.operators.evm.node_errors import NodeError, NodeErrorKind
from chainops.operators.evm.requests import TxRequest, tx_fields

if TYPE_CHECKING:
    from chainops.operators.evm.operator import EvmOperator

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


async def replacement_fees(op: EvmOperator, tx: Transaction, priority: Priority) -> FeeParams:
    """Fees for the next attempt: +10 % on both fields, at least the market, within caps."""
    previous = tx.fee_params
    if previous is None:
        raise ValidationError(f"{tx.client_id} has no fee parameters to bump")
    op.fees.invalidate()  # a bump answers a stuck transaction: price from fresh data
    market = await op.fees.estimate(priority)
    if market.is_eip1559 != previous.is_eip1559:
        market = FeeParams(gas_price=_cap_of(market)) if not previous.is_eip1559 else market
    fees = bump(previous, market=market)
    ceiling = op.config.max_fee_multiple * _cap_of(market)
    if op.config.max_fee_cap_wei is not None:
        ceiling = min(ceiling, op.config.max_fee_cap_wei)
    if _cap_of(fees) > ceiling:
        op.metrics.fee_cap_reached += 1
        op.events.publish(
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
            f"{tx.client_id}: a replacement needs a fee cap of {_cap_of(fees)} wei, above the "
            f"ceiling of {ceiling} wei; the transaction stays pending at its current fees",
            needed_wei=_cap_of(fees),
            cap_wei=ceiling,
        )
    return fees


async def replace(
    op: EvmOperator,
    tx: Transaction,
    *,
    cancel: bool,
    priority: Priority = Priority.FAST,
    fees: FeeParams | None = None,
) -> TxAttempt:
    """Sign, journal and broadcast a replacement attempt for ``tx`` at its nonce."""
    if tx.state not in REPLACEABLE:
        raise InvalidTransition("Transaction", tx.state.name, "replacement (already mined?)")
    if tx.nonce is None:
        raise ValidationError(f"{tx.client_id} has no nonce")
    if cancel:
        request = TxRequest(to=op.signer.address, gas_limit=21_000)
        gas = 21_000
    else:
        to = None if tx.to is None else EvmAddress(tx.to)
        request = TxRequest(to=to, data=tx.data, value=op.native.from_raw(tx.value))
        gas = tx.gas_limit or 21_000
        try:
            estimate = await op.estimate(request)
            gas = max(gas, estimate * op.config.gas_headroom_bps // 10_000)  # never lowered
        except ChainopsError:
            pass  # the original's gas limit already passed simulation; keep it
    new_fees = fees or await replacement_fees(op, tx, priority)
    async with op.replacing(tx):
        if tx.state not in REPLACEABLE:  # mined while we priced it
            raise InvalidTransition("Transaction", tx.state.name, "replacement")
        index = len(tx.attempts)
        value = 0 if cancel else tx.value
        payload: dict[str, Any] = tx_fields(op.chain_id, request, value, gas, tx.nonce, new_fees)
        signed = op.signer.sign(payload)
        kind = AttemptKind.CANCEL if cancel else AttemptKind.SPEED_UP
        attempt = TxAttempt(
            index=index, hash=signed.hash, raw=signed.raw, nonce=tx.nonce, fee=new_fees, kind=kind
        )
        tx.add_attempt(attempt)
        await op.commits.save(tx)  # journalled before the node hears of it, as every attempt
    if cancel:
        op.metrics.cancels += 1
    else:
        op.metrics.bumps += 1
    try:
        await op.batcher.send_raw(attempt.raw)
    except NodeError as exc:
        tx.attempt_failed(attempt.index, exc)
        op.commits.save_soon(tx)
        if exc.kind is NodeErrorKind.NONCE_TOO_LOW:
            op.monitor.wake()  # an earlier attempt (or someone else) took the nonce
            raise NonceError(f"{tx.client_id}: nonce {tx.nonce} is already used") from exc
        if exc.kind is NodeErrorKind.REPLACEMENT_UNDERPRICED and fees is None:
            # Something pricier holds the nonce in the pool: outbid it, once.
            pooled = await pooled_fees(op, tx.nonce)
            if pooled is not None:
                return await replace(
                    op, tx, cancel=cancel, priority=priority, fees=bump(pooled, market=new_fees)
                )
        raise
    tx.mark_broadcast(attempt.index)
    op.monitor.wake()
    return attempt


async def pooled_fees(op: EvmOperator, nonce: int) -> FeeParams | None:
    """The fees of whatever transaction holds our ``nonce`` in the node's pool."""
    try:
        pooled = await op.batcher.call("eth_getTransactionBySenderAndNonce", [op.owner, hex(nonce)])
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
