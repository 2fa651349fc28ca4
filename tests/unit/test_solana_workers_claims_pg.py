"""Claims on operations in the PostgreSQL journal (Solana workers sharing an account).

Each ``PostgresJournal`` is its own database session, as each worker process is; a
holder "dies" by closing its journal (its session ends) or by missing its expiry.

Needs a server: ``CHAINOPS_TEST_POSTGRES_URL`` (default postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from pg_helpers import schema_fixture, until

from chainops.core.journal.leases import LeaseState, TakenClaim

psycopg = pytest.importorskip("psycopg", reason="pip install -e '.[postgres]'")

from pg_sessions import Session, opener, sessions  # noqa: E402

from chainops.core.journal.leases_pg import PostgresLeases  # noqa: E402

SCOPE = "solana-local:Acc1111111111111111111111111111111111111111"
OTHER = "solana-local:Acc2222222222222222222222222222222222222222"


@pytest.fixture
def schema() -> Iterator[str]:
    yield from schema_fixture()


class Worker(Session):
    @property
    def claims(self) -> PostgresLeases:
        return self.store


@pytest.fixture
def workers(schema: str) -> Iterator[list[Worker]]:
    yield from sessions()


spawn = opener(Worker)


def test_a_claim_is_one_holders_until_released(workers: list[Worker], schema: str) -> None:
    a, b = spawn(workers, schema), spawn(workers, schema)
    assert a.claims.claim(SCOPE, ["s1", "s2"], LeaseState.RESERVED) == {"s1", "s2"}
    assert b.claims.claim(SCOPE, ["s2", "s3"], LeaseState.SENT) == {"s3"}
    assert a.claims.claim(SCOPE, ["s1"], LeaseState.RESERVED) == {"s1"}  # ours already
    assert a.claims.claim(SCOPE, ["s1"], LeaseState.SENT) == set()  # only a confirm sends
    assert b.claims.confirm_claims(["s1", "s3"]) == {"s3"}  # s1 is a's
    assert a.claims.confirm_claims(["s1"]) == {"s1"}
    b.claims.release(["s1"])  # not b's: nothing happens
    assert b.claims.claim(SCOPE, ["s1"], LeaseState.SENT) == set()
    a.claims.release(["s1", "s2"])
    assert b.claims.claim(SCOPE, ["s1"], LeaseState.SENT) == {"s1"}
    assert not a.claims.has_dead_claims(SCOPE)


def test_a_holder_whose_session_ended_loses_its_claims_in_their_state(
    workers: list[Worker], schema: str
) -> None:
    dead, live = spawn(workers, schema), spawn(workers, schema)
    dead.claims.claim(SCOPE, ["r1", "s1"], LeaseState.RESERVED)
    dead.claims.confirm_claims(["s1"])
    dead.claims.claim(OTHER, ["o1"], LeaseState.SENT)
    dead.close()
    assert until(lambda: live.claims.has_dead_claims(SCOPE))
    taken = live.claims.take_over_claims(SCOPE)
    assert taken == [
        TakenClaim("r1", LeaseState.RESERVED, dead.claims.holder),
        TakenClaim("s1", LeaseState.SENT, dead.claims.holder),
    ]
    assert not live.claims.has_dead_claims(SCOPE)
    assert live.claims.has_dead_claims(OTHER)  # another account's: left to its workers
    assert live.claims.confirm_claims(["r1", "s1"]) == {"r1", "s1"}


def test_a_holder_past_its_expiry_loses_its_claims_and_cannot_confirm(
    workers: list[Worker], schema: str
) -> None:
    # long enough that a loaded host checks "alive" well inside it
    silent, live = spawn(workers, schema, expiry=2.0), spawn(workers, schema)
    silent.claims.claim(SCOPE, ["r1"], LeaseState.RESERVED)
    assert not live.claims.has_dead_claims(SCOPE)
    assert live.claims.take_over_claims(SCOPE) == []  # alive: nothing to take
    time.sleep(2.2)
    assert live.claims.has_dead_claims(SCOPE)
    assert [t.client_id for t in live.claims.take_over_claims(SCOPE)] == ["r1"]
    assert silent.claims.confirm_claims(["r1"]) == set()  # back from its pause: not its own


def test_a_retired_holders_claims_are_taken_at_once(workers: list[Worker], schema: str) -> None:
    done, live = spawn(workers, schema), spawn(workers, schema)
    done.claims.claim(SCOPE, ["s1"], LeaseState.SENT)
    done.claims.retire()
    assert [t.client_id for t in live.claims.take_over_claims(SCOPE)] == ["s1"]


def test_two_takers_racing_for_a_dead_holders_claims_split_nothing(
    workers: list[Worker], schema: str
) -> None:
    dead = spawn(workers, schema)
    ids = [f"s{i:03}" for i in range(200)]
    dead.claims.claim(SCOPE, ids, LeaseState.SENT)
    dead.close()
    takers = [spawn(workers, schema) for _ in range(4)]
    assert until(lambda: takers[0].claims.has_dead_claims(SCOPE))
    results: list[list[TakenClaim]] = [[] for _ in takers]
    start = threading.Barrier(len(takers))

    def take(n: int) -> None:
        start.wait()
        results[n] = takers[n].claims.take_over_claims(SCOPE)

    threads = [threading.Thread(target=take, args=(n,)) for n in range(len(takers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [r for r in results if r]
    assert len(won) == 1 and [t.client_id for t in won[0]] == ids
