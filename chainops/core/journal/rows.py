"""How an operation maps onto journal rows, for every store.

An operation is stored as three parts:

* its current state (:meth:`Operation._state_dict`, msgspec JSON, times as
  integer microseconds; for a transaction also its attempts' errors), rewritten
  in place on each save;
* its history, appended as runs: a save writes one row holding the entries
  added since the stored version (msgspec JSON), keyed by the index of the
  first; a transfer's nine entries cost two rows, not nine;
* for a transaction, its attempts, one row each, inserted once: an attempt's
  broadcast time is its BROADCAST history entry's, so marking it broadcast
  writes no attempt row.

SQLite writes whole pages, so each table a save touches costs a page in the
commit: a transaction's venue id (its first attempt's hash, already indexed
with the attempts) is therefore not indexed a second time.

Rows written by schema 1 held the whole operation (history and attempts
included) in the body; :func:`decode_operation` still reads them.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec

from chainops.core.attempt import AttemptKind, FeeParams, TxAttempt
from chainops.core.errors import JournalError
from chainops.core.history import Change, ErrorInfo, HistoryEntry, from_us, new_entry
from chainops.core.operation import Operation
from chainops.core.transaction import Transaction

__all__: list[str] = []

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode

# The history_runs columns after client_id, in the order history_rows writes them.
HISTORY_COLUMNS = "first_index, entries"
# The columns of a schema-2 history row (one entry each), as entry_from_row reads them.
V2_HISTORY_COLUMNS = "entry_index, at_us, change, previous, state, ref, reason, update_seq"

# ref may be an identifier (a str subclass msgspec does not know): stored as its text
_encode_run = msgspec.json.Encoder(enc_hook=str).encode
_decode_run = msgspec.json.Decoder(list[HistoryEntry]).decode

# The columns of a stored attempt, in the order attempt_from_row reads them.
ATTEMPT_COLUMNS = (
    "attempt_index, hash, raw, nonce, fee, kind, blockhash, last_valid_block_height, created_at"
)
# ... followed by the broadcast time the attempt already had when journalled (schema 2).
ATTEMPT_STATE_COLUMNS = f"{ATTEMPT_COLUMNS}, broadcast_at"


def encode_state(operation: Operation[Any]) -> bytes:
    """The body column: the current state without history or attempts."""
    state = operation._state_dict()
    if isinstance(operation, Transaction):
        # the attempts list itself, read only: no tuple copy per save
        errors = {str(a.index): a.error.to_dict() for a in operation._attempts if a.error}
        if errors:
            state["attempt_errors"] = errors
    return _encode(state)


def indexed_venue_id(operation: Operation[Any]) -> str | None:
    """The venue id for the venue index: None when the attempt-hash index finds it already."""
    venue_id = operation.venue_id
    if venue_id is None:
        return None
    if isinstance(operation, Transaction):
        attempts = operation._attempts
        if attempts and str(attempts[0].hash) == str(venue_id):
            return None
    return str(venue_id)


def history_rows(
    client_id: str, entries: Sequence[HistoryEntry], start: int, *, text: bool = False
) -> list[tuple[Any, ...]]:
    """The row of ``entries`` (the history from index ``start`` on): one run."""
    run = _encode_run(entries)
    return [(client_id, start, run.decode() if text else run)]


def entries_from_runs(client_id: str, runs: Iterable[Sequence[Any]]) -> list[HistoryEntry]:
    """The history from its runs, selected as HISTORY_COLUMNS in index order."""
    history: list[HistoryEntry] = []
    for first, run in runs:
        if first != len(history):
            gap = len(history)
            raise JournalError(f"unreadable operation in journal: {client_id}: gap at entry {gap}")
        try:
            history += _decode_run(run)
        except msgspec.DecodeError as exc:
            raise JournalError(f"unreadable operation in journal: {client_id}: {exc}") from exc
    return history


def entry_from_row(row: Sequence[Any]) -> HistoryEntry:
    """A HistoryEntry from a schema-2 row selected as V2_HISTORY_COLUMNS (index first)."""
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


def runs_from_v2_rows(rows: Iterable[Sequence[Any]], *, text: bool) -> list[tuple[Any, ...]]:
    """Schema-2 history rows (client id, then V2_HISTORY_COLUMNS, in index order) as runs:
    one per operation."""
    return [
        history_rows(client_id, [entry_from_row(r) for r in entries], 0, text=text)[0]
        for client_id, entries in group_rows(rows).items()
    ]


def attempt_row(client_id: str, attempt: TxAttempt, logged: bool = False) -> tuple[Any, ...]:
    """The full row of an attempt (ATTEMPT_STATE_COLUMNS after client_id).

    ``logged``: its broadcast time is in a BROADCAST history entry (not repeated here).
    """
    broadcast_us = None if logged else attempt.broadcast_us
    fee = _fee_text.get(attempt.fee)
    if fee is None:
        if len(_fee_text) >= _FEE_TEXTS_KEPT:
            _fee_text.clear()
        fee = _fee_text[attempt.fee] = _encode(attempt.fee.to_dict()).decode()
    return (
        client_id,
        attempt.index,
        str(attempt.hash),
        attempt.raw,
        attempt.nonce,
        fee,
        attempt.kind._value_,
        attempt.blockhash,
        attempt.last_valid_block_height,
        # UTC text: the columns read as times in SQL, and sort as they should
        text_time(attempt.created_us),
        None if broadcast_us is None else text_time(broadcast_us),
    )


# FeeParams (immutable, hashable) -> its column text: a burst's attempts share a few.
_fee_text: dict[FeeParams, str] = {}
_FEE_TEXTS_KEPT = 256


def attempt_from_row(row: Sequence[Any]) -> TxAttempt:
    """A TxAttempt from a ``tx_attempts`` row selected as ATTEMPT_COLUMNS (any store).

    With the extra ATTEMPT_STATE_COLUMNS, the broadcast time it was journalled with.
    """
    broadcast_at = None
    if len(row) > 9 and row[9] is not None:
        broadcast_at = datetime.fromisoformat(row[9])
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
    )


def attempts_to_write(
    operation: Operation[Any], entries: Iterable[HistoryEntry], everything: bool
) -> list[TxAttempt]:
    """The attempts a save writes: all of them, or those the new entries added."""
    if not isinstance(operation, Transaction):
        return []
    attempts = operation._attempts
    if everything:
        return list(attempts)
    return [attempts[int(e.ref)] for e in entries if e.change is Change.ATTEMPT and e.ref]


def attempt_rows(
    tx: Transaction, entries: Iterable[HistoryEntry], everything: bool
) -> list[tuple[Any, ...]]:
    """The rows of the attempts a save writes (see :func:`attempts_to_write`)."""
    attempts = attempts_to_write(tx, entries, everything)
    if not attempts:
        return []
    client_id = str(tx.client_id)
    if all(a.broadcast_us is None for a in attempts):  # signed, not yet sent: nothing to look up
        return [attempt_row(client_id, a) for a in attempts]
    logged = {e.ref for e in tx._history if e.change is Change.BROADCAST}
    return [attempt_row(client_id, a, str(a.index) in logged) for a in attempts]


def _complete_attempts(
    attempts: Sequence[TxAttempt],
    history: Sequence[HistoryEntry],
    errors: Mapping[str, Any],
) -> list[TxAttempt]:
    """Attempts rows plus what later saves recorded elsewhere: broadcast times, errors."""
    broadcast = {e.ref: e.at_us for e in history if e.change is Change.BROADCAST}
    out = []
    for attempt in attempts:
        key = str(attempt.index)
        when = attempt.broadcast_us
        if when is None:
            when = broadcast.get(key)
        error = errors.get(key)
        if when != attempt.broadcast_us or error is not None:
            info = None if error is None else ErrorInfo.from_dict(error)
            attempt = attempt.evolve(broadcast_us=when, error=info)
        out.append(attempt)
    return out


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
            data["history"] = history = history or ()
            if data.get("kind") == Transaction.kind:
                errors = data.pop("attempt_errors", {})
                data["attempts"] = _complete_attempts(attempts or (), history, errors)
        return Operation.from_dict(data)
    except (ValueError, KeyError, TypeError, msgspec.DecodeError) as exc:
        raise JournalError(f"unreadable operation in journal: {exc}") from exc


def group_rows(rows: Iterable[Sequence[Any]]) -> Mapping[str, list[Sequence[Any]]]:
    """Rows whose first column is a client id, grouped by it (order kept)."""
    grouped: dict[str, list[Sequence[Any]]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row[1:])
    return grouped


def build_operations(
    rows: Sequence[Sequence[Any]],
    history: Iterable[Sequence[Any]],
    attempts: Iterable[Sequence[Any]],
) -> list[Operation[Any]]:
    """Operations from (client_id, kind, body) rows and their history and attempt rows.

    ``history`` and ``attempts`` rows start with the client id, ordered by
    client id and then index.
    """
    entries = group_rows(history)
    signed = group_rows(attempts)
    return [
        decode_operation(
            body,
            entries_from_runs(cid, entries.get(cid, ())),
            [attempt_from_row(r) for r in signed.get(cid, ())],
        )
        for cid, _kind, body in rows
    ]


Execute = Callable[[str, Sequence[Any]], Any]


class WrittenCopy(weakref.KeyedRef):  # type: ignore[type-arg]
    """The operation last written (weakly, keyed by client id), with its history length,
    indexed venue id and terminal flag as written: updated in place by each later save."""

    __slots__ = ("terminal", "venue_id", "version")

    def __init__(self, operation: Operation[Any], callback: Any, client_id: str) -> None:
        super().__init__(operation, callback, client_id)
        self.version = 0
        self.venue_id: str | None = None
        self.terminal: Any = None


class Written(dict[str, WrittenCopy]):
    """Client id -> the copy this journal wrote last (:class:`WrittenCopy`).

    An entry goes once nobody holds its object any more. One callback serves
    every entry: a closure each would be four more objects per live operation
    for the cyclic garbage collector to walk; and the entry is one object, not a
    reference and a tuple, for the same reason.
    """

    __slots__ = ("forget",)

    def __init__(self) -> None:
        super().__init__()
        self.forget = self._forget

    def _forget(self, ref: WrittenCopy) -> None:
        if self.get(ref.key) is ref:
            del self[ref.key]


ExecuteMany = Callable[[str, Sequence[Sequence[Any]]], Any]


class RowWriter:
    """The incremental save, for a store's parameter mark (``?`` or ``%s``).

    ``written`` maps client ids to the object this journal last wrote and its
    history length: only onto that copy, saved again from that same object, are
    new entries appended; anything else (another copy of the operation, another
    process's write, a rolled-back one) is rewritten whole.
    """

    def __init__(self, mark: str, *, text_body: bool, flag: Callable[[bool], Any]) -> None:
        def marks(n: int) -> str:
            return ", ".join([mark] * n)

        self._text_body = text_body
        self._flag = flag
        self.insert_operation = (
            "INSERT INTO operations (client_id, kind, platform, owner, created_at,"
            f" venue_id, terminal, state, version, updated_at, body) VALUES ({marks(11)})"
        )
        # an indexed column is set only when it changes: setting it, even to the same
        # value, rewrites its index page too (one more page in the commit's fsync)
        self.update_operation = {
            (venue, terminal): (
                "UPDATE operations SET "
                + "".join(
                    f"{column} = {mark}, "
                    for column, changed in (("venue_id", venue), ("terminal", terminal))
                    if changed
                )
                + f"state = {mark}, version = {mark}, updated_at = {mark}, body = {mark}"
                f" WHERE client_id = {mark}"
            )
            for venue in (False, True)
            for terminal in (False, True)
        }
        # the same, only onto the version this journal wrote last
        self.update_written = {
            key: f"{sql} AND version = {mark}" for key, sql in self.update_operation.items()
        }
        self.clear_history = f"DELETE FROM history_runs WHERE client_id = {mark}"
        self.insert_history = (
            f"INSERT INTO history_runs (client_id, {HISTORY_COLUMNS}) VALUES ({marks(3)})"
        )
        self.upsert_attempt = (
            f"INSERT INTO tx_attempts (client_id, {ATTEMPT_STATE_COLUMNS}) VALUES ({marks(11)})"
            " ON CONFLICT (client_id, attempt_index) DO UPDATE SET"
            " broadcast_at = excluded.broadcast_at"
            " WHERE tx_attempts.hash = excluded.hash"
        )

    def append(
        self,
        execute: Execute,
        execute_many: ExecuteMany,
        operation: Operation[Any],
        written: Written,
    ) -> Sequence[HistoryEntry] | None:
        """Save the object this journal wrote last, if the stored copy is still that one.

        No read first: the update is conditional on the stored version, and the
        new history rows follow it. Returns the entries written (the written copy
        is noted: no :meth:`remember` after it), or None (nothing written) when
        :meth:`write` must decide from the stored copy instead.
        """
        client_id = str(operation.client_id)
        mine = written.get(client_id)
        history = operation._history  # read-only here: no copy of the whole history
        if mine is None or mine() is not operation or len(history) < mine.version:
            return None
        version = mine.version
        venue_id = indexed_venue_id(operation)
        terminal = self._flag(operation.is_terminal)
        new_venue, new_terminal = venue_id != mine.venue_id, terminal != mine.terminal
        changed = (venue_id,) * new_venue + (terminal,) * new_terminal
        state = self._state(operation, len(history))
        update = self.update_written[new_venue, new_terminal]
        if execute(update, (*changed, *state, client_id, version)).rowcount != 1:
            return None  # another writer moved the stored copy
        entries = history[version:]
        if entries:
            execute_many(self.insert_history, self.history_rows(client_id, entries, version))
        if terminal:  # final now: nothing more will be appended
            written.pop(client_id, None)
        else:  # what remember() would note, known here already
            mine.version, mine.venue_id = len(history), venue_id
        return entries

    def history_rows(
        self, client_id: str, entries: Sequence[HistoryEntry], start: int
    ) -> list[tuple[Any, ...]]:
        """The run row of ``entries`` (from index ``start``), text where the store wants it."""
        return history_rows(client_id, entries, start, text=self._text_body)

    def _state(self, operation: Operation[Any], version: int) -> tuple[Any, ...]:
        """The columns every save rewrites: state, version, updated_at, body."""
        encoded = encode_state(operation)
        body: str | bytes = encoded.decode() if self._text_body else encoded
        return (operation.state._value_, version, text_time(operation.updated_us), body)

    def write(
        self,
        execute: Execute,
        execute_many: ExecuteMany,
        operation: Operation[Any],
        stored: Sequence[Any] | None,
        written: Written,
    ) -> tuple[Sequence[HistoryEntry], bool]:
        """Write the operation row and new history rows.

        ``stored``: the stored copy's kind, version, indexed venue id and terminal
        flag, or None.

        Returns the entries written and whether the copy was rewritten whole:
        what :meth:`write_attempts` needs.
        """
        client_id = str(operation.client_id)
        history = operation._history  # read only: no copy of the whole history
        version = len(history)
        if stored is not None:
            if stored[0] != operation.kind:
                kind = operation.kind
                raise JournalError(f"{client_id} is stored as a {stored[0]}, not a {kind}")
            if stored[1] > version:
                raise JournalError(
                    f"{client_id}: refusing to overwrite a newer copy "
                    f"({stored[1]} history entries) with an older one ({version})"
                )
        venue_id = indexed_venue_id(operation)
        terminal = self._flag(operation.is_terminal)
        state = self._state(operation, version)
        mine = written.get(client_id)
        everything = (
            stored is None or mine is None or mine.version != stored[1] or mine() is not operation
        )
        if stored is None:
            kind, platform, owner = operation.kind, operation.platform, operation.owner
            created = text_time(operation.created_us)
            row = (client_id, kind, platform, owner, created, venue_id, terminal, *state)
            execute(self.insert_operation, row)
        else:
            new_venue, new_terminal = venue_id != stored[2], terminal != stored[3]
            changed = (venue_id,) * new_venue + (terminal,) * new_terminal
            execute(self.update_operation[new_venue, new_terminal], (*changed, *state, client_id))
            if everything:
                execute(self.clear_history, (client_id,))
        start = 0 if everything else stored[1]  # type: ignore[index]
        entries = history[start:]
        if entries:
            execute_many(self.insert_history, self.history_rows(client_id, entries, start))
        return entries, everything

    def write_attempts(
        self,
        execute: Execute,
        tx: Transaction,
        entries: Sequence[HistoryEntry],
        everything: bool,
    ) -> None:
        """Insert the new attempts (all of them when the copy is rewritten whole)."""
        for row in attempt_rows(tx, entries, everything):
            if execute(self.upsert_attempt, row).rowcount != 1:
                raise JournalError(f"{row[0]}: attempt {row[1]} is journalled with another hash")

    def remember(self, written: Written, operation: Operation[Any]) -> None:
        """Note the copy just written (a final operation is forgotten, and so is one
        nobody holds any more: a CONFIRMED transfer its operator let go of)."""
        client_id = str(operation.client_id)
        if operation.is_terminal:
            written.pop(client_id, None)  # nothing more will be appended
            return
        mine = written.get(client_id)
        if mine is None or mine() is not operation:
            mine = written[client_id] = WrittenCopy(operation, written.forget, client_id)
        mine.version = len(operation._history)
        mine.venue_id = indexed_venue_id(operation)
        mine.terminal = self._flag(False)


def text_time(value: int) -> str:
    """A sortable UTC text timestamp of integer microseconds, for index columns.

    The same text as ``isoformat(timespec="microseconds")``; the part up to the
    second is formatted once per second (every save writes one or two of these).
    """
    second, micros = divmod(value, 1_000_000)
    cached = _second_text[0]
    if cached[0] != second:
        cached = (second, from_us(second * 1_000_000).isoformat(timespec="seconds")[:-6])
        _second_text[0] = cached  # one tuple store: safe across threads
    return f"{cached[1]}.{micros:06d}+00:00"


# (second, its text without the offset): the last one formatted by text_time
_second_text: list[tuple[int, str]] = [(-1, "")]
