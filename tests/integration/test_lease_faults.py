"""Shared nonce leases under faults: no database, a lost session, an expired lease, a race.

Several operators on one account and one PostgreSQL schema stand for worker processes:
each has its own database session. Needs PostgreSQL (``CHAINOPS_TEST_POSTGRES_URL``);
skips saying so without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import chainops.operators.evm  # noqa: F401  (registers the EVM operator)
from chainops.core.errors import ChainopsError, JournalUnavailable, LeaseLost
from chainops.core.transaction import Transaction, TxState
from chainops.devnet.world import World
from chainops.operators.base import OperatorFactory
from chainops.operators.evm import EvmOperator
from chainops.operators.evm.nonce_leases import LeasedNonceAllocator
from chainops.operators.evm.requests import build_request

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from pg_helpers import NetworkCut, pg_url, schema_fixture

pytestmark = pytest.mark.integration
MINED = (TxState.INCLUDED, TxState.CONFIRMED, TxState.FINALIZED)


@pytest.fixture
def schema() -> Iterator[str]:
    yield from schema_fixture()


def operator(world: World, journal: str, **settings: Any) -> EvmOperator:
    evm = OperatorFactory.create(
        "devnet",
        cache=False,
        rpc_url=world.rpc_url,
        private_key=world.book.accounts[5].private_key,
        journal_path=journal,
        track_finality=False,
        **settings,
    )
    assert isinstance(evm, EvmOperator) and isinstance(evm.nonces, LeasedNonceAllocator)
    return evm


@contextlib.asynccontextmanager
async def started(evm: EvmOperator) -> AsyncIterator[EvmOperator]:
    async with evm:
        yield evm


def chain_count(world: World, tag: str = "latest") -> int:
    address = world.book.accounts[5].address
    return int(world.anvil.rpc("eth_getTransactionCount", [address, tag]), 16)


def on_chain(world: World, tx: Transaction) -> bool:
    return any(
        world.anvil.rpc("eth_getTransactionByHash", [str(a.hash)]) is not None for a in tx.attempts
    )


async def signed_not_sent(evm: EvmOperator, to: str, value: str) -> Transaction:
    """A transfer reserved, signed and journalled: the state just before broadcast."""
    req = build_request(None, to=to, value=Decimal(value))
    fees = await evm.fees.estimate(req.priority, head=evm.monitor.head)
    return await evm.pipeline.prepare(req, evm.native.to_raw(req.value), 21_000, fees)


async def until_mined(world: World, deadline: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while chain_count(world, "pending") != chain_count(world):
        assert loop.time() < end, "transactions left in the pool"
        await asyncio.sleep(0.1)


def test_database_unreachable_at_start_is_a_clear_error_and_nothing_is_sent(
    devnet: World,
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    before = chain_count(devnet, "pending")
    with pytest.raises(JournalUnavailable, match="cannot connect"):
        OperatorFactory.create(
            "devnet",
            cache=False,
            rpc_url=devnet.rpc_url,
            private_key=devnet.book.accounts[5].private_key,
            journal_path=f"postgresql://postgres@127.0.0.1:{port}/test",
        )
    assert chain_count(devnet, "pending") == before


async def test_sessions_terminated_mid_run_lose_nothing_and_double_nothing(
    devnet: World, schema: str
) -> None:
    import psycopg

    journal = f"{pg_url()}#{schema}"
    to = devnet.book.accounts[9].address
    first = chain_count(devnet)
    async with started(operator(devnet, journal)) as evm:
        sent: list[Transaction] = []
        refused: list[int] = []

        async def one(i: int) -> None:
            try:
                sent.append(await evm.send(to=to, value=Decimal(i + 1) / 10**6))
            except JournalUnavailable:
                refused.append(i)

        for batch in range(6):
            if batch in (2, 4):  # the server ends every session of the worker
                with psycopg.connect(pg_url(), autocommit=True) as admin:
                    ended = admin.execute(
                        f"SELECT pg_terminate_backend(backend_pid) FROM {schema}.lease_holders"
                    ).fetchall()
                    assert ended == [(True,)]
            await asyncio.gather(*(one(batch * 5 + k) for k in range(5)))
        assert len(sent) + len(refused) == 30 and len(sent) >= 20  # the sends resumed
        for tx in sent:
            await tx.wait(timeout=30)
    await until_mined(devnet)
    # nothing refused reached the chain; every nonce used once, no gap
    values = {int(tx.value) for tx in sent}
    assert all((i + 1) * 10**12 not in values for i in refused)
    assert chain_count(devnet) == first + len(sent)
    assert sorted(tx.nonce for tx in sent if tx.nonce is not None) == list(
        range(first, first + len(sent))
    )


async def test_a_broadcast_waits_for_its_lease_while_the_database_is_gone(
    devnet: World, schema: str
) -> None:
    relay = NetworkCut()
    to = devnet.book.accounts[9].address
    first = chain_count(devnet)
    try:
        async with started(operator(devnet, f"{relay.url}#{schema}")) as evm:
            assert isinstance(evm.nonces, LeasedNonceAllocator)
            tx = await signed_not_sent(evm, to, "0.001")
            relay.cut()
            launch = asyncio.ensure_future(evm.pipeline.launch(tx))
            await asyncio.sleep(0.6)
            # the lease cannot be confirmed: nothing leaves while the database is gone
            assert not launch.done() and not on_chain(devnet, tx)
            relay.heal()
            await launch  # and it goes out once the database answers
            await tx.wait(timeout=30)
            assert tx.state in MINED
            # an outage longer than the confirm timeout: the send fails, typed, unsent
            evm.nonces.confirm_timeout = 0.3
            late = await signed_not_sent(evm, to, "0.002")
            relay.cut()
            with pytest.raises(JournalUnavailable):
                await evm.pipeline.launch(late)
            assert late.state is TxState.REJECTED and not on_chain(devnet, late)
            relay.heal()
            again = await evm.send(to=to, value=Decimal("0.003"))  # reuses the nonce
            await again.wait(timeout=30)
            assert again.nonce == late.nonce == first + 1
        await until_mined(devnet)
        assert chain_count(devnet) == first + 2
    finally:
        relay.close()


async def test_a_lease_expired_while_its_worker_runs_is_noticed_before_broadcast(
    devnet: World, schema: str
) -> None:
    journal = f"{pg_url()}#{schema}"
    to = devnet.book.accounts[9].address
    first = chain_count(devnet)
    paused = operator(devnet, journal, lease_expiry=1.0)
    other = operator(devnet, journal)
    async with started(paused), started(other):
        await paused.nonces.stop(retire=False)  # its heartbeat stops, as in a long pause
        tx = await signed_not_sent(paused, to, "0.001")
        assert tx.nonce == first and tx.state is TxState.SIGNED
        await asyncio.sleep(1.3)
        taken = await other.nonces.sweep()  # the other worker takes the lease over
        assert [t.nonce for t in taken] == [first]
        with pytest.raises(LeaseLost, match="send again"):
            await paused.pipeline.launch(tx)  # back from its pause: it must not broadcast
        assert tx.state is TxState.REJECTED and not on_chain(devnet, tx)
        await until_mined(devnet)
        assert chain_count(devnet) == first + 1  # the nonce was filled, not left as a gap
        # the worker that lost its lease sends again, on a fresh nonce
        again = await paused.send(to=to, value=Decimal("0.001"))
        await again.wait(timeout=30)
        assert again.nonce == first + 1 and again.state in MINED
    with open_shared(journal) as j:
        stored = j.load(str(tx.client_id), Transaction)
        assert stored is not None and stored.state is TxState.REJECTED
        assert stored.error is not None and stored.error.kind == "LeaseLost"


async def test_two_workers_racing_for_a_dead_workers_nonce_exactly_one_wins(
    devnet: World, schema: str
) -> None:
    journal = f"{pg_url()}#{schema}"
    to = devnet.book.accounts[9].address
    first = chain_count(devnet)
    dead = operator(devnet, journal)
    a, b = operator(devnet, journal), operator(devnet, journal)
    async with started(a), started(b):
        await dead.start()
        orphan = await signed_not_sent(dead, to, "0.002")  # then the worker dies
        await dead.nonces.stop(retire=False)
        await dead.monitor.stop()
        dead.journal.close()  # its session ends with it
        # The server ends the session a moment after the client closes it, and a live
        # worker's own keeper may sweep meanwhile: race once the death can be seen.
        early = await dead_worker_seen(a, b)
        results = await asyncio.gather(a.nonces.sweep(), b.nonces.sweep())
        assert early + sum(len(r) for r in results) == 1  # exactly one of them took it
        assert a.nonces.taken_over + b.nonces.taken_over == 1
        await until_mined(devnet)
        assert chain_count(devnet) == first + 1 and not on_chain(devnet, orphan)
        assert a.metrics.gap_fills + b.metrics.gap_fills == 1  # one 0-value fill went out
        after = await a.send(to=to, value=Decimal("0.001"))
        await after.wait(timeout=30)
        assert after.nonce == first + 1
    with contextlib.suppress(ChainopsError):
        await dead.close()


async def dead_worker_seen(*workers: EvmOperator, deadline: float = 10.0) -> int:
    """Wait until the workers' journal sees a dead holder on the account (or one of them
    took its leases over already); returns how many leases they took meanwhile."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    nonces = workers[0].nonces
    assert isinstance(nonces, LeasedNonceAllocator)
    while True:
        taken = sum(w.nonces.taken_over for w in workers)  # type: ignore[attr-defined]
        if taken or nonces.leases.has_dead(nonces.chain_id, str(nonces.address)):
            return taken
        assert loop.time() < end, "the dead worker's session never ended"
        await asyncio.sleep(0.02)


def open_shared(journal: str) -> Any:
    from chainops.core.journal import open_journal

    return open_journal(journal)
