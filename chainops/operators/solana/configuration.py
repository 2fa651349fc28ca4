"""The settings of a Solana operator (intervals default by cluster: local or public)."""

from __future__ import annotations

from pydantic import Field

from chainops.core.journal.leases import DEFAULT_LEASE_EXPIRY
from chainops.operators.chain import ChainConfiguration
from chainops.operators.solana import programs
from chainops.operators.solana.fees import PriorityFeePolicy
from chainops.operators.solana.sender import SendPolicy
from chainops.operators.solana.transport import CommitmentLevel

__all__ = ["SolanaConfiguration"]


class SolanaConfiguration(ChainConfiguration):
    """Settings of a Solana operator (intervals default by cluster: local or public)."""

    commitment: CommitmentLevel = "confirmed"
    # Re-send the same bytes this often until a status appears (2 s is the cluster's
    # usual advice: leaders forward for a few slots, and a lost packet costs one period).
    resend_interval: float | None = Field(default=None, gt=0)
    # A blockhash lives ~60-90 s; sharing one for a moment saves a request per send
    # (refreshed in the background once half this old, so sends do not wait for it).
    blockhash_ttl: float = Field(default=0.5, ge=0)
    # Confirm by signature subscription where the cluster offers PubSub (polling stays the
    # fallback); the endpoint defaults to the RPC URL's port + 1, as every client assumes.
    subscribe: bool = True
    ws_url: str | None = None
    resign_expired: bool = False
    max_resigns: int = Field(default=3, ge=0)
    memo: bool = True
    priority_percentile: int = Field(default=75, ge=0, le=100)
    priority_fee_cap: int = Field(default=1_000_000, ge=0)
    priority_fee_floor: int = Field(default=0, ge=0)
    cu_headroom_bps: int = Field(default=11_000, ge=10_000)
    cu_min_headroom: int = Field(default=1_000, ge=0)
    compute_unit_price: int | None = Field(default=None, ge=0)
    compute_unit_limit: int | None = Field(default=None, gt=0, le=programs.MAX_COMPUTE_UNIT_LIMIT)
    # With a PostgreSQL journal: a worker silent for this long loses its sends in flight
    # to the others (a worker whose database session ends loses them at once).
    lease_expiry: float = Field(default=DEFAULT_LEASE_EXPIRY, gt=0)

    def fee_policy(self) -> PriorityFeePolicy:
        return PriorityFeePolicy(
            percentile=self.priority_percentile,
            cap=self.priority_fee_cap,
            floor=self.priority_fee_floor,
            headroom_bps=self.cu_headroom_bps,
            min_headroom=self.cu_min_headroom,
            compute_unit_price=self.compute_unit_price,
            compute_unit_limit=self.compute_unit_limit,
        )

    def send_policy(self) -> SendPolicy:
        return SendPolicy(
            memo=self.memo,
            blockhash_ttl=self.blockhash_ttl,
            compute_unit_limit=self.compute_unit_limit,
            resign_expired=self.resign_expired,
            max_resigns=self.max_resigns,
        )
