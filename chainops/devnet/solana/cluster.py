"""Cluster-wide methods: identity, slots and heights per commitment, blockhashes, fees,
epochs, the advertised RPC and PubSub addresses, and the test switches.

The switches (``chainops_*``, also reachable from Python on ``server.chain``):
``chainops_dropNext [n]`` loses the next n transactions, ``chainops_advanceBlocks [n]``
produces n blocks now (n defaults to 1, at most a million per call),
``chainops_rollbackProcessed`` abandons the processed-only block and undoes its
transactions.
"""

from __future__ import annotations

from typing import Any

from chainops.devnet.solana import params
from chainops.devnet.solana.dispatch import API_VERSION, Handler, MethodGroup, with_context
from chainops.devnet.solana.faults import invalid_params
from chainops.devnet.solana.localchain import LocalChain

__all__ = ["IDENTITY", "SLOTS_PER_EPOCH", "ClusterMethods"]

SLOTS_PER_EPOCH = 432_000  # mainnet's epoch length
_MAX_FEE_ACCOUNTS = 128
IDENTITY = "LocaLVaLidator11111111111111111111111111111"  # a valid 32-byte key
# Bounds of the switches' counts: what one call may ask for (a million blocks take ~0.3 s).
_MAX_ADVANCE = 1_000_000
_MAX_DROPS = 1_000_000


def _count(p: list[Any], what: str, most: int) -> int:
    """The optional count in ``p[0]`` (1 when absent): an integer within 0..``most``."""
    value = p[0] if p and p[0] is not None else 1
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= most:
        raise invalid_params(f"Invalid params: the number of {what} must be within 0..{most}")
    return value


class ClusterMethods(MethodGroup):
    """getHealth, getVersion, getSlot, getBlockHeight, getLatestBlockhash, getEpochInfo, ..."""

    def __init__(self, chain: LocalChain, rpc_address: str, pubsub_address: str) -> None:
        super().__init__(chain)
        self.rpc_address = rpc_address
        self.pubsub_address = pubsub_address

    def handlers(self) -> dict[str, Handler]:
        return {
            "getHealth": self.health,
            "getVersion": self.version,
            "getGenesisHash": self.genesis_hash,
            "getIdentity": self.identity,
            "getClusterNodes": self.cluster_nodes,
            "getSlot": self.slot,
            "getSlotLeader": self.identity_key,
            "minimumLedgerSlot": self.minimum_ledger_slot,
            "getBlockHeight": self.block_height,
            "getLatestBlockhash": self.latest_blockhash,
            "isBlockhashValid": self.is_blockhash_valid,
            "getEpochInfo": self.epoch_info,
            "getEpochSchedule": self.epoch_schedule,
            "getTransactionCount": self.transaction_count,
            "getRecentPrioritizationFees": self.prioritization_fees,
            "chainops_dropNext": self.drop_next,
            "chainops_advanceBlocks": self.advance_blocks,
            "chainops_rollbackProcessed": self.rollback_processed,
        }

    async def health(self, p: list[Any]) -> Any:
        return "ok"

    async def version(self, p: list[Any]) -> Any:
        return {"solana-core": f"{API_VERSION}-chainops-litesvm", "feature-set": 0}

    async def genesis_hash(self, p: list[Any]) -> Any:
        return self.chain.genesis_hash

    async def identity(self, p: list[Any]) -> Any:
        return {"identity": IDENTITY}

    async def identity_key(self, p: list[Any]) -> Any:
        self.read_level(params.config(p, 0))
        return IDENTITY  # the one node leads every slot

    async def minimum_ledger_slot(self, p: list[Any]) -> Any:
        return 1  # the ledger is kept whole, from the first block

    async def cluster_nodes(self, p: list[Any]) -> Any:
        """One node, advertising where its JSON-RPC and PubSub endpoints listen."""
        return [
            {
                "pubkey": IDENTITY,
                "gossip": None,
                "tpu": None,
                "tpuQuic": None,
                "rpc": self.rpc_address,
                "pubsub": self.pubsub_address,
                "version": API_VERSION,
                "featureSet": 0,
                "shredVersion": 0,
            }
        ]

    async def slot(self, p: list[Any]) -> Any:
        return self.chain.slot_at(self.read_level(params.config(p, 0)))

    async def block_height(self, p: list[Any]) -> Any:
        return self.chain.block_height(self.read_level(params.config(p, 0)))

    async def latest_blockhash(self, p: list[Any]) -> Any:
        level = self.read_level(params.config(p, 0))
        blockhash, last_valid = self.chain.latest_blockhash(level)
        return with_context(
            self.chain.slot_at(level), {"blockhash": blockhash, "lastValidBlockHeight": last_valid}
        )

    async def is_blockhash_valid(self, p: list[Any]) -> Any:
        params.require(p, 1, "blockhash")
        level = self.read_level(params.config(p, 1))
        return with_context(self.chain.slot_at(level), self.chain.blockhash_valid(str(p[0])))

    async def epoch_info(self, p: list[Any]) -> Any:
        level = self.read_level(params.config(p, 0))
        slot = self.chain.slot_at(level)
        return {
            "absoluteSlot": slot,
            "blockHeight": self.chain.block_height(level),
            "epoch": slot // SLOTS_PER_EPOCH,
            "slotIndex": slot % SLOTS_PER_EPOCH,
            "slotsInEpoch": SLOTS_PER_EPOCH,
            "transactionCount": self.chain.transaction_count(),
        }

    async def epoch_schedule(self, p: list[Any]) -> Any:
        return {
            "firstNormalEpoch": 0,
            "firstNormalSlot": 0,
            "leaderScheduleSlotOffset": SLOTS_PER_EPOCH,
            "slotsPerEpoch": SLOTS_PER_EPOCH,
            "warmup": False,
        }

    async def transaction_count(self, p: list[Any]) -> Any:
        self.read_level(params.config(p, 0))
        return self.chain.transaction_count()

    async def prioritization_fees(self, p: list[Any]) -> Any:
        accounts = p[0] if p and isinstance(p[0], list) else []
        if len(accounts) > _MAX_FEE_ACCOUNTS:
            raise invalid_params(f"Too many inputs provided; max {_MAX_FEE_ACCOUNTS}")
        keys = [params.pubkey(a) for a in accounts]
        return [
            {"slot": slot, "prioritizationFee": fee}
            for slot, fee in self.chain.prioritization_fees(keys)
        ]

    async def drop_next(self, p: list[Any]) -> Any:
        count = _count(p, "transactions to drop", _MAX_DROPS)
        self.chain.drop_next(count)
        return count

    async def advance_blocks(self, p: list[Any]) -> Any:
        return self.chain.advance(_count(p, "blocks", _MAX_ADVANCE))

    async def rollback_processed(self, p: list[Any]) -> Any:
        return self.chain.rollback_processed()
