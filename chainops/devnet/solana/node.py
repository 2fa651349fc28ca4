"""What the one node is to its cluster: leader of every slot, no vote accounts or
inflation (LiteSVM pays no rewards), no snapshots, the stake program's minimum
delegation, and performance samples.

A sample covers 60 seconds of the cluster's own clock (the one ``getBlockTime``
answers by), so ``slot_time`` decides its length in slots; samples count from
the first slot, newest first, and only whole ones are reported.
"""

from __future__ import annotations

from typing import Any

from chainops.devnet.solana import params
from chainops.devnet.solana.clock import NOMINAL_SLOT_TIME, Commitment
from chainops.devnet.solana.cluster import IDENTITY, SLOTS_PER_EPOCH
from chainops.devnet.solana.dispatch import Handler, MethodGroup, with_context
from chainops.devnet.solana.faults import NO_SNAPSHOT, RpcFault, invalid_params

__all__ = ["NodeMethods"]

_MAX_SLOT_LEADERS = 5000
_MAX_PERFORMANCE_SAMPLES = 720  # twelve hours of samples, as a validator keeps
_SAMPLE_SECONDS = 60
_NO_INFLATION = {
    "initial": 0.0,
    "terminal": 0.0,
    "taper": 0.0,
    "foundation": 0.0,
    "foundationTerm": 0.0,
}


class NodeMethods(MethodGroup):
    """getSlotLeaders, getVoteAccounts, getInflationGovernor, getInflationRate,
    getStakeMinimumDelegation, getRecentPerformanceSamples, getHighestSnapshotSlot,
    getMaxRetransmitSlot, getMaxShredInsertSlot."""

    def handlers(self) -> dict[str, Handler]:
        return {
            "getSlotLeaders": self.slot_leaders,
            "getVoteAccounts": self.vote_accounts,
            "getInflationGovernor": self.inflation_governor,
            "getInflationRate": self.inflation_rate,
            "getStakeMinimumDelegation": self.stake_minimum_delegation,
            "getRecentPerformanceSamples": self.performance_samples,
            "getHighestSnapshotSlot": self.highest_snapshot_slot,
            "getMaxRetransmitSlot": self.newest_slot,
            "getMaxShredInsertSlot": self.newest_slot,
        }

    async def slot_leaders(self, p: list[Any]) -> Any:
        too_many = f"Invalid limit; max {_MAX_SLOT_LEADERS}"
        start, limit = params.start_and_limit(p, _MAX_SLOT_LEADERS, too_many)
        if limit == 0:
            return []
        # A leader schedule is known one epoch past the root's, as on any validator.
        known = self.chain.slot_at(Commitment.FINALIZED) // SLOTS_PER_EPOCH + 1
        last = (start + limit - 1) // SLOTS_PER_EPOCH
        if last > known:
            missing = max(start // SLOTS_PER_EPOCH, known + 1)
            raise invalid_params(
                f"Invalid slot range: leader schedule for epoch {missing} is unavailable"
            )
        return [IDENTITY] * limit

    async def vote_accounts(self, p: list[Any]) -> Any:
        cfg = params.config(p, 0)
        params.commitment(cfg)
        if "votePubkey" in cfg:
            params.pubkey(cfg["votePubkey"])
        if not isinstance(cfg.get("keepUnstakedDelinquents", False), bool):
            raise invalid_params("Invalid params: keepUnstakedDelinquents must be a boolean")
        if "delinquentSlotDistance" in cfg:
            params.unsigned(cfg["delinquentSlotDistance"], "delinquentSlotDistance")
        return {"current": [], "delinquent": []}  # the cluster holds no vote account

    async def inflation_governor(self, p: list[Any]) -> Any:
        params.commitment(params.config(p, 0))
        return dict(_NO_INFLATION)

    async def inflation_rate(self, p: list[Any]) -> Any:
        epoch = self.chain.slot_at(Commitment.FINALIZED) // SLOTS_PER_EPOCH
        return {"total": 0.0, "validator": 0.0, "foundation": 0.0, "epoch": epoch}

    async def stake_minimum_delegation(self, p: list[Any]) -> Any:
        level = self.read_level(params.config(p, 0))
        value = self.chain.stake_minimum_delegation()
        return with_context(self.chain.slot_at(level), value)

    async def performance_samples(self, p: list[Any]) -> Any:
        wanted = p[0] if p and p[0] is not None else _MAX_PERFORMANCE_SAMPLES
        limit = params.unsigned(wanted, "limit")
        if limit > _MAX_PERFORMANCE_SAMPLES:
            raise invalid_params(f"Invalid limit; max {_MAX_PERFORMANCE_SAMPLES}")
        step = self.chain.slot_time or NOMINAL_SLOT_TIME
        width = max(1, round(_SAMPLE_SECONDS / step))
        whole = self.chain.slot // width
        newest = range(whole, max(whole - limit, 0), -1)
        counts = dict.fromkeys(newest, 0)
        for slot, count in self.chain.transactions_per_slot().items():
            index = (slot - 1) // width + 1  # sample k covers slots (k-1)*width+1 .. k*width
            if index in counts:
                counts[index] += count
        return [
            {
                "slot": self._block_at_or_before(index * width),
                "numTransactions": counts[index],
                "numNonVoteTransactions": counts[index],  # no validator votes here
                "numSlots": width,
                "samplePeriodSecs": _SAMPLE_SECONDS,
            }
            for index in newest
        ]

    def _block_at_or_before(self, slot: int) -> int:
        while slot > 1 and not self.chain.clock.produced(slot):
            slot -= 1
        return slot

    async def highest_snapshot_slot(self, p: list[Any]) -> Any:
        raise RpcFault(NO_SNAPSHOT, "No snapshot")  # the ledger is never snapshotted

    async def newest_slot(self, p: list[Any]) -> Any:
        return self.chain.slot  # the one node has every shred of its own blocks
