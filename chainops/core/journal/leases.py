"""Nonce leases: the reservations of one account's nonces, shared by every worker process.

A worker (a *holder*, one per operator) that reserves a nonce holds a lease on
it until the transaction at that nonce is final. The lease lives as long as its
holder does: the holder renews itself by a heartbeat, and a holder whose
heartbeat is older than the expiry, or whose database session has ended, is
dead. Another worker then takes its leases over and finishes that work the way
``restore()`` does (see :mod:`chainops.operators.evm.nonce_leases`).

A lease is ``reserved`` (handed out; whatever was signed at it has not left
the process) or ``sent`` (the holder confirmed it still held the lease, after
journalling the signed bytes and before broadcasting them). The confirmation
is what makes a takeover safe: a taker re-sends the journalled bytes of a
``sent`` lease, and gives a ``reserved`` one a new use, knowing that its
former holder can no longer confirm it and so never broadcasts at it.

Chains without nonces (Solana) coordinate by *claims* on operations instead: a
worker claims a send's client id before journalling it (``reserved``) and
confirms the claim before broadcasting it (``sent``), with the same holders,
heartbeat and takeover as nonce leases (see :mod:`chainops.operators.solana.claims`).

:class:`NonceLeases` and :class:`OperationClaims` are the interfaces;
``leases_pg.py`` holds the PostgreSQL store of both. An embedded (SQLite)
journal belongs to one process and needs neither.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

__all__ = [
    "DEFAULT_LEASE_EXPIRY",
    "LeaseHolder",
    "LeaseState",
    "NonceLeases",
    "OperationClaims",
    "TakenClaim",
    "TakenLease",
]

# Long enough to ride out a GC pause or a slow commit on a loaded host, short enough that
# the other workers stall only seconds behind the nonces of a worker that died.
DEFAULT_LEASE_EXPIRY = 10.0


class LeaseState(Enum):
    RESERVED = "reserved"
    SENT = "sent"


@dataclass(frozen=True)
class TakenLease:
    """A lease taken over from a dead holder, with the state its holder left it in."""

    nonce: int
    state: LeaseState
    previous_holder: str


@dataclass(frozen=True)
class TakenClaim:
    """A claim on an operation taken over from a dead holder, in the state it was left."""

    client_id: str
    state: LeaseState
    previous_holder: str


class LeaseHolder(ABC):
    """One worker in the shared store, alive while its heartbeat and session are."""

    holder: str
    expiry: float

    @abstractmethod
    def heartbeat(self) -> None:
        """Renew this holder (and so every lease and claim it holds) for ``expiry`` seconds."""

    @abstractmethod
    def retire(self) -> None:
        """This holder stops (a clean close): whatever it still holds may be taken at once."""


class NonceLeases(LeaseHolder):
    """The leases of every (chain, address) in one shared store; this process is ``holder``."""

    @abstractmethod
    def take(
        self, chain_id: int, address: str, key: str, floor: int, count: int, window: int
    ) -> list[int]:
        """Up to ``count`` fresh nonces (from the high-water mark under ``key``, at least
        ``floor``), fewer when the account's leases would exceed ``window``; one transaction."""

    @abstractmethod
    def hold(
        self, chain_id: int, address: str, nonces: Iterable[int], state: LeaseState
    ) -> set[int]:
        """Lease ``nonces`` to this holder unless another holder has them; those now ours."""

    @abstractmethod
    def confirm(self, chain_id: int, address: str, nonces: Iterable[int]) -> set[int]:
        """Mark our leases on ``nonces`` sent; returns those still ours (the others are lost)."""

    @abstractmethod
    def drop(self, chain_id: int, address: str, nonces: Iterable[int]) -> None:
        """End our leases on ``nonces`` (their transactions are final)."""

    @abstractmethod
    def step_back(self, chain_id: int, address: str, key: str, nonce: int) -> bool:
        """Give back an unused nonce if it is the last one out (lowers the high-water mark)."""

    @abstractmethod
    def has_dead(self, chain_id: int, address: str) -> bool:
        """Whether a dead holder still leases nonces of this account (a cheap read)."""

    @abstractmethod
    def take_over(self, chain_id: int, address: str, key: str) -> list[TakenLease]:
        """Move every lease of a dead holder on this account to us, in one transaction."""

    @abstractmethod
    def leased(self, chain_id: int, address: str) -> dict[int, str]:
        """Every leased nonce of the account and its holder."""


class OperationClaims(LeaseHolder):
    """Claims on operations by client id, grouped by ``scope`` (an account on a chain)."""

    @abstractmethod
    def claim(self, scope: str, client_ids: Iterable[str], state: LeaseState) -> set[str]:
        """Claim ``client_ids`` in ``state``; those now ours. One claimed by another
        holder, or by us in the other state, is not (only a confirm makes one sent)."""

    @abstractmethod
    def confirm_claims(self, client_ids: Iterable[str]) -> set[str]:
        """Mark our claims sent; returns those still ours (the others were taken over)."""

    @abstractmethod
    def release(self, client_ids: Iterable[str]) -> None:
        """End our claims (their operations are final)."""

    @abstractmethod
    def has_dead_claims(self, scope: str) -> bool:
        """Whether a dead holder still claims operations in ``scope`` (a cheap read)."""

    @abstractmethod
    def take_over_claims(self, scope: str) -> list[TakenClaim]:
        """Move every claim of a dead holder in ``scope`` to us, in one transaction."""
