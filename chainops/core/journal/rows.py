"""How an operation maps onto journal rows, for every store.

An operation is stored as three parts:

* its current state (:meth:`Operation.journal_state`, msgspec JSON, times as
  integer microseconds), rewritten in place on each save;
* its history, one row per entry, appended: a save writes only the entries
  added since the stored version;
* for a transaction, its attempts, one row each, inserted once and updated
  when their broadcast time or error changes.

Rows written by schema 1 held the whole operation (history and attempts
included) in the body; :func:`decode_operation` still reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec

from chainops.core.attempt import AttemptKind, FeeParams, TxAttempt
from chainops.core.errors import JournalError
from chainops.core.history import Change, ErrorInfo, HistoryEntry, from_us, new_entry, to_us
from chainops.core.operation import Operation
from chainops.core.transaction import Transaction

__all__: list[str] = []

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode

# The history columns after client_id, in the order history_rows writes them.
HISTORY_COLUMNS = "entry_index, at_us, change, previous, state, ref, reason, update_seq"

# The columns of a stored attempt, in the order attempt_from_row reads them.
ATTEMPT_COLUMNS = (
    "attempt_index, hash, raw, nonce, fee, kind, blockhash, last_valid_block_height, created_at"
)
# ... followed by what changes after signing (schema 2).
ATTEMPT_STATE_COLUMNS = f"{ATTEMPT_COLUMNS}, broadcast_at, error"

# History changes whose ``ref`` is an attempt index: the attempt rows a save must write.
ATTEMPT_CHANGES = frozenset({Change.ATTEMPT, Change.BROADCAST, Change.ATTEMPT_ERROR})


def encode_state(operation: Operation[Any]) -> bytes:
    """The body column: the current state without history or attempts."""
    return _encode(operation.journal_state())


def history_rows(
    client_id: str, entries: Sequence[HistoryEntry], start: int
) -> list[tuple[Any, ...]]:
    """Rows of ``entries`` (the history from index ``start`` on)."""
    # update sequences are arbitrary ints (event ids): text keeps them exact beyond 64 bits
    return [
        (
            client_id,
            start + i,
            e.at_us,
            e.change._value_,
            e.previous,
            e.state,
            None if e.ref is None else str(e.ref),
            e.reason,
            None if e.sequence is None else str(e.sequence),
        )
        for i, e in enumerate(entries)
    ]


def entry_from_row(row: Sequence[Any]) -> HistoryEntry:
    """A HistoryEntry from a row selected as HISTORY_COLUMNS (index first)."""
    entry: HistoryEntry = new_entry(
        HistoryEntry,
        at_us=row[1],
        change=Change[row[2]],
        previous=row[3],
        state=row[4],
        ref=row[5],
        reason=row[6],
        sequence=None if row[7] is None else int(row[7]),
    )
    return entry


def attempt_row(client_id: str, attempt: TxAttempt) -> tuple[Any, ...]:
    """The full row of an attempt (ATTEMPT_STATE_COLUMNS after client_id)."""
    error = attempt.error
    return (
        client_id,
        attempt.index,
        str(attempt.hash),
        attempt.raw,
        attempt.nonce,
        _encode(attempt.fee.to_dict()).decode(),
        attempt.kind._value_,
        attempt.blockhash,
        attempt.last_valid_block_height,
        attempt.created_at.isoformat(),
        None if attempt.broadcast_at is None else to_us(attempt.broadcast_at),
        None if error is None else _encode(error.to_dict()).decode(),
    )


def attempt_from_row(row: Sequence[Any]) -> TxAttempt:
    """A TxAttempt from a ``tx_attempts`` row selected as ATTEMPT_COLUMNS (any store).

    With the two extra ATTEMPT_STATE_COLUMNS, its broadcast time and error too.
    """
    broadcast_at = error = None
    if len(row) > 9:
        broadcast_at = None if row[9] is None else from_us(row[9])
        error = None if row[10] is None else ErrorInfo.from_dict(_decode(row[10]))
    return TxAttempt(
        index=row[0],
        hash=row[1],
        raw=bytes(row[2]),
        nonce=row[3],
        fee=FeeParams.from_dict(_decode(row[4])),
        kind=AttemptKind[row[5]],
        blockhash=row[6],
        last_valid_block_height=row[7],
        created_at=datetime.fromisoformat(row[8]),
        broadcast_at=broadcast_at,
        error=error,
    )


def attempts_to_write(
    operation: Operation[Any], entries: Iterable[HistoryEntry], everything: bool
) -> list[TxAttempt]:
    """The attempts a save writes: all of them, or those the new entries touched."""
    if not isinstance(operation, Transaction):
        return []
    attempts = operation.attempts
    if everything:
        return list(attempts)
    touched = sorted({int(e.ref) for e in entries if e.change in ATTEMPT_CHANGES and e.ref})
    return [attempts[i] for i in touched]


def decode_operation(
    body: str | bytes,
    history: Sequence[HistoryEntry] | None = None,
    attempts: Sequence[TxAttempt] | None = None,
) -> Operation[Any]:
    """Rebuild an operation from its body and rows (or from a schema-1 body alone)."""
    try:
        data = _decode(body)
        if not isinstance(data, dict):
            raise ValueError("the body is not an object")
        if "history" not in data:  # schema 2: history and attempts live in rows
            data["history"] = history or ()
            if data.get("kind") == Transaction.kind:
                data["attempts"] = attempts or ()
        return Operation.from_dict(data)
    except (ValueError, KeyError, TypeError, msgspec.DecodeError) as exc:
        raise JournalError(f"unreadable operation in journal: {exc}") from exc


def group_rows(rows: Iterable[Sequence[Any]]) -> Mapping[str, list[Sequence[Any]]]:
    """Rows whose first column is a client id, grouped by it (order kept)."""
    grouped: dict[str, list[Sequence[Any]]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row[1:])
    return grouped
