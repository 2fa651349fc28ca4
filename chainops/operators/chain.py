"""What every chain operator shares: the monitor loop, restore, and waiting.

A chain operator (EVM, Solana) is one account on one chain. Its transactions
are followed by one monitor loop (not a task per transaction), reconciled from
the journal on start, and awaited with ``await tx.wait(...)`` through the
:class:`ChainTxController` bound to each of them. Each chain supplies only what
differs: how a monitor turn looks at the chain, what "settled" means for a
wait, what a restored transaction needs before and after the first turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from pydantic import Field

from chainops.core.attempt import TxAttempt
from chainops.core.bus import EventBus
from chainops.core.errors import ChainopsError, ConfigurationError, UnknownOutcome
from chainops.core.ids import ClientIdGenerator
from chainops.core.journal import Journal, open_journal
from chainops.core.platforms import ChainPlatform
from chainops.core.transaction import Transaction
from chainops.operators.base import Operator, OperatorConfiguration
from chainops.operators.deadlines import Deadlines
from chainops.operators.group_commit import GroupCommitter

# A wait without a timeout still ends: a stalled RPC must not hold the caller forever.
DEFAULT_WAIT_TIMEOUT = 120.0


class ChainConfiguration(OperatorConfiguration):
    """Settings every chain operator shares (intervals default by chain: local or public)."""

    poll_interval: float | None = Field(default=None, gt=0)
    track_finality: bool = True
    close_timeout: float = Field(default=30.0, ge=0)


class MonitorLoop(ABC):
    """One loop per operator: a turn when woken (a new transaction) or every interval.

    Subclasses implement :meth:`turn`, one look at the chain for what is live.
    A failed turn is counted and retried on the next one; the loop never dies.
    """

    def __init__(self, poll_interval: float, log: logging.Logger) -> None:
        self.poll_interval = poll_interval
        self._log = log
        self._live: dict[str, Transaction] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.turns = 0
        self.errors = 0
        self._last_sequence = 0
        # Told of every transaction the loop stops following (the operator lets go of it).
        self.on_forget: Callable[[Transaction], None] | None = None

    @property
    def live(self) -> list[Transaction]:
        return list(self._live.values())

    def following(self, client_id: str) -> Transaction | None:
        """The live transaction with ``client_id``, if this loop still follows it."""
        return self._live.get(client_id)

    def _drop(self, client_id: str) -> Transaction | None:
        """Stop following ``client_id``; its other per-transaction state goes with it."""
        tx = self._live.pop(client_id, None)
        if tx is not None and self.on_forget is not None:
            self.on_forget(tx)
        return tx

    def track(self, tx: Transaction) -> None:
        """Follow ``tx`` until it is final; wakes the loop at once."""
        self._live[str(tx.client_id)] = tx
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            # asyncio.wait, not `await task`: the task's CancelledError stays inside, while
            # a cancellation of the caller itself still propagates.
            await asyncio.wait([task])

    async def _run(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that
            # lands as the event fires, and the loop would never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):
                    await self._wake.wait()
            self._wake.clear()
            if not self._live:
                continue
            try:
                await self.turn()
            except asyncio.CancelledError:
                raise
            except Exception:  # a failed turn is retried on the next one; never die silently
                self.errors += 1
                self._log.warning("monitor turn failed; retrying next turn", exc_info=True)

    @abstractmethod
    async def turn(self) -> None:
        """One look at the chain for every live transaction."""

    def sequence(self) -> int:
        """Observation order for updates: wall-clock microseconds, strictly increasing.

        Not a block number: a reorg or a rollback can lower the head, and a
        backwards state move must still count as news. Wall-clock keeps the
        order across restarts, where a turn counter would start again at 0.
        """
        self._last_sequence = max(time.time_ns() // 1000, self._last_sequence + 1)
        return self._last_sequence


class Judge(Protocol):
    """What :meth:`Waiters.until` asks: the operator, with no closure per wait."""

    def is_settled(self, tx: Transaction, need: Any) -> bool: ...

    def pending_text(self, tx: Transaction, need: Any) -> str: ...

    def outcome(self, tx: Transaction) -> Transaction: ...


# a waiter: its future, and what settles it; a transaction's waiters: one, or a list
_Waiter = tuple["asyncio.Future[None]", Judge, Any]
_Waiting = _Waiter | list[_Waiter]


class Waiters:
    """Per-transaction wake-ups: a change wakes the waiters it settles, not every waiter."""

    def __init__(self) -> None:
        # A transaction's waiter, or its waiters when there are several (rarely).
        self._futures: dict[str, _Waiting] = {}
        self._stalled: dict[str, ChainopsError] = {}
        self._deadlines = Deadlines(self.wake)  # one loop timer for every wait's timeout

    def wake(self, tx: Transaction) -> None:
        """Wake every waiter of ``tx`` (each looks again at why it waits)."""
        for woken, _, _ in _entries(self._futures.pop(str(tx.client_id), None)):
            if not woken.done():
                woken.set_result(None)

    def settle(self, tx: Transaction) -> None:
        """``tx`` changed: wake the waiters it now settles; the others sleep on.

        A transfer waited for at "confirmed" is not woken by its "processed" step
        (a wake, a look and a new future each, for thousands of waits in a burst).
        """
        cid = str(tx.client_id)
        waiting = self._futures.get(cid)
        if waiting is None:
            return
        still: list[_Waiter] = []
        for entry in _entries(waiting):
            woken, judge, need = entry
            if woken.done():
                continue  # its waiter was cancelled
            if judge.is_settled(tx, need):
                woken.set_result(None)
            else:
                still.append(entry)
        if not still:
            del self._futures[cid]
        else:
            self._futures[cid] = still[0] if len(still) == 1 else still

    def stall(self, tx: Transaction, error: ChainopsError) -> None:
        """Tell the transaction's waiters why it cannot progress (it stays tracked).

        Every waiter of the moment raises ``error``; with nobody waiting, the next
        wait does. Told once: a wait after that waits again.
        """
        cid = str(tx.client_id)
        told = False
        for woken, _, _ in _entries(self._futures.pop(cid, None)):
            if not woken.done():
                woken.set_exception(error)
                told = True
        if not told:
            self._stalled[cid] = error

    def forget(self, tx: Transaction) -> None:
        """Drop what is kept for ``tx`` once nothing follows it (its waiters are woken)."""
        self.wake(tx)
        self._stalled.pop(str(tx.client_id), None)

    async def until(self, tx: Transaction, judge: Judge, need: Any, timeout: float) -> Transaction:
        """Once ``judge.is_settled(tx, need)``, return ``judge.outcome(tx)``; raise a stall's
        error, or UnknownOutcome (``judge.pending_text``) on timeout."""
        cid = str(tx.client_id)
        loop = asyncio.get_running_loop()
        timer: int | None = None  # its deadline's ticket: once it ran, the wait timed out
        deadlines = self._deadlines
        try:
            while cid not in self._stalled and not judge.is_settled(tx, need):
                if timeout <= 0 or (timer is not None and not deadlines.pending(timer)):
                    raise UnknownOutcome(
                        f"{tx.client_id} ({tx.hash}) is {judge.pending_text(tx, need)} after "
                        f"{timeout}s: still pending, not failed"
                    )
                if timer is None:
                    # A deadline, not a loop timer per wait (nor asyncio.timeout and its
                    # context copy): thousands of concurrent waits each paid for one.
                    timer = deadlines.call_at(loop.time() + timeout, tx)
                woken: asyncio.Future[None] = loop.create_future()
                entry = (woken, judge, need)
                waiting = self._futures.get(cid)
                if waiting is None:
                    self._futures[cid] = entry
                elif isinstance(waiting, list):
                    waiting.append(entry)
                else:
                    self._futures[cid] = [waiting, entry]
                await woken
        finally:
            if timer is not None:
                deadlines.cancel(timer)
        stalled = self._stalled.pop(cid, None)
        if stalled is not None:
            raise stalled
        return judge.outcome(tx)


def _entries(waiting: _Waiting | None) -> Sequence[_Waiter]:
    if waiting is None:
        return ()
    return waiting if isinstance(waiting, list) else (waiting,)


class ChainTxController:
    """What ``tx.wait()``, ``tx.speed_up()`` and ``tx.cancel()`` reach: the tracking operator."""

    __slots__ = ("_operator",)

    def __init__(self, operator: ChainOperator) -> None:
        self._operator = operator

    def wait(
        self, tx: Transaction, *, confirmations: int | None = None, timeout: float | None = None
    ) -> Awaitable[Transaction]:
        """Until ``tx`` is settled at ``confirmations`` (the chain's meaning), or its error.

        Not a coroutine of its own: the wait is the operator's (one frame less for each
        of thousands of concurrent waits).
        """
        op = self._operator
        if op.closed:
            need = op.settle_need(tx, confirmations)
            if not op.is_settled(tx, need):
                # Nobody follows it any more: waiting would only use up the timeout.
                raise UnknownOutcome(
                    f"{tx.client_id} is {op.pending_text(tx, need)} and its operator is "
                    "closed: nothing follows it now; a new operator's restore() picks it up"
                )
        if not tx.is_terminal:
            op.monitor.track(tx)
        need = op.settle_need(tx, confirmations)
        limit = DEFAULT_WAIT_TIMEOUT if timeout is None else timeout
        return op.waiters.until(tx, op, need, limit)

    async def speed_up(self, tx: Transaction) -> TxAttempt:
        return await self._operator.speed_up(tx)

    async def cancel(self, tx: Transaction) -> TxAttempt:
        return await self._operator.cancel(tx)


log = logging.getLogger("chainops.operators")
_warned_not_durable = False


def _warn_not_durable(kind: str) -> None:
    """Say once per process that an operator journals in memory only."""
    global _warned_not_durable
    if _warned_not_durable:
        return
    _warned_not_durable = True
    log.warning(
        "%s without journal_path journals in memory: after a crash its sent transactions "
        "are not restored and exactly-once does not hold; give journal_path for that",
        kind,
    )


class ChainOperator(Operator):
    """The shared skeleton of a chain operator; a chain supplies its parts and hooks."""

    config: ChainConfiguration
    monitor: MonitorLoop

    def __init__(
        self,
        config: ChainConfiguration,
        prefix: str,
        journal: Journal | None = None,
        events: EventBus | None = None,
    ) -> None:
        super().__init__(config, events)
        if isinstance(self.platform, ChainPlatform):
            self.chain: ChainPlatform = self.platform
        path = config.journal_path
        if journal is None and not path:
            _warn_not_durable(type(self).__name__)
        self.journal: Journal = journal or open_journal(path if path else None)
        # A journal file this operator opened is closed with it; a journal handed in
        # (or one in memory, whose rows would vanish with it) stays open for the caller.
        self._owns_journal = journal is None and bool(path)
        self.ids = ClientIdGenerator(prefix, last_issued=self.journal.last_client_id(prefix))
        self.commits = GroupCommitter(self.journal)
        self.waiters = Waiters()
        self.controller = ChainTxController(self)
        self.restored: list[Transaction] = []  # what the last start found in the journal

    # -- lifecycle (template) ---------------------------------------------------------------

    async def _start(self) -> None:
        self.monitor.on_forget = self._forget
        try:
            await self._connect()
            self.monitor.start()
            self.restored = await self.restore()
        except BaseException:
            await self._shutdown()
            self._release()  # the caller of a failed start() may never call close()
            raise

    async def _close(self) -> None:
        """Refuse new sends (done by the caller), follow what is in flight, then release."""
        deadline = time.monotonic() + self.config.close_timeout
        while time.monotonic() < deadline:
            if not self._holds_close():
                break
            await asyncio.sleep(self.monitor.poll_interval)
        await self._shutdown()

    def _release(self) -> None:
        if self._owns_journal:
            self.journal.close()

    def _check_open(self) -> None:
        if self.closed:
            raise ConfigurationError(f"{self!r} is closed: it accepts no new sends")
        if not self.started:
            raise ConfigurationError(f"{self!r} is not started; use `async with`")

    @abstractmethod
    async def _connect(self) -> None:
        """Reach the node, check it is the configured chain, read the head."""

    @abstractmethod
    def _holds_close(self) -> bool:
        """Whether what is live is still worth holding ``close()`` for."""

    @abstractmethod
    async def _shutdown(self) -> None:
        """Stop the loop and background work; release connections."""

    # -- restore (template) -----------------------------------------------------------------

    async def restore(self) -> list[Transaction]:
        """Reconcile every non-terminal transaction of this account left in the journal.

        Each is adopted and tracked; one monitor turn looks every attempt up on the
        chain (what was mined is only recorded), then the chain resumes the rest.
        Nothing is rebuilt: unsent bytes are re-sent as they were journalled.
        """
        restored: list[Transaction] = []
        tracked = {str(tx.client_id) for tx in self.monitor.live}
        journalled = [
            op
            for op in self.journal.non_terminal(
                kind="transaction", platform=self.chain.name, owner=self.owner
            )
            if isinstance(op, Transaction) and str(op.client_id) not in tracked
        ]
        set_aside = await self._screen(journalled)
        for stored in journalled:
            if str(stored.client_id) in set_aside:
                continue  # not this chain's (see _screen): left in the journal as it is
            self.events.track(stored, announce=False)
            self.bind(stored)
            await self._adopt(stored)
            restored.append(stored)
        await self._adopted(restored)
        if not restored:
            return []
        for tx in restored:
            self.monitor.track(tx)
        await self.monitor.turn()
        await self._resume(restored)
        return restored

    async def _screen(self, journalled: list[Transaction]) -> frozenset[str]:
        """The client ids of ``journalled`` the restore must leave alone (e.g. another
        chain's); default: none."""
        return frozenset()

    async def _adopt(self, tx: Transaction) -> None:
        """Take one journalled transaction back (e.g. its nonce); default: nothing."""

    async def _adopted(self, restored: list[Transaction]) -> None:
        """After every journalled transaction is adopted (e.g. fill gaps); default: nothing."""

    async def _resume(self, restored: list[Transaction]) -> None:
        """After the first turn: act on what is still unsent; default: nothing."""

    # -- lookups ----------------------------------------------------------------------------

    async def transaction(self, client_id: str) -> Transaction | None:
        """A transaction of this operator by client id (None if it has none by that id).

        The live object while the monitor follows it; once finished, the operator
        keeps nothing of it in memory and the journal's record answers (after the
        writes still queued are committed), bound so that ``wait()`` works on it.
        """
        live = self.monitor.following(client_id)
        if live is not None:
            return live
        await self.commits.drain()
        stored = self.journal.load(client_id)
        if (
            not isinstance(stored, Transaction)
            or stored.platform != self.chain.name
            or stored.owner.lower() != self.owner.lower()
        ):
            return None  # another account's (a journal can be shared): not ours to follow
        self.bind(stored)
        return stored

    def _forget(self, tx: Transaction) -> None:
        """The monitor let go of ``tx``: drop every per-transaction entry kept for it."""
        self.waiters.forget(tx)
        self._forgotten(tx)

    def _forgotten(self, tx: Transaction) -> None:
        """A chain's own per-transaction state to drop with ``tx``; default: nothing."""

    # -- waiting ----------------------------------------------------------------------------

    def bind(self, tx: Transaction) -> None:
        """Let ``await tx.wait()``, ``tx.speed_up()``, ``tx.cancel()`` reach this operator."""
        tx.bind(self.controller)

    def wake(self, tx: Transaction) -> None:
        """``tx`` changed: wake the waiters it settles."""
        self.waiters.settle(tx)

    @abstractmethod
    def settle_need(self, tx: Transaction, confirmations: int | None) -> Any:
        """What a wait at ``confirmations`` asks of ``tx``, in the terms of :meth:`is_settled`."""

    @abstractmethod
    def is_settled(self, tx: Transaction, need: Any) -> bool:
        """Has ``tx`` reached ``need`` (from :meth:`settle_need`), or ended?"""

    @abstractmethod
    def pending_text(self, tx: Transaction, need: Any) -> str:
        """Where ``tx`` stands, for the UnknownOutcome of a wait that timed out."""

    @abstractmethod
    def outcome(self, tx: Transaction) -> Transaction:
        """``tx`` once settled, or raise its typed error."""

    @abstractmethod
    async def speed_up(self, tx: Transaction) -> TxAttempt:
        """A new attempt with higher fees (or a typed refusal where the chain has none)."""

    @abstractmethod
    async def cancel(self, tx: Transaction) -> TxAttempt:
        """Replace ``tx`` with a no-op (or a typed refusal where the chain has none)."""
