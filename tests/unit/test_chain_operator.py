"""The shared chain-operator skeleton: waiting, the restore template, the monitor loop."""

from __future__ import annotations

import asyncio
import itertools
import logging

import pytest
from core_factories import NEVER, SENDER, make_attempt, make_receipt, make_tx

from chainops.core.attempt import TxAttempt
from chainops.core.errors import NonceError, UnknownOutcome, ValidationError
from chainops.core.journal import SqliteJournal
from chainops.core.transaction import Transaction, TxState, TxUpdate
from chainops.operators.chain import ChainConfiguration, ChainOperator, MonitorLoop, Waiters


class CountingMonitor(MonitorLoop):
    """A monitor whose turn only counts (the chain-specific look is not under test)."""

    def __init__(self) -> None:
        super().__init__(0.001, logging.getLogger("test"))
        self.fail_next = False

    async def turn(self) -> None:
        self.turns += 1
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("node down")


class MinimalChainOperator(ChainOperator):
    """The skeleton with the least a chain must supply."""

    monitor: CountingMonitor

    def __init__(self, journal: SqliteJournal) -> None:
        super().__init__(ChainConfiguration(platform="devnet"), "tx", journal)
        self.monitor = CountingMonitor()
        self.adopted: list[str] = []
        self.resumed: list[str] = []

    @property
    def owner(self) -> str:
        return SENDER

    async def _connect(self) -> None:
        return None

    def _holds_close(self) -> bool:
        return False

    async def _shutdown(self) -> None:
        await self.monitor.stop()

    async def _adopt(self, tx: Transaction) -> None:
        self.adopted.append(str(tx.client_id))

    async def _resume(self, restored: list[Transaction]) -> None:
        self.resumed = [str(tx.client_id) for tx in restored]

    def settle_need(self, tx: Transaction, confirmations: int | None) -> int:
        return confirmations or 1

    def is_settled(self, tx: Transaction, need: int) -> bool:
        return tx.is_terminal or tx.confirmations >= need

    def pending_text(self, tx: Transaction, need: int) -> str:
        return f"{tx.state.name} at {tx.confirmations}"

    def outcome(self, tx: Transaction) -> Transaction:
        if tx.state is TxState.REPLACED:
            raise NonceError("replaced")
        return tx

    async def speed_up(self, tx: Transaction) -> TxAttempt:
        raise ValidationError("no speed-up here")

    async def cancel(self, tx: Transaction) -> TxAttempt:
        raise ValidationError("no cancel here")


def broadcast_tx(client_id: str, nonce: int = 7) -> Transaction:
    tx = make_tx(client_id, nonce=nonce)
    tx.add_attempt(make_attempt(0, nonce=nonce, seed=nonce))
    tx.mark_broadcast(0)
    return tx


async def test_wait_returns_once_settled_and_wakes_only_its_own_waiters() -> None:
    op = MinimalChainOperator(SqliteJournal(":memory:"))
    tx, other = broadcast_tx("tx-a", 1), broadcast_tx("tx-b", 2)
    op.bind(tx)
    op.bind(other)
    waiting = asyncio.ensure_future(tx.wait(confirmations=2, timeout=5))
    waiting_other = asyncio.ensure_future(other.wait(timeout=5))
    await asyncio.sleep(0)
    assert tx in op.monitor.live  # a wait follows what it waits for
    receipt = make_receipt(tx.attempts[0])
    tx.apply(TxUpdate(state=TxState.INCLUDED, receipt=receipt, confirmations=2, sequence=1))
    op.wake(tx)
    assert await waiting is tx
    assert not waiting_other.done()
    waiting_other.cancel()


async def test_wait_timeout_is_an_unknown_outcome_naming_where_it_stands() -> None:
    op = MinimalChainOperator(SqliteJournal(":memory:"))
    tx = broadcast_tx("tx-slow")
    op.bind(tx)
    with pytest.raises(UnknownOutcome, match=r"tx-slow.*BROADCAST at 0.*not failed"):
        await tx.wait(timeout=0.01)


async def test_wait_raises_the_outcome_error_of_a_failed_transaction() -> None:
    op = MinimalChainOperator(SqliteJournal(":memory:"))
    tx = broadcast_tx("tx-lost")
    op.bind(tx)
    tx.apply(TxUpdate(state=TxState.REPLACED, sequence=1))
    with pytest.raises(NonceError):
        await tx.wait(timeout=1)


async def test_a_stall_reaches_the_waiter_once() -> None:
    waiters = Waiters()
    tx = broadcast_tx("tx-stuck")
    waiting = asyncio.ensure_future(waiters.until(tx, NEVER, None, 5))
    await asyncio.sleep(0)
    waiters.stall(tx, ValidationError("cannot progress"))
    with pytest.raises(ValidationError, match="cannot progress"):
        await waiting
    with pytest.raises(UnknownOutcome):  # told once: the next wait waits again
        await waiters.until(tx, NEVER, None, 0.01)


async def test_speed_up_and_cancel_reach_the_operator() -> None:
    op = MinimalChainOperator(SqliteJournal(":memory:"))
    tx = broadcast_tx("tx-c")
    op.bind(tx)
    with pytest.raises(ValidationError, match="no speed-up"):
        await tx.speed_up()
    with pytest.raises(ValidationError, match="no cancel"):
        await tx.cancel()


async def test_restore_adopts_tracks_turns_then_resumes_what_the_journal_left() -> None:
    journal = SqliteJournal(":memory:")
    unfinished, finished = broadcast_tx("tx-open", 1), broadcast_tx("tx-done", 2)
    finished.apply(TxUpdate(state=TxState.REPLACED, sequence=1))
    journal.save(unfinished)
    journal.save(finished)
    op = MinimalChainOperator(journal)
    restored = await op.restore()
    assert [str(tx.client_id) for tx in restored] == ["tx-open"]
    assert op.adopted == ["tx-open"] and op.resumed == ["tx-open"]
    assert op.monitor.turns == 1 and restored[0] in op.monitor.live
    again = await op.restore()  # already tracked: not taken twice
    assert again == [] and op.monitor.turns == 1


async def test_restore_of_an_empty_journal_costs_no_turn() -> None:
    op = MinimalChainOperator(SqliteJournal(":memory:"))
    assert await op.restore() == [] and op.monitor.turns == 0


async def test_the_loop_counts_a_failed_turn_and_goes_on() -> None:
    monitor = CountingMonitor()
    monitor.fail_next = True
    monitor.track(broadcast_tx("tx-live"))
    monitor.start()
    try:
        async with asyncio.timeout(5):
            while monitor.turns < 3:
                await asyncio.sleep(0.001)
    finally:
        await monitor.stop()
    assert monitor.errors == 1


async def test_sequence_strictly_increases() -> None:
    monitor = CountingMonitor()
    seen = [monitor.sequence() for _ in range(1000)]  # faster than the microsecond clock
    assert all(later > earlier for earlier, later in itertools.pairwise(seen))


class DepthJudge:
    """Settled once the transaction is ``need`` confirmations deep; counts its looks."""

    def __init__(self) -> None:
        self.looks = 0

    def is_settled(self, tx: Transaction, need: int) -> bool:
        self.looks += 1
        return tx.confirmations >= need

    def pending_text(self, tx: Transaction, need: int) -> str:
        return f"at {tx.confirmations} of {need}"

    def outcome(self, tx: Transaction) -> Transaction:
        return tx


def deepen(tx: Transaction, depth: int) -> None:
    if tx.receipt is None:
        receipt = make_receipt(tx.attempts[0])
        tx.apply(TxUpdate(state=TxState.INCLUDED, receipt=receipt, confirmations=depth, sequence=1))
    else:
        tx.apply(TxUpdate(confirmations=depth, sequence=depth + 1))


async def test_a_change_wakes_only_the_waiters_it_settles() -> None:
    waiters, judge = Waiters(), DepthJudge()
    tx = broadcast_tx("tx-deep")
    shallow = asyncio.ensure_future(waiters.until(tx, judge, 1, 5))
    deep = asyncio.ensure_future(waiters.until(tx, judge, 3, 5))
    await asyncio.sleep(0)
    deepen(tx, 1)
    waiters.settle(tx)
    assert await shallow is tx
    looks = judge.looks
    await asyncio.sleep(0.01)
    assert not deep.done() and judge.looks == looks  # not woken: it did not look again
    deepen(tx, 2)
    waiters.settle(tx)
    await asyncio.sleep(0.01)
    assert not deep.done()
    deepen(tx, 3)
    waiters.settle(tx)
    assert await deep is tx
    assert waiters._futures == {}


async def test_settle_drops_a_cancelled_waiter() -> None:
    waiters, judge = Waiters(), DepthJudge()
    tx = broadcast_tx("tx-gone")
    gone = asyncio.ensure_future(waiters.until(tx, judge, 1, 5))
    kept = asyncio.ensure_future(waiters.until(tx, judge, 2, 5))
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.sleep(0)
    waiters.settle(tx)  # nothing settled: the cancelled waiter is dropped all the same
    assert len(waiters._futures) == 1 and not kept.done()
    kept.cancel()
    await asyncio.sleep(0)
    waiters.settle(tx)
    assert waiters._futures == {}


async def test_a_stall_reaches_every_waiter_of_the_moment_and_is_kept_for_none_later() -> None:
    waiters = Waiters()
    tx = broadcast_tx("tx-capped")
    first = asyncio.ensure_future(waiters.until(tx, NEVER, None, 5))
    second = asyncio.ensure_future(waiters.until(tx, NEVER, None, 5))
    await asyncio.sleep(0)
    waiters.stall(tx, ValidationError("fee ceiling reached"))
    for waiting in (first, second):
        with pytest.raises(ValidationError, match="fee ceiling"):
            await asyncio.wait_for(waiting, 1)
    with pytest.raises(UnknownOutcome):  # told to those waiting: a later wait waits again
        await waiters.until(tx, NEVER, None, 0.01)


async def test_a_stall_with_nobody_waiting_reaches_the_next_wait() -> None:
    waiters = Waiters()
    tx = broadcast_tx("tx-early")
    waiters.stall(tx, ValidationError("cannot progress"))
    with pytest.raises(ValidationError, match="cannot progress"):
        await waiters.until(tx, NEVER, None, 5)
