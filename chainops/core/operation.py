"""The machinery shared by every operation: the Operation base.

An :class:`Operation` owns a state from a :class:`StateMachine` table
(``statemachine.py``) and an
append-only history of :class:`HistoryEntry` values. Two ways move it:

* ``transition(target)``: strict; an edge missing from the table raises
  :class:`InvalidTransition`. Used by code that *decides* a state.
* ``apply(update)`` (on the subclasses): tolerant of the venue's duplicates
  and reordering. An update older than the last applied one (by
  ``sequence``), or one that would move the state backwards, is ignored;
  a real conflict (e.g. CANCELED after FILLED) still raises. A backwards
  edge that the table allows (a reorg, a rejected cancel) is taken only
  when the update carries a ``sequence`` newer than the last applied one:
  without ordering evidence a backwards move is indistinguishable from a
  late duplicate.

One way to wait, for every kind: ``await op.wait()`` returns the operation
once it has an outcome or raises its typed error; a timeout raises
:class:`UnknownOutcome`. A venue that resolves the operation itself binds an
:class:`OperationController` (``op.bind(...)``) and ``wait`` asks it.

Operations are not thread-safe: mutate each from one thread or event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from chainops.core.errors import ChainopsError, InvalidTransition, UnknownOutcome, ValidationError
from chainops.core.history import (
    Change,
    ErrorInfo,
    HistoryEntry,
    LabelEnum,
    check_time,
    from_us,
    load_time,
    new_entry,
    now_us,
    time_us,
    to_us,
)
from chainops.core.ids import ClientId, VenueId
from chainops.core.statemachine import StateMachine

__all__ = [
    "Operation",
    "OperationController",
    "OperationListener",
    "operation_from_dict",
    "operation_from_json",
]

log = logging.getLogger("chainops.core")


S = TypeVar("S", bound=LabelEnum)
T = TypeVar("T")


OperationListener = Callable[["Operation[Any]", HistoryEntry], None]


class OperationController(Protocol):
    """The venue side that resolves an operation: what ``op.wait()`` asks."""

    def wait(
        self, operation: Any, /, *, timeout: float | None = None, **options: Any
    ) -> Awaitable[Any]: ...


class Operation(ABC, Generic[S]):
    """Something we asked a venue to do: an order or a transaction.

    ``client_id`` is ours (made before anything is sent); ``venue_id`` is the
    venue's and can be set once; ``history`` is append-only.
    """

    kind: ClassVar[str]
    machine: ClassVar[StateMachine[Any]]
    _kinds: ClassVar[dict[str, type[Operation[Any]]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            Operation._kinds[cls.kind] = cls

    def __init__(
        self,
        *,
        client_id: ClientId | str,
        platform: str,
        owner: str,
        created_at: datetime | None = None,
    ) -> None:
        if not isinstance(platform, str) or not platform.strip():
            raise ValidationError(f"platform must be a non-empty name, got {platform!r}")
        if not isinstance(owner, str) or not owner:
            raise ValidationError(f"owner must be a non-empty string, got {owner!r}")
        self._client_id = ClientId(client_id)
        self.platform: str = platform.strip().lower()
        self.owner: str = owner
        self._state: S = self.machine.initial
        at = now_us() if created_at is None else to_us(check_time(created_at, "created_at"))
        # integer microseconds: rendered as datetimes only when read
        self._created_us: int = at
        self._updated_us: int = at
        self._venue_id: VenueId | None = None
        self.error: ErrorInfo | None = None
        self.last_sequence: int | None = None
        self._history: list[HistoryEntry] = []
        # Tuples, replaced whole on change: a record iterates them without a copy, and an
        # operation nobody waits on shares the one empty tuple.
        self._listeners: tuple[OperationListener, ...] = ()
        self._watchers: tuple[Callable[[], None], ...] = ()  # waiters re-checking their condition
        self._controller: OperationController | None = None
        self._record_us(Change.CREATED, None, at)

    # -- read-only views ---------------------------------------------------

    @property
    def created_at(self) -> datetime:
        """When the operation was created (UTC)."""
        return from_us(self._created_us)

    @property
    def updated_at(self) -> datetime:
        """When the latest change was applied (UTC)."""
        return from_us(self._updated_us)

    @property
    def created_us(self) -> int:
        """:attr:`created_at` as integer microseconds since the epoch."""
        return self._created_us

    @property
    def updated_us(self) -> int:
        """:attr:`updated_at` as integer microseconds since the epoch."""
        return self._updated_us

    @property
    def client_id(self) -> ClientId:
        """Our id, fixed at creation."""
        return self._client_id

    @property
    def state(self) -> S:
        """The current state."""
        return self._state

    @property
    def history(self) -> tuple[HistoryEntry, ...]:
        """Every applied change, oldest first."""
        return tuple(self._history)

    @property
    def is_terminal(self) -> bool:
        """True once the state can never change again."""
        return self.machine.is_terminal(self._state)

    @property
    def venue_id(self) -> VenueId | None:
        """The venue's id (order id, tx hash, signature), once known."""
        return self._venue_id

    @venue_id.setter
    def venue_id(self, value: VenueId | str) -> None:
        self.set_venue_id(value)

    def set_venue_id(self, value: VenueId | str | int, *, at: datetime | None = None) -> bool:
        """Set the venue id; the same value again is a no-op, a different one raises."""
        new = self._check_venue_id(value)
        if new is None:
            return False
        self._venue_id = new
        self._record(Change.VENUE_ID, self._state, ref=new, at=at)
        return True

    def _check_venue_id(self, value: VenueId | str | int | None) -> VenueId | None:
        """The id to set, None if nothing changes; raises on a conflicting id."""
        if value is None:
            return None
        new = VenueId(value)
        if self._venue_id is None:
            return new
        if new != self._venue_id:
            raise InvalidTransition(
                self.machine.kind, f"venue_id {self._venue_id}", f"venue_id {new}"
            )
        return None

    # -- transitions -------------------------------------------------------

    def transition(
        self,
        target: S | str,
        *,
        reason: str | None = None,
        error: ErrorInfo | BaseException | None = None,
        at: datetime | None = None,
    ) -> bool:
        """Move to ``target`` if the table allows it (raises otherwise).

        Moving to the current state is a no-op returning False.
        """
        new = type(self._state)(target)
        if new == self._state:
            return False
        self.machine.check(self._state, new)
        self._validate_target(new)
        info = ErrorInfo.coerce(error)
        if info is not None:
            self.error = info
        self._enter(new, reason=reason, at=at)
        return True

    def _resolve(self, target: S, sequence: int | None) -> S | None:
        """Decide what an update's state means: the state to enter, or None to ignore."""
        current = self._state
        if target == current:
            return None
        machine = self.machine
        backwards = machine.is_backwards(current, target)
        if machine.can(current, target):
            if backwards and not self._is_newer(sequence):
                return None  # a backwards move needs ordering evidence
            return target
        if backwards or (machine.is_terminal(current) and not machine.is_terminal(target)):
            return None  # a late report of an earlier state
        raise InvalidTransition(machine.kind, current.name, target.name)

    def _is_stale(self, sequence: int | None) -> bool:
        last = self.last_sequence
        return sequence is not None and last is not None and sequence < last

    def _is_newer(self, sequence: int | None) -> bool:
        last = self.last_sequence
        return sequence is not None and last is not None and sequence > last

    def _note_sequence(self, sequence: int | None) -> None:
        if sequence is not None and (self.last_sequence is None or sequence > self.last_sequence):
            self.last_sequence = sequence

    def _validate_target(self, target: S) -> None:
        """Subclass hook: raise if entering ``target`` now would break an invariant."""

    def _on_enter(self, previous: S, target: S) -> None:
        """Subclass hook: side effects of entering ``target``."""

    def _enter(
        self,
        target: S,
        *,
        reason: str | None = None,
        sequence: int | None = None,
        ref: str | None = None,
        at: datetime | None = None,
        at_us: int | None = None,
    ) -> None:
        previous = self._state
        self._state = target
        self._on_enter(previous, target)
        if at_us is None:
            at_us = time_us(at)
        self._record_us(
            Change.TRANSITION, previous, at_us, ref=ref, reason=reason, sequence=sequence
        )

    def _record(
        self, change: Change, previous: S | None, *, at: datetime | None = None, **fields: Any
    ) -> HistoryEntry:
        """Append a history entry (``fields``: ref, reason, sequence) at ``at`` or now."""
        return self._record_us(change, previous, time_us(at), **fields)

    def _record_us(
        self,
        change: Change,
        previous: S | None,
        when: int,
        ref: str | None = None,
        reason: str | None = None,
        sequence: int | None = None,
    ) -> HistoryEntry:
        entry: HistoryEntry = new_entry(
            HistoryEntry,
            at_us=when,
            change=change,
            # _value_: the plain text of the state (the .name property is slow on 3.11)
            previous=None if previous is None else previous._value_,
            state=self._state._value_,
            ref=ref,
            reason=reason,
            sequence=sequence,
        )
        self._history.append(entry)
        if when > self._updated_us:
            self._updated_us = when
        for listener in self._listeners:
            try:
                listener(self, entry)
            except Exception:  # a listener's bug must not corrupt the operation
                log.exception("operation listener %r failed on %s", listener, entry.change)
        if self._watchers:
            self._wake_watchers()
        return entry

    # -- listeners and waiting --------------------------------------------

    def add_listener(self, listener: OperationListener) -> Callable[[], None]:
        """Call ``listener(operation, entry)`` on every change; returns a remover."""
        self._listeners += (listener,)

        def remove() -> None:
            self._listeners = _without(self._listeners, listener)

        return remove

    def bind(self, controller: OperationController) -> None:
        """Attach the venue side that resolves this operation (runtime only, never serialised)."""
        self._controller = controller

    async def wait(self, *, timeout: float | None = None) -> Self:
        """Wait for the outcome: return this operation, or raise its typed error.

        With a bound controller, the controller decides (and may apply its own
        documented default ``timeout``). Without one, wait until the state is
        final; ``timeout`` seconds (None: no bound) without an outcome raise
        :class:`UnknownOutcome`, since a pending operation is not a failed one.
        """
        if self._controller is not None:
            result: Self = await self._controller.wait(self, timeout=timeout)
            return result
        return await self._wait_settled(lambda op: op._settled(), timeout)

    def _settled(self) -> bool:
        """Subclass hook: True once :meth:`wait` has an outcome to report."""
        return self.is_terminal

    def _failure(self) -> ChainopsError | None:
        """Subclass hook: the error a settled operation stands for, None on success."""
        return None

    async def _wait_settled(self, settled: Callable[[Self], bool], timeout: float | None) -> Self:
        """Wait until ``settled(self)``, then return self or raise the failure."""
        try:
            async with asyncio.timeout(timeout):
                await self._wait_for(settled)
        except TimeoutError:
            raise UnknownOutcome(
                f"{self.client_id} is {self._state.name} after {timeout}s: "
                "still pending, not failed",
                operation=self,
            ) from None
        failure = self._failure()
        if failure is not None:
            raise failure
        return self

    def _wake_watchers(self) -> None:
        """Let every waiter re-check its condition (after a change, recorded or not)."""
        for watcher in self._watchers:
            try:
                watcher()
            except Exception:  # e.g. the waiter's loop is closed: never fail the change itself
                log.exception("operation waiter failed on %s", self._client_id)

    async def _wait_for(self, predicate: Callable[[Self], bool]) -> Self:
        """Wait until ``predicate(self)`` holds; bound it with ``asyncio.timeout(...)``.

        Changes may be applied from another thread; the wake-up is handed to this loop.
        """
        if predicate(self):
            return self
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def wake() -> None:
            if not done.done():
                done.set_result(None)

        def check() -> None:
            if not done.done() and predicate(self):
                try:
                    same_loop = asyncio.get_running_loop() is loop
                except RuntimeError:
                    same_loop = False
                if same_loop:
                    wake()
                else:
                    loop.call_soon_threadsafe(wake)

        self._watchers += (check,)
        try:
            await done
        finally:
            self._watchers = _without(self._watchers, check)
        return self

    # -- serialisation -----------------------------------------------------

    def _base_dict(self) -> dict[str, Any]:
        return self._state_dict() | {
            "created_at": from_us(self._created_us).isoformat(),
            "updated_at": from_us(self._updated_us).isoformat(),
            "history": [entry.to_dict() for entry in self._history],
        }

    def _state_dict(self) -> dict[str, Any]:
        """The state without the history, times in integer µs: what each journal save rewrites.

        ``from_dict`` rebuilds the operation from it plus ``history`` (and ``attempts``).
        """
        return {
            "kind": self.kind,
            "client_id": str(self._client_id),
            "venue_id": None if self._venue_id is None else str(self._venue_id),
            "platform": self.platform,
            "owner": self.owner,
            "state": self._state._value_,
            "created_at": self._created_us,
            "updated_at": self._updated_us,
            "last_sequence": self.last_sequence,
            "error": None if self.error is None else self.error.to_dict(),
        }

    def _restore_base(self, data: Mapping[str, Any]) -> None:
        self._state = type(self._state)[data["state"]]
        self._venue_id = None if data["venue_id"] is None else VenueId(data["venue_id"])
        updated = data["updated_at"]
        self._updated_us = updated if isinstance(updated, int) else to_us(load_time(updated))  # type: ignore[arg-type]
        self.last_sequence = data["last_sequence"]
        self.error = None if data["error"] is None else ErrorInfo.from_dict(data["error"])
        self._history = [
            e if isinstance(e, HistoryEntry) else HistoryEntry.from_dict(e) for e in data["history"]
        ]

    @staticmethod
    def _base_args(data: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "client_id": data["client_id"],
            "platform": data["platform"],
            "owner": data["owner"],
            "created_at": load_time(data["created_at"]),
        }

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: Decimals as strings, bytes as hex, enums by name."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Rebuild an operation from :meth:`to_dict` output (dispatching on ``kind``)."""
        found = Operation._kinds.get(data.get("kind", ""))
        if found is None:
            raise ValidationError(f"unknown operation kind {data.get('kind')!r}")
        if not issubclass(found, cls):
            raise ValidationError(f"{data['kind']!r} is not a {cls.__name__}")
        result: Self = found._from_dict(data)
        return result

    @classmethod
    @abstractmethod
    def _from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build this kind of operation from its :meth:`to_dict` output."""

    def to_json(self) -> str:
        """Compact JSON text of :meth:`to_dict` (keys sorted, so equal ops give equal text)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Self:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Operation) or type(other) is not type(self):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable: not hashable

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(client_id={str(self._client_id)!r}, "
            f"platform={self.platform!r}, state={self._state.name}, "
            f"venue_id={None if self._venue_id is None else str(self._venue_id)!r})"
        )


def operation_from_dict(data: Mapping[str, Any]) -> Operation[Any]:
    """Rebuild an Order or Transaction from its ``to_dict()`` form."""
    return Operation.from_dict(data)


def operation_from_json(text: str | bytes) -> Operation[Any]:
    """Rebuild an Order or Transaction from its ``to_json()`` text."""
    return Operation.from_json(text)


def _without(items: tuple[T, ...], item: T) -> tuple[T, ...]:
    """``items`` less the first occurrence of ``item`` (the same tuple if absent)."""
    for index, candidate in enumerate(items):
        if candidate == item:
            return items[:index] + items[index + 1 :]
    return items
