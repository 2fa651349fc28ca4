"""Core hot paths, each against a baseline measured in the same run.

Client-id generation and exact amount conversion against what hand-written code
does; a history record and the per-save encoding against the schema-1 forms they
replaced (a frozen dataclass holding a datetime; the whole operation through
``json.dumps``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from bench.harness import Result, per_second
from chainops.core.assets import to_raw
from chainops.core.attempt import FeeParams, TxAttempt, TxReceipt
from chainops.core.history import Change, HistoryEntry, new_entry, now_us
from chainops.core.ids import ClientIdGenerator, TxHash
from chainops.core.journal.rows import encode_state
from chainops.core.transaction import Transaction, TxState, TxUpdate

N = 50_000


def _naive_to_raw(amount: Decimal, decimals: int) -> int:
    """What hand-written code usually does: scale, check for a fraction, truncate."""
    if amount < 0 or not amount.is_finite():
        raise ValueError(amount)
    scaled = amount.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(amount)
    return int(scaled)


@dataclass(frozen=True, kw_only=True)
class DatetimeEntry:
    """The schema-1 history record: a frozen dataclass holding an aware datetime."""

    at: datetime
    change: Change
    previous: str | None
    state: str
    ref: str | None = None
    reason: str | None = None
    sequence: int | None = None


def _confirmed_transfer() -> Transaction:
    """A transfer through signed, broadcast and confirmed: 7 history entries."""
    from eth_utils.crypto import keccak

    raw = b"\x02" + bytes(range(100))
    fee = FeeParams(max_fee_per_gas=2 * 10**9, max_priority_fee_per_gas=10**9)
    tx = Transaction(
        client_id=ClientIdGenerator("b").next(),
        platform="anvil",
        sender="0x" + "11" * 20,
        to="0x" + "22" * 20,
        value=10**18,
        nonce=7,
    )
    tx.add_attempt(TxAttempt(index=0, hash=TxHash(keccak(raw)), raw=raw, nonce=7, fee=fee))
    tx.mark_broadcast(0)
    receipt = TxReceipt(transaction_hash=tx.attempts[0].hash, block_number=5, status=1)
    tx.apply(TxUpdate(state=TxState.CONFIRMED, receipt=receipt, confirmations=1))
    return tx


def run() -> list[Result]:
    generator = ClientIdGenerator(prefix="b")
    amount = Decimal("1234.567891")
    # 29 significant digits: past the default Decimal context, where scaleb rounds
    big = Decimal("12345678901.123456789012345678")
    tx = _confirmed_transfer()
    exact = {
        "ours_exact_on_29_digits": to_raw(big, 18) == 12345678901123456789012345678,
        "baseline_exact_on_29_digits": _naive_to_raw(big, 18) == 12345678901123456789012345678,
    }
    return [
        Result(
            name="client_id_generation",
            unit="ops/s",
            ours=per_second(generator.next, N),
            baseline=per_second(lambda: uuid.uuid4().hex, N),
            baseline_name="uuid.uuid4().hex (unique, but neither sortable nor monotonic)",
            higher_is_better=True,
        ),
        Result(
            name="amount_to_raw",
            unit="ops/s",
            ours=per_second(lambda: to_raw(amount, 18), N),
            baseline=per_second(lambda: _naive_to_raw(amount, 18), N),
            baseline_name="Decimal.scaleb + integral check",
            higher_is_better=True,
            details=exact,
        ),
        Result(
            name="history_record",
            unit="ops/s",
            ours=per_second(
                lambda: new_entry(
                    HistoryEntry,
                    at_us=now_us(),
                    change=Change.TRANSITION,
                    previous="SIGNED",
                    state="BROADCAST",
                    ref="0",
                ),
                N,
            ),
            baseline=per_second(
                lambda: DatetimeEntry(
                    at=datetime.now(UTC),
                    change=Change.TRANSITION,
                    previous=TxState.SIGNED.name,
                    state=TxState.BROADCAST.name,
                    ref="0",
                ),
                N,
            ),
            baseline_name="schema-1 record: frozen dataclass with datetime.now(UTC)",
            higher_is_better=True,
        ),
        Result(
            name="save_encoding",
            unit="ops/s",
            ours=per_second(lambda: encode_state(tx), N // 5),
            baseline=per_second(tx.to_json, N // 5),
            baseline_name="schema-1 body: the whole operation (history, attempts) via json.dumps",
            higher_is_better=True,
            details={
                "bytes_ours": len(encode_state(tx)),
                "bytes_baseline": len(tx.to_json()),
                "history_entries": len(tx.history),
            },
        ),
    ]
