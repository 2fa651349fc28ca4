"""The settings of an EVM operator, and the policies its parts take from them."""

from __future__ import annotations

from pydantic import Field

from chainops.core.journal.leases import DEFAULT_LEASE_EXPIRY
from chainops.operators.chain import ChainConfiguration
from chainops.operators.evm.nonces import DEFAULT_WINDOW
from chainops.operators.evm.parts import ReplacementPolicy, WatchdogPolicy

__all__ = ["GAS_HEADROOM_BPS", "EvmConfiguration"]

# Estimates are exact for the state they ran on; 20 % covers state that moves between
# estimate and inclusion (storage slots warmed or cleared by other transactions).
GAS_HEADROOM_BPS = 12_000
# Under automine the count moves every fraction of a millisecond: still for a 20th of
# rebroadcast_after (50 ms by default) with work pending is a stall, not a block's wait.
LOCAL_STALL = 0.05


class EvmConfiguration(ChainConfiguration):
    """Settings of an EVM operator."""

    max_in_flight: int = Field(default=DEFAULT_WINDOW, ge=1)
    # Retries per read (and per send of the same bytes), with backoff and failover.
    rpc_retries: int = Field(default=4, ge=0)
    gas_headroom_bps: int = Field(default=GAS_HEADROOM_BPS, ge=10_000)
    # Replacement ceilings: 4x the market fee cap covers a steep spike; beyond it a human
    # should decide. The absolute cap (wei) is off unless set.
    max_fee_multiple: int = Field(default=4, ge=1)
    max_fee_cap_wei: int | None = Field(default=None, gt=0)
    # The network is declared pre-London: price by gasPrice without asking eth_feeHistory.
    legacy_fees: bool = False
    # Automatic speed-up of a pending transaction after this many blocks or seconds.
    bump_after_blocks: int | None = Field(default=3, ge=1)
    bump_after_seconds: float | None = Field(default=None, gt=0)
    max_bumps: int = Field(default=8, ge=0)
    # A pending transaction is looked for in the pool after this long; missing, its bytes
    # are re-sent. None picks 1 s on local chains and 30 s elsewhere.
    rebroadcast_after: float | None = Field(default=None, gt=0)
    # With a PostgreSQL journal: a worker silent for this long loses its nonce leases to
    # the others (a worker whose database session ends loses them at once).
    lease_expiry: float = Field(default=DEFAULT_LEASE_EXPIRY, gt=0)

    def replacement_policy(self) -> ReplacementPolicy:
        """Gas headroom and the fee ceilings of every replacement."""
        return ReplacementPolicy(self.gas_headroom_bps, self.max_fee_multiple, self.max_fee_cap_wei)

    def watchdog_policy(self, *, local: bool) -> WatchdogPolicy:
        """When to bump, cancel and look again, on a local chain or a public one."""
        rebroadcast = self.rebroadcast_after or (1.0 if local else 30.0)
        return WatchdogPolicy(
            self.bump_after_blocks,
            self.bump_after_seconds,
            self.max_bumps,
            rebroadcast,
            # the lowest nonce is looked at after that long (Anvil parks one now and then)
            head_look=LOCAL_STALL if local else 0.25,
            # Anvil can mine a run of blocks in milliseconds without queued transactions:
            # by blocks alone, all of a burst's would be sped up at once
            bump_min_seconds=LOCAL_STALL * rebroadcast if local else 0.0,
        )
