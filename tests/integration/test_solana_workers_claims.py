"""Claims on Solana sends shared through PostgreSQL: a live worker's, a dead worker's.

Several operators on one account and one PostgreSQL schema stand for worker processes:
each has its own database session. The cluster is the local LiteSVM one behind its RPC
server; ``drop_next`` loses sends so a transfer stays in flight as long as a test needs.
Needs PostgreSQL (``CHAINOPS_TEST_POSTGRES_URL``); skips saying so without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from chainops.core.errors import ChainopsError, LeaseLost
from chainops.core.journal import open_journal
from chainops.core.journal.postgres import PostgresJournal
from chainops.core.transaction import Transaction, TxState
from chainops.devnet.solana import SolanaRpcServer
from chainops.devnet.solana.clock import MAX_PROCESSING_AGE
from chainops.operators.solana import SolanaOperator
from chainops.operators.solana.configuration import SolanaConfiguration
from chainops.operators.solana.errors import TransactionExpired
from chainops.operators.solana.keys import SolanaSigner
from chainops.operators.solana.rpc_transport import RpcTransport

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from pg_helpers import pg_url, schema_fixture

pytestmark = pytest.mark.integration
LANDED = (TxState.CONFIRMED, TxState.FINALIZED)
FOREVER = 10**9  # sends lost until clear_drops()


@pytest.fixture
def schema() -> Iterator[str]:
    yield from schema_fixture()


class Account:
    """One funded account; its workers each open the shared journal (their own session)."""

    def __init__(self, server: SolanaRpcServer, schema: str) -> None:
        self.server = server
        self.chain = server.chain
        self.journal = f"{pg_url()}#{schema}"
        self.signer = SolanaSigner.generate()
        self.to = str(SolanaSigner.generate().pubkey)
        self.chain.airdrop(str(self.signer.pubkey), 10 * 10**9)

    def worker(self, **settings: Any) -> SolanaOperator:
        config = SolanaConfiguration(
            platform="solana-local",
            journal_path=self.journal,
            close_timeout=0,
            track_finality=False,
            subscribe=False,
            **settings,
        )
        sol = SolanaOperator(config, self.signer, RpcTransport(self.server.url))
        assert sol.claims is not None
        return sol

    def landed(self, tx: Transaction) -> bool:
        return any(self.chain.status(str(a.hash)) is not None for a in tx.attempts)

    def claims(self) -> dict[str, str]:
        with open_journal(self.journal) as j:
            assert isinstance(j, PostgresJournal)
            return {
                str(c): str(h) for c, h in j._exec("SELECT client_id, holder FROM operation_claims")
            }

    def stored(self, client_id: str) -> Transaction:
        with open_journal(self.journal) as j:
            tx = j.load(client_id, Transaction)
        assert tx is not None
        return tx


async def die(sol: SolanaOperator) -> None:
    """The worker stops as a SIGKILL stops it: nothing more from it, its session ends."""
    assert sol.claims is not None
    await sol.claims.stop(retire=False)
    await sol.monitor.stop()
    await sol.commits.drain()
    sol.journal.close()
    await sol.transport.close()


async def until(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not check():
        assert loop.time() < end, what
        await asyncio.sleep(0.05)


async def test_restore_leaves_the_sends_of_a_live_worker_alone(
    solana_devnet: SolanaRpcServer, schema: str
) -> None:
    account = Account(solana_devnet, schema)
    live = account.worker()
    async with live:
        account.chain.drop_next(FOREVER)
        tx = await live.transfer(account.to, Decimal("0.01"))
        cid = str(tx.client_id)
        assert live.claims is not None and account.claims() == {cid: live.claims.holder}
        async with account.worker() as restarted:  # its restore() sees the send open
            assert restarted.restored == []
            assert restarted.monitor.following(cid) is None
            assert restarted.claims is not None and restarted.claims.taken_over == 0
            assert account.claims() == {cid: live.claims.holder}
            account.chain.clear_drops()
            await tx.wait(timeout=10)  # the live worker finishes its own send
        assert tx.state in LANDED
    assert account.claims() == {}
    assert account.stored(cid).state in LANDED


async def test_a_killed_workers_send_is_taken_over_when_its_session_ends(
    solana_devnet: SolanaRpcServer, schema: str
) -> None:
    account = Account(solana_devnet, schema)
    dead, live = account.worker(), account.worker()
    async with live:
        await dead.start()
        account.chain.drop_next(FOREVER)
        tx = await dead.transfer(account.to, Decimal("0.01"))
        cid = str(tx.client_id)
        await die(dead)
        assert not account.landed(tx)
        assert live.claims is not None
        claims = live.claims

        def taken() -> bool:
            return claims.taken_over == 1

        await until(taken, "the send was not taken over")  # by its keeper, or:
        await claims.sweep()
        assert account.claims() == {cid: claims.holder}
        account.chain.clear_drops()
        followed = await live.transaction(cid)
        assert followed is not None and followed is not tx
        await followed.wait(timeout=10)
        # finished with the journalled bytes: the same signature, nothing re-signed
        assert followed.state in LANDED and [a.hash for a in followed.attempts] == [tx.hash]
    assert account.claims() == {}
    assert account.chain.balance(account.to) == 10**7


async def test_restore_finishes_a_dead_workers_send_whose_blockhash_expired(
    solana_devnet: SolanaRpcServer, schema: str
) -> None:
    account = Account(solana_devnet, schema)
    dead = account.worker()
    await dead.start()
    account.chain.drop_next(FOREVER)
    tx = await dead.transfer(account.to, Decimal("0.01"))
    await die(dead)
    account.chain.advance(MAX_PROCESSING_AGE + 10)  # its blockhash can no longer land
    account.chain.clear_drops()
    async with account.worker() as restarted:
        assert [str(t.client_id) for t in restarted.restored] == [str(tx.client_id)]
        assert restarted.claims is not None and restarted.claims.taken_over == 1
        with pytest.raises(TransactionExpired):
            await restarted.restored[0].wait(timeout=10)
    stored = account.stored(str(tx.client_id))
    assert stored.state is TxState.EXPIRED and not account.landed(stored)
    assert account.claims() == {}


async def test_a_silent_workers_claims_are_taken_over_once_its_heartbeat_expires(
    solana_devnet: SolanaRpcServer, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = Account(solana_devnet, schema)
    paused, live = account.worker(lease_expiry=1.0), account.worker()
    async with live:
        await paused.start()
        assert paused.claims is not None and live.claims is not None
        account.chain.drop_next(FOREVER)
        sent = await paused.transfer(account.to, Decimal("0.01"))
        # its heartbeat and monitor stop, as in a long pause; its session stays open
        await paused.claims.stop(retire=False)
        await paused.monitor.stop()
        # the next send is claimed and journalled, then the pause holds it before broadcast
        reached, gate = asyncio.Event(), asyncio.Event()
        confirm = paused.claims.confirm

        async def held(tx: Transaction) -> None:
            reached.set()
            await gate.wait()
            await confirm(tx)

        monkeypatch.setattr(paused.claims, "confirm", held)
        second = asyncio.ensure_future(paused.transfer(account.to, Decimal("0.02")))
        await reached.wait()
        await asyncio.sleep(1.3)  # longer than its expiry
        await live.claims.sweep()
        assert live.claims.taken_over == 2
        followed_only = {str(sent.client_id): live.claims.holder}  # the unsent one ended
        await until(lambda: account.claims() == followed_only, "the unsent claim stayed")
        gate.set()
        with pytest.raises(LeaseLost, match="send again"):
            await second  # back from its pause: it must not broadcast
        unsent = [
            t
            for t in paused.journal.non_terminal(kind="transaction")
            if str(t.client_id) != str(sent.client_id)
        ]
        assert unsent == []  # REJECTED, by the worker that took it over and by its own
        account.chain.clear_drops()
        followed = await live.transaction(str(sent.client_id))
        assert followed is not None
        await followed.wait(timeout=10)
        assert followed.state in LANDED
    with open_journal(account.journal) as j:
        rejected = [
            t
            for t in j.list_operations(kind="transaction")
            if isinstance(t, Transaction) and t.state is TxState.REJECTED
        ]
    assert len(rejected) == 1 and rejected[0].error is not None
    assert rejected[0].error.kind == "LeaseLost"
    assert account.chain.received[str(rejected[0].hash)] == 0  # never left its worker
    assert account.chain.balance(account.to) == 10**7  # the first only
    with contextlib.suppress(ChainopsError):
        await paused.close()


async def test_a_send_journalled_after_its_claim_was_taken_over_is_never_sent(
    solana_devnet: SolanaRpcServer, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = Account(solana_devnet, schema)
    paused, live = account.worker(lease_expiry=1.0), account.worker(lease_expiry=2.0)
    async with live:
        await paused.start()
        assert paused.claims is not None and live.claims is not None
        await paused.claims.stop(retire=False)  # a long pause, its session open
        await paused.monitor.stop()
        # claimed, then the pause comes before the journal write, then between it and
        # the confirmation
        written, gate = asyncio.Event(), asyncio.Event()
        save = paused.commits.save

        async def held(tx: Transaction) -> None:
            await asyncio.sleep(1.3)  # longer than its expiry
            await live_claims.sweep()  # the claim is taken over: nothing journalled yet
            await save(tx)
            written.set()
            await gate.wait()

        live_claims = live.claims
        monkeypatch.setattr(paused.commits, "save", held)
        send = asyncio.ensure_future(paused.transfer(account.to, Decimal("0.01")))
        await written.wait()
        assert live.claims.taken_over == 1
        (cid,) = account.claims()
        assert account.claims() == {cid: live.claims.holder}  # kept, though nothing was there
        async with account.worker() as restarted:  # the open send is not its to restore
            assert restarted.restored == []
        gate.set()
        with pytest.raises(LeaseLost, match="send again"):
            await send
        stored = account.stored(cid)
        assert stored.state is TxState.REJECTED
        assert account.chain.received[str(stored.hash)] == 0
        # the keeper of the worker holding the claim ends it once the send is final
        await until(lambda: account.claims() == {}, "the kept claim never ended")
    with contextlib.suppress(ChainopsError):
        await paused.close()


async def test_an_embedded_journal_needs_no_claims(
    solana_devnet: SolanaRpcServer, tmp_path: Path
) -> None:
    config = SolanaConfiguration(platform="solana-local", journal_path=tmp_path / "j.sqlite")
    sol = SolanaOperator(config, SolanaSigner.generate(), RpcTransport(solana_devnet.url))
    assert sol.claims is None and sol.sender.claims is None
    sol.journal.close()
