"""State tables: which moves an operation's state may make, and how far each state is."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

from chainops.core.errors import InvalidTransition
from chainops.core.history import LabelEnum

__all__ = ["StateMachine"]

S = TypeVar("S", bound=LabelEnum)


class StateMachine(Generic[S]):
    """A transition table: ``state -> allowed targets``; no targets means terminal.

    ``rank`` orders states by progress, so that a move to a lower rank can be
    recognised as a stale (late) report rather than news.
    """

    def __init__(
        self,
        kind: str,
        initial: S,
        table: Mapping[S, Iterable[S]],
        rank: Mapping[S, int],
    ) -> None:
        states = set(type(initial))
        if set(table) != states or set(rank) != states:
            raise ValueError(f"{kind}: table and rank must cover every state")
        self.kind = kind
        self.initial = initial
        self.table: Mapping[S, frozenset[S]] = {s: frozenset(t) for s, t in table.items()}
        self.terminal: frozenset[S] = frozenset(s for s, t in self.table.items() if not t)
        self.rank = dict(rank)

    def can(self, source: S, target: S) -> bool:
        """True if ``source -> target`` is in the table."""
        return target in self.table[source]

    def check(self, source: S, target: S) -> None:
        """Raise :class:`InvalidTransition` unless ``source -> target`` is allowed."""
        if not self.can(source, target):
            raise InvalidTransition(self.kind, source.name, target.name)

    def is_terminal(self, state: S) -> bool:
        """True if no transition leaves ``state``."""
        return state in self.terminal

    def is_backwards(self, source: S, target: S) -> bool:
        """True if ``target`` is less advanced than ``source``."""
        return self.rank[target] < self.rank[source]

    def edges(self) -> list[tuple[S, S]]:
        """Every allowed ``(source, target)`` pair."""
        return [(s, t) for s, targets in self.table.items() for t in sorted(targets)]
