"""Intents in the journal: one JSON value per intent, plus the index of an account's intents."""

from __future__ import annotations

import json

from chainops.core.journal import Journal
from chainops.operators.exchanges.intents.model import OrderIntent

__all__ = ["IntentRecords"]


class IntentRecords:
    """Journal-backed store of the intents of one account (``owner`` keys the index)."""

    def __init__(self, journal: Journal, owner: str) -> None:
        self.journal = journal
        self._index_key = f"intents:{owner}"

    def _ids(self) -> list[str]:
        raw = self.journal.get_value(self._index_key)
        return [] if raw is None else list(json.loads(raw))

    def save(self, intent: OrderIntent) -> None:
        """Write the intent (call before sending anything it decided)."""
        with self.journal.atomic():
            ids = self._ids()
            if intent.intent_id not in ids:
                ids.append(intent.intent_id)
                self.journal.set_value(self._index_key, json.dumps(ids))
            self.journal.set_value(f"intent:{intent.intent_id}", json.dumps(intent.to_dict()))

    def load_all(self) -> list[OrderIntent]:
        found = []
        for intent_id in self._ids():
            raw = self.journal.get_value(f"intent:{intent_id}")
            if raw is not None:
                found.append(OrderIntent.from_dict(json.loads(raw)))
        return found
