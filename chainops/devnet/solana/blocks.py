"""Block reads: ``getBlock`` in every encoding and detail level, block times and ranges."""

from __future__ import annotations

from typing import Any

from chainops.devnet.solana import params
from chainops.devnet.solana.clock import Commitment
from chainops.devnet.solana.dispatch import Handler, MethodGroup
from chainops.devnet.solana.faults import (
    BLOCK_NOT_AVAILABLE,
    SLOT_SKIPPED,
    RpcFault,
    invalid_params,
)
from chainops.devnet.solana.transaction_json import encode_landed

__all__ = ["BlockMethods"]

_MAX_BLOCK_RANGE = 500_000
_DETAILS = frozenset({"full", "signatures", "none", "accounts"})


class BlockMethods(MethodGroup):
    """getBlock, getBlockTime, getBlocks, getBlocksWithLimit, getFirstAvailableBlock."""

    def handlers(self) -> dict[str, Handler]:
        return {
            "getBlock": self.block,
            "getBlockTime": self.block_time,
            "getBlocks": self.blocks,
            "getBlocksWithLimit": self.blocks_with_limit,
            "getFirstAvailableBlock": self.first_available,
        }

    def _check_slot(self, slot: Any, level: Commitment) -> int:
        if not isinstance(slot, int) or slot < 0:
            raise invalid_params("Invalid params: expected a slot number")
        if slot > self.chain.slot_at(level):
            raise RpcFault(BLOCK_NOT_AVAILABLE, f"Block not available for slot {slot}")
        if not self.chain.clock.produced(slot):
            raise RpcFault(
                SLOT_SKIPPED,
                f"Slot {slot} was skipped, or missing due to ledger jump to recent snapshot",
            )
        return slot

    async def block(self, p: list[Any]) -> Any:
        params.require(p, 1, "slot")
        raw_cfg = p[1] if len(p) > 1 else None
        cfg = {"encoding": raw_cfg} if isinstance(raw_cfg, str) else params.config(p, 1)
        level = params.commitment(cfg)
        if level is Commitment.PROCESSED:
            raise invalid_params("Method does not support commitment below `confirmed`")
        slot = self._check_slot(p[0], level)
        details = cfg.get("transactionDetails", "full")
        if details not in _DETAILS:
            raise invalid_params(f"Invalid params: unknown transactionDetails {details}")
        encoding = cfg.get("encoding", "json")
        max_version = cfg.get("maxSupportedTransactionVersion")
        if max_version is not None and not isinstance(max_version, int):
            raise invalid_params("Invalid params: maxSupportedTransactionVersion must be a number")
        landed = [t for t in self.chain.block(slot) or [] if t.raw]
        clock = self.chain.clock
        parent = clock.back(slot, 1) if slot > 1 else 0
        out: dict[str, Any] = {
            "blockhash": clock.hash_of(slot),
            "previousBlockhash": clock.hash_of(parent) if parent else self.chain.genesis_hash,
            "parentSlot": parent,
            "blockHeight": clock.height(slot),
            "blockTime": clock.block_time(slot),
        }
        if details == "full":
            out["transactions"] = [encode_landed(t, encoding, max_version) for t in landed]
        elif details == "accounts":
            out["transactions"] = [
                _accounts_only(encode_landed(t, "jsonParsed", max_version)) for t in landed
            ]
        elif details == "signatures":
            out["signatures"] = [t.signature for t in landed]
        if cfg.get("rewards", True):
            out["rewards"] = []
        return out

    async def block_time(self, p: list[Any]) -> Any:
        params.require(p, 1, "slot")
        return self.chain.clock.block_time(self._check_slot(p[0], Commitment.CONFIRMED))

    async def blocks(self, p: list[Any]) -> Any:
        params.require(p, 1, "start slot")
        start = p[0]
        end = p[1] if len(p) > 1 and isinstance(p[1], int) else None
        level = params.commitment(params.config(p, 2 if end is not None else 1))
        newest = self.chain.slot_at(level)
        end = newest if end is None else min(end, newest)
        if not isinstance(start, int) or start < 0 or end - start > _MAX_BLOCK_RANGE:
            raise invalid_params("Invalid params: bad slot range")
        return [s for s in range(max(start, 1), end + 1) if self.chain.clock.produced(s)]

    async def blocks_with_limit(self, p: list[Any]) -> Any:
        """Up to ``limit`` blocks from ``start`` on, oldest first."""
        too_many = f"Limit too large; max {_MAX_BLOCK_RANGE}"
        start, limit = params.start_and_limit(p, _MAX_BLOCK_RANGE, too_many)
        level = params.commitment(params.config(p, 2))
        if level is Commitment.PROCESSED:
            raise invalid_params("Method does not support commitment below `confirmed`")
        newest = self.chain.slot_at(level)
        clock = self.chain.clock
        out: list[int] = []
        slot = max(start, 1)
        while len(out) < limit and slot <= newest:
            if clock.produced(slot):
                out.append(slot)
            slot += 1
        return out

    async def first_available(self, p: list[Any]) -> Any:
        return 1


def _accounts_only(full: dict[str, Any]) -> dict[str, Any]:
    """The ``accounts`` detail level: signatures and keys, a meta without logs or inner."""
    meta = {
        k: v
        for k, v in full["meta"].items()
        if k not in ("innerInstructions", "logMessages", "rewards", "computeUnitsConsumed")
    }
    transaction = {
        "signatures": full["transaction"]["signatures"],
        "accountKeys": full["transaction"]["message"]["accountKeys"],
    }
    out = {"transaction": transaction, "meta": meta}
    if "version" in full:
        out["version"] = full["version"]
    return out
