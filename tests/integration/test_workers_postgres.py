"""Several worker processes, one account, one PostgreSQL journal: every transfer mined once.

Workers lease their nonces in the shared journal, so four of them never sign at the same
nonce and the in-flight window holds across them. A worker that dies holding leases is
seen at once (its database session ends); a live worker takes its leases over and
finishes that work as ``restore()`` does, so the others keep sending while it restarts.

Needs PostgreSQL (``CHAINOPS_TEST_POSTGRES_URL``); skips saying so without it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chainops.core.journal import open_journal
from chainops.core.journal.postgres import PostgresJournal
from chainops.core.transaction import Transaction, TxState
from chainops.devnet.world import World

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from pg_helpers import pg_url, schema_fixture

sys.path.insert(0, str(Path(__file__).resolve().parent))
from worker_process import WorkerProcess, start_all, taken_over
from workers_child import value_wei

pytestmark = pytest.mark.integration
CHILD = Path(__file__).with_name("workers_child.py")
WORKERS = 4
PER_WORKER = 250
# Killed workers are seen by their ended sessions, not by expiry: a long expiry keeps a
# live worker on a loaded CI host from losing its leases to a slow heartbeat.
LEASE_EXPIRY = 5.0


@pytest.fixture
def schema() -> Iterator[str]:
    yield from schema_fixture()


def chain_txs(world: World, sender: str, first_block: int) -> list[dict[str, object]]:
    head = int(world.anvil.rpc("eth_blockNumber", []), 16)
    found = []
    for number in range(first_block, head + 1):
        block = world.anvil.rpc("eth_getBlockByNumber", [hex(number), True])
        found += [t for t in block["transactions"] if t["from"].lower() == sender.lower()]
    return found


class Run:
    """One account's chain state before the workers, and the checks after them."""

    def __init__(self, world: World, schema: str) -> None:
        self.world = world
        self.journal = f"{pg_url()}#{schema}"
        self.sender = world.book.accounts[6].address
        self.to = world.book.accounts[7].address
        self.before_to = self.balance(self.to)
        self.first_nonce = self.count("latest")
        self.first_block = int(world.anvil.rpc("eth_blockNumber", []), 16) + 1

    def balance(self, address: str) -> int:
        return int(self.world.anvil.rpc("eth_getBalance", [address, "latest"]), 16)

    def count(self, tag: str) -> int:
        return int(self.world.anvil.rpc("eth_getTransactionCount", [self.sender, tag]), 16)

    def worker(self, n: int, count: int) -> WorkerProcess:
        key = self.world.book.accounts[6].private_key
        args = [self.world.rpc_url, key, self.journal, self.to, str(n), str(count)]
        return WorkerProcess(CHILD, [*args, str(LEASE_EXPIRY)], n)

    def check(self, per_worker: int) -> None:
        """Every transfer mined exactly once, nonces contiguous, balances exact."""
        assert self.count("pending") == self.count("latest")  # nothing left waiting
        mined = chain_txs(self.world, self.sender, self.first_block)
        nonces = sorted(int(str(t["nonce"]), 16) for t in mined)
        assert nonces == list(range(self.first_nonce, self.first_nonce + len(nonces)))
        assert self.count("latest") == self.first_nonce + len(nonces)
        to = self.to.lower()
        transfers = [int(str(t["value"]), 16) for t in mined if str(t["to"]).lower() == to]
        expected = [value_wei(w, i) for w in range(WORKERS) for i in range(per_worker)]
        assert sorted(transfers) == sorted(expected)
        # whatever else went out is a 0-value gap fill to the sender itself
        others = [t for t in mined if str(t["to"]).lower() != to]
        assert all(int(str(t["value"]), 16) == 0 for t in others)
        assert all(str(t["to"]).lower() == self.sender.lower() for t in others)
        assert self.balance(self.to) == self.before_to + sum(expected)
        with open_journal(self.journal) as j:
            journalled = j.list_operations(kind="transaction")
            assert all(isinstance(t, Transaction) for t in journalled)
            # followed to CONFIRMED (finality is not tracked on this devnet), or signed by a
            # worker that died before confirming its lease: never sent, given back
            done = [t for t in journalled if t.state in (TxState.CONFIRMED, TxState.FINALIZED)]
            given_back = [
                t for t in journalled if t.state not in (TxState.CONFIRMED, TxState.FINALIZED)
            ]
            assert {str(t.hash) for t in done} == {str(t["hash"]) for t in mined}
            for t in given_back:
                assert t.state is TxState.REJECTED and t.error is not None, t
                assert t.error.kind == "LeaseLost", t.error


def test_four_workers_share_one_account(devnet_fresh: World, schema: str) -> None:
    run = Run(devnet_fresh, schema)
    workers = [run.worker(n, PER_WORKER) for n in range(WORKERS)]
    start_all(workers)
    for w in workers:
        w.finish()
    run.check(PER_WORKER)


def test_two_workers_killed_mid_run_restart_while_the_others_send(
    devnet_fresh: World, schema: str
) -> None:
    run = Run(devnet_fresh, schema)
    workers = [run.worker(n, PER_WORKER) for n in range(WORKERS)]
    start_all(workers)
    victims, survivors = (workers[1], workers[2]), (workers[0], workers[3])
    for victim in victims:
        assert victim.read_until(PER_WORKER // 3), victim.stderr()
        victim.kill()  # SIGKILL with leases, journalled and maybe unsent transfers
    # the survivors go on; each victim comes back while they send
    for survivor in survivors:
        assert survivor.read_until(survivor.count + 20), survivor.stderr()
        assert survivor.proc.poll() is None, "a survivor finished before the restarts"
    restarted = [run.worker(v.n, PER_WORKER) for v in victims]
    start_all(restarted)
    for w in (*survivors, *restarted):
        w.finish()
    deadline = time.monotonic() + 30
    while run.count("pending") != run.count("latest"):
        assert time.monotonic() < deadline, "transactions left in the pool"
        time.sleep(0.2)
    run.check(PER_WORKER)
    # the victims' leases were taken over (by a survivor, or by a victim restarting)
    assert taken_over((*survivors, *restarted)) > 0
    with open_journal(run.journal) as j:
        assert isinstance(j, PostgresJournal)
        # every lease ended with its transaction
        assert j._exec("SELECT count(*) FROM nonce_leases")[0][0] == 0
