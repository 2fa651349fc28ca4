"""The durable journal of operations and signed attempts: the interface.

Exactly-once execution rests on one rule: the journal is written *before*
the venue is told anything. An order is saved with its client id before it
is placed; a transaction attempt (raw signed bytes + hash) is saved before it
is broadcast. After a crash, :meth:`Journal.non_terminal` lists what must be
reconciled, and the saved bytes are re-sent or looked up by hash, never
rebuilt.

:class:`Journal` is the interface (a PostgreSQL backend can implement it for
multi-process deployments); ``sqlite.py`` holds the embedded default.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Self, TypeVar, overload

from chainops.core.attempt import TxAttempt
from chainops.core.errors import JournalError
from chainops.core.operation import Operation
from chainops.core.transaction import Transaction

__all__ = ["Journal"]

OpT = TypeVar("OpT", bound=Operation[Any])


class Journal(ABC):
    """Durable store of operations, their attempts and small key/value facts.

    Every method is one atomic write or a consistent read. Group several
    writes with ``with journal.atomic(): ...``.
    """

    @abstractmethod
    def save(self, operation: Operation[Any]) -> None:
        """Insert or update an operation (and, for a transaction, its attempts).

        Raises :class:`JournalError` if the stored copy is newer (longer
        history) or of another kind: a stale copy must never overwrite.
        """

    def save_many(self, operations: Iterable[Operation[Any]]) -> None:
        """Save several operations in one transaction: all or none."""
        with self.atomic():
            for operation in operations:
                self.save(operation)

    def record_attempt(self, tx: Transaction, attempt: TxAttempt | None = None) -> None:
        """Journal a signed attempt (default: the latest) with its transaction.

        Call this *before* broadcasting the attempt.
        """
        attempt = attempt or tx.latest_attempt
        if attempt is None or all(a.hash != attempt.hash for a in tx.attempts):
            raise JournalError(f"{tx.client_id}: add the attempt to the transaction first")
        self.save(tx)

    @overload
    def load(self, client_id: str) -> Operation[Any] | None: ...

    @overload
    def load(self, client_id: str, kind: type[OpT]) -> OpT | None: ...

    def load(self, client_id: str, kind: type[Any] | None = None) -> Any:
        """The operation with this client id, or None; ``kind`` checks its class."""
        found = self._load(client_id)
        if found is not None and kind is not None and not isinstance(found, kind):
            raise JournalError(f"{client_id} is a {type(found).__name__}, not a {kind.__name__}")
        return found

    @abstractmethod
    def _load(self, client_id: str) -> Operation[Any] | None: ...

    @abstractmethod
    def find_by_venue_id(self, venue_id: str, platform: str | None = None) -> Operation[Any] | None:
        """The operation with this venue id or attempt hash (``platform`` disambiguates)."""

    def has_attempt_hash(self, tx_hash: str) -> bool:
        """Whether an attempt with this hash (as journalled: normalised) is journalled.

        Stores answer it with one index probe; the default loads the operation.
        """
        return self.find_by_venue_id(tx_hash) is not None

    @abstractmethod
    def non_terminal(
        self, *, kind: str | None = None, platform: str | None = None, owner: str | None = None
    ) -> list[Operation[Any]]:
        """Every operation not yet in a terminal state, oldest first (reconcile these)."""

    @abstractmethod
    def list_operations(
        self,
        *,
        owner: str | None = None,
        platform: str | None = None,
        kind: str | None = None,
        state: str | None = None,
        limit: int | None = None,
    ) -> list[Operation[Any]]:
        """Operations matching every given filter, oldest first."""

    @abstractmethod
    def attempts(self, client_id: str) -> list[TxAttempt]:
        """The signed attempts of a transaction as journalled (broadcast status lives on it)."""

    @abstractmethod
    def last_client_id(self, prefix: str = "") -> str | None:
        """The greatest generated client id with ``prefix`` (seed a ClientIdGenerator)."""

    @abstractmethod
    def get_value(self, key: str) -> str | None:
        """A stored value, or None."""

    @abstractmethod
    def set_value(self, key: str, value: str) -> None:
        """Store a value."""

    @abstractmethod
    def set_max(self, key: str, value: int) -> int:
        """Raise an integer high-water mark (never lowers it); returns the stored value."""

    @abstractmethod
    def atomic(self) -> Any:
        """A context manager grouping writes into one transaction (nestable)."""

    @abstractmethod
    def close(self) -> None:
        """Release the store (idempotent)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
