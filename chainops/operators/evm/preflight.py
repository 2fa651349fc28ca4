"""Preflight: what is checked before a nonce is taken, and revert reasons after.

``eth_call`` and ``eth_estimateGas`` with revert decoding (by the ABIs of the
contracts this account talks to), the plain-transfer shortcut (value to an
account without code needs no simulation), the balance check at the fee cap,
and the replay of a reverted transaction at its block to read its reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from chainops.core.assets import Asset
from chainops.core.attempt import FeeParams
from chainops.core.errors import ChainopsError, InsufficientFunds, Reverted
from chainops.core.ids import EvmAddress
from chainops.core.transaction import Transaction
from chainops.operators.evm.checks import block_param
from chainops.operators.evm.node_errors import NodeError, NodeErrorKind
from chainops.operators.evm.parts import Clock, NodeRpc, monotonic
from chainops.operators.evm.requests import TxRequest, call_object
from chainops.operators.evm.revert import decode_revert, revert_from_rpc_error

# An account without code is trusted to stay so for this long (only an EIP-7702
# delegation or a CREATE2 deployment to that address could change it meanwhile).
EOA_CACHE_SECONDS = 30.0
_PRUNE_AT = 1024  # recipients remembered before the stale ones are pruned


class Preflight:
    """Simulation, funds and revert reasons for one sending account."""

    def __init__(self, rpc: NodeRpc, owner: str, native: Asset, clock: Clock = monotonic) -> None:
        self.rpc = rpc
        self.owner = owner
        self.native = native
        self.clock = clock
        self.abis: dict[str, list[dict[str, Any]]] = {}
        self._eoa_seen: dict[str, float] = {}  # address -> when it was last seen without code

    def remember_abi(self, address: str, abi: list[dict[str, Any]]) -> None:
        """Decode this contract's custom revert errors with ``abi`` (the first one kept)."""
        self.abis.setdefault(address, abi)

    async def call(self, req: TxRequest, block: str | int = "latest") -> bytes:
        """``eth_call`` a request at ``block`` (number, tag, hex number or block hash);
        a revert raises Reverted with the decoded reason."""
        tag = block_param(block)
        try:
            out = await self.rpc.call("eth_call", [call_object(self.owner, self.native, req), tag])
        except ChainopsError as exc:
            raise self.as_revert(exc, req) from None
        return bytes.fromhex(out[2:])

    async def estimate(self, req: TxRequest) -> int:
        """Gas the request needs, simulated at ``pending`` (without headroom)."""
        try:
            gas = await self.rpc.call(
                "eth_estimateGas", [call_object(self.owner, self.native, req), "pending"]
            )
        except ChainopsError as exc:
            raise self.as_revert(exc, req) from None
        return int(gas, 16)

    async def plain_transfer(self, req: TxRequest) -> bool:
        """True for a value transfer without data to an address that has no code."""
        if req.data or req.to is None:
            return False
        key = str(req.to)
        seen = self._eoa_seen.get(key)
        now = self.clock()
        if seen is not None and now - seen < EOA_CACHE_SECONDS:
            return True
        code = await self.rpc.call("eth_getCode", [key, "pending"])
        if code in ("0x", "0x0", None):
            if len(self._eoa_seen) >= _PRUNE_AT:
                # One entry per recipient: prune the stale ones, or a long-running operator
                # paying many addresses would keep every one of them.
                seen_map = self._eoa_seen.items()
                self._eoa_seen = {a: t for a, t in seen_map if now - t < EOA_CACHE_SECONDS}
            self._eoa_seen[key] = now
            return True
        return False

    def balance_soon(self) -> asyncio.Future[Any]:
        """The pending balance, asked now: it shares a batch with the reads that follow."""
        return self.rpc.call_soon("eth_getBalance", [self.owner, "pending"])

    async def check_funds(
        self, wei: int, gas: int, fees: FeeParams, balance: Awaitable[Any] | None = None
    ) -> None:
        """Value + gas limit x fee cap must be covered by the pending balance
        (``balance``: that read, asked earlier with :meth:`balance_soon`)."""
        price = fees.max_fee_per_gas if fees.is_eip1559 else fees.gas_price
        assert price is not None
        need = wei + gas * price
        if balance is None:
            balance = self.rpc.call("eth_getBalance", [self.owner, "pending"])
        have = int(await balance, 16)
        if have < need:
            raise InsufficientFunds(
                f"{self.owner} has {self.native.from_raw(have)} {self.native.symbol}, needs up "
                f"to {self.native.from_raw(need)} (value + gas limit x fee cap)"
            )

    def as_revert(self, exc: ChainopsError, req: TxRequest) -> ChainopsError:
        if isinstance(exc, NodeError) and exc.kind is NodeErrorKind.INSUFFICIENT_FUNDS:
            return InsufficientFunds(f"{self.owner} cannot pay for this call: {exc}")
        abi = req.abi or (self.abis.get(str(req.to)) if req.to is not None else None)
        info = revert_from_rpc_error(exc, abi)
        if info is None:
            return exc
        return Reverted(f"simulation reverted: {info.reason}", reason=info.reason)

    async def revert_reason(self, tx: Transaction, receipt: dict[str, Any]) -> str | None:
        """Replay a reverted transaction at its block to read the reason."""
        to = EvmAddress(tx.to) if tx.to is not None else None
        req = TxRequest(
            to=to, data=tx.data, gas_limit=tx.gas_limit, value=self.native.from_raw(tx.value)
        )
        block = int(receipt["blockNumber"], 16)
        try:
            await self.rpc.call(
                "eth_call", [call_object(self.owner, self.native, req), hex(block - 1)]
            )
        except ChainopsError as exc:
            abi = self.abis.get(str(tx.to)) if tx.to is not None else None
            info = revert_from_rpc_error(exc, abi)
            return info.reason if info is not None else str(exc)
        return decode_revert(b"").reason


def drop_read(read: asyncio.Future[Any]) -> None:
    """A read nobody will await: cancelled, or its failure marked as seen (no log noise)."""
    if not read.done():
        read.cancel()
    elif not read.cancelled():
        read.exception()
