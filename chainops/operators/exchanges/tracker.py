"""OrderTracker: the orders of one exchange account, journalled before anything is sent."""

from __future__ import annotations

from chainops.core.bus import EventBus
from chainops.core.history import ErrorInfo
from chainops.core.journal import Journal
from chainops.core.order import Order, OrderState, OrderUpdate

__all__ = ["OrderTracker"]


class OrderTracker:
    """Live orders by client id and venue id, journalled.

    The journal must know every order before the venue does (``add``) and
    every order that finished (so ``restore`` skips it). States in between
    are the venue's to tell: ``restore`` reconciles every non-terminal order
    anyway, so by default they are not written (``journal_every_update``
    writes them too, for an audit trail).
    """

    def __init__(
        self, journal: Journal, events: EventBus, *, journal_every_update: bool = False
    ) -> None:
        self.journal = journal
        self.events = events
        self.journal_every_update = journal_every_update
        self._orders: dict[str, Order] = {}
        self._by_venue: dict[str, Order] = {}

    def add(self, order: Order) -> None:
        """Journal ``order`` and start tracking it (call before placing it)."""
        self.journal.save(order)
        self._orders[order.client_id] = order
        self.events.track(order)

    def track_loaded(self, order: Order) -> None:
        """Track an order loaded from the journal (already stored: nothing is written)."""
        self._orders.setdefault(order.client_id, order)
        if order.venue_id is not None:
            self._by_venue.setdefault(order.venue_id, order)

    def get(self, client_id: str) -> Order | None:
        return self._orders.get(client_id)

    def by_venue_id(self, venue_id: str) -> Order | None:
        return self._by_venue.get(venue_id)

    def all(self) -> list[Order]:
        return list(self._orders.values())

    def active(self) -> list[Order]:
        """Orders not in a terminal state."""
        return [o for o in self._orders.values() if not o.is_terminal]

    def apply(self, order: Order, update: OrderUpdate) -> bool:
        """Apply a venue update idempotently and journal it if anything changed."""
        changed = order.apply(update)
        if order.venue_id is not None:
            self._by_venue[order.venue_id] = order
        if changed and (order.is_terminal or self.journal_every_update):
            self.journal.save(order)
        return changed

    def transition(
        self,
        order: Order,
        state: OrderState,
        *,
        reason: str | None = None,
        error: BaseException | ErrorInfo | None = None,
        persist: bool = True,
    ) -> bool:
        """A local decision (UNKNOWN, PENDING_CANCEL, FAILED); ``persist=False`` skips the write."""
        changed = order.transition(state, reason=reason, error=error)
        if changed and persist:
            self.journal.save(order)
        return changed

    def restore(self, platform: str, owner: str) -> list[Order]:
        """Load the non-terminal orders of this account from the journal and track them."""
        found = []
        for op in self.journal.non_terminal(kind="order", platform=platform, owner=owner):
            if isinstance(op, Order) and op.client_id not in self._orders:
                self._orders[op.client_id] = op
                if op.venue_id is not None:
                    self._by_venue[op.venue_id] = op
                self.events.track(op, announce=False)
                found.append(op)
        return found
