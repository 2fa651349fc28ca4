"""What the Solana operator needs from a cluster, as one small async interface.

Two implementations: :class:`~chainops.operators.solana.rpc_transport.RpcTransport`
(solana-py's ``AsyncClient`` against any RPC URL) and
:class:`~chainops.devnet.solana.LiteSvmTransport` (the
in-process SVM). Keys and signatures cross it as base58 strings, transactions as
signed wire bytes, errors as the runtime's JSON form (``"AccountNotFound"``,
``{"InstructionError": [1, {"Custom": 1}]}``).

Commitment: reads that decide expiry use ``confirmed`` (a confirmed block is not
rolled back in practice); balances and simulations use ``processed`` unless told.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

__all__ = [
    "AccountData",
    "Blockhash",
    "CommitmentLevel",
    "LandedDetails",
    "SignatureStatus",
    "Simulation",
    "SolanaTransport",
]

CommitmentLevel = Literal["processed", "confirmed", "finalized"]
COMMITMENT_RANK: dict[str, int] = {"processed": 0, "confirmed": 1, "finalized": 2}


# msgspec Structs, not frozen dataclasses: built in C (a frozen dataclass sets each field
# through object.__setattr__, several times slower), and gc=False as they hold no cycles.
class Blockhash(msgspec.Struct, frozen=True, gc=False):
    """A recent blockhash and the last block height at which a transaction using it can land."""

    blockhash: str
    last_valid_block_height: int


class Simulation(msgspec.Struct, frozen=True, gc=False):
    """A simulation's verdict: ``err`` is None on success; ``logs`` are the program logs."""

    err: Any
    logs: tuple[str, ...]
    units_consumed: int | None


class SignatureStatus(msgspec.Struct, frozen=True, gc=False):
    """A landed signature: its slot, error (None = success) and commitment reached."""

    slot: int
    confirmations: int | None
    err: Any
    commitment: CommitmentLevel


class LandedDetails(msgspec.Struct, frozen=True, gc=False):
    """What ``getTransaction`` adds to a status: the fee charged and the logs."""

    slot: int
    err: Any
    fee: int
    logs: tuple[str, ...]
    units_consumed: int | None


@dataclass(frozen=True, slots=True)
class AccountData:
    lamports: int
    owner: str
    data: bytes
    executable: bool


class SolanaTransport(ABC):
    """A Solana cluster as the operator sees it."""

    name: str = "transport"

    @abstractmethod
    async def genesis_hash(self) -> str | None:
        """The cluster's genesis hash (None when the transport cannot tell)."""

    @abstractmethod
    async def latest_blockhash(self) -> Blockhash:
        """A recent blockhash at ``confirmed`` with its last valid block height."""

    @abstractmethod
    async def block_height(self, commitment: CommitmentLevel = "confirmed") -> int:
        """The current block height at ``commitment``."""

    @abstractmethod
    async def simulate(self, raw: bytes) -> Simulation:
        """Simulate signed-or-not wire bytes (signatures are not verified)."""

    @abstractmethod
    async def send_raw(self, raw: bytes) -> None:
        """Hand signed bytes to the cluster once: no preflight, no retries by the node.

        Raises :class:`~chainops.core.errors.RpcError` subclasses; a return says the
        bytes were handed over, not that they will land.
        """

    @abstractmethod
    async def signature_statuses(self, signatures: Sequence[str]) -> list[SignatureStatus | None]:
        """One entry per signature, None for one the cluster has not seen land."""

    @abstractmethod
    async def landed_details(self, signature: str) -> LandedDetails | None:
        """Fee, error and logs of a landed transaction (None if unknown)."""

    @abstractmethod
    async def balance(self, pubkey: str) -> int:
        """Lamports held by ``pubkey`` (0 for an account that does not exist)."""

    @abstractmethod
    async def account(self, pubkey: str) -> AccountData | None:
        """Owner, lamports and data of an account, or None if it does not exist."""

    @abstractmethod
    async def token_balance(self, token_account: str) -> int | None:
        """Raw token units held by a token account, None if it does not exist."""

    @abstractmethod
    async def prioritization_fees(self, accounts: Sequence[str]) -> list[int]:
        """Recent per-slot compute-unit prices (micro-lamports) for these writable accounts."""

    @abstractmethod
    async def airdrop(self, pubkey: str, lamports: int) -> str:
        """Ask the cluster's faucet for lamports; returns the airdrop's signature."""

    @abstractmethod
    async def minimum_balance_for_rent_exemption(self, size: int) -> int:
        """Lamports an account of ``size`` bytes needs to be rent exempt."""

    async def close(self) -> None:  # noqa: B027  (optional hook, not abstract)
        """Release connections (default: nothing to release)."""
