"""Several Solana worker processes, one account, one PostgreSQL journal: each transfer once.

Four workers send from one account through one journal; two are SIGKILLed mid-run and
restarted while the others send. Sends in flight are claims in the journal: a killed
worker's are taken over by a live one (its session ended) and finished as ``restore()``
finishes them, and a restarted worker restores only what no live worker claims. The
cluster is the local LiteSVM one behind its RPC server, reached by every worker.

Needs PostgreSQL (``CHAINOPS_TEST_POSTGRES_URL``); skips saying so without it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from solders.keypair import Keypair

from chainops.core.journal import open_journal
from chainops.core.journal.postgres import PostgresJournal
from chainops.core.transaction import Transaction, TxState
from chainops.devnet.solana import SolanaRpcServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from pg_helpers import pg_url, schema_fixture

sys.path.insert(0, str(Path(__file__).resolve().parent))
from solana_workers_child import BATCH, lamports
from worker_process import WorkerProcess, start_all, taken_over

pytestmark = pytest.mark.integration
CHILD = Path(__file__).with_name("solana_workers_child.py")
WORKERS = 4
# Fewer than the EVM test's 250 per worker: the whole run stays well under a minute.
PER_WORKER = 60
# Killed workers are seen by their ended sessions, not by expiry: a long expiry keeps a
# live worker on a loaded host from losing its claims to a slow heartbeat.
LEASE_EXPIRY = 5.0
FINAL_NOT_LANDED = (TxState.REJECTED, TxState.EXPIRED)


@pytest.fixture
def schema() -> Iterator[str]:
    yield from schema_fixture()


class Run:
    """One funded account on the cluster, and the checks once the workers are done."""

    def __init__(self, server: SolanaRpcServer, schema: str) -> None:
        self.server = server
        self.chain = server.chain
        self.journal = f"{pg_url()}#{schema}"
        keypair = Keypair()
        self.secret = str(keypair)
        self.sender = str(keypair.pubkey())
        self.to = str(Keypair().pubkey())
        self.chain.airdrop(self.sender, 100 * 10**9)
        self.chain.airdrop(self.to, 10**9)  # rent-exempt from the start
        self.before_sender = self.chain.balance(self.sender)
        self.before_to = self.chain.balance(self.to)

    def worker(self, n: int) -> WorkerProcess:
        args = [self.server.url, self.secret, self.journal, self.to, str(n), str(PER_WORKER)]
        return WorkerProcess(CHILD, [*args, str(LEASE_EXPIRY)], n)

    def check(self) -> None:
        """Each transfer landed exactly once; what else was journalled is final and
        never landed; the balances are the landed transfers and their fees, exactly."""
        paid = [t for t in self.chain.signatures_for(self.sender) if t.keys[0] == self.sender]
        assert all(t.err is None for t in paid)
        values = []
        for t in paid:
            at = t.keys.index(self.to)
            values.append(t.post_balances[at] - t.pre_balances[at])
        expected = [lamports(w, i) for w in range(WORKERS) for i in range(PER_WORKER)]
        assert sorted(values) == sorted(expected)  # every transfer once, nothing else
        fees = sum(t.fee for t in paid)
        assert self.chain.balance(self.to) == self.before_to + sum(expected)
        assert self.chain.balance(self.sender) == self.before_sender - sum(expected) - fees
        landed = {t.signature for t in paid}
        with open_journal(self.journal) as j:
            assert isinstance(j, PostgresJournal)
            journalled = j.list_operations(kind="transaction")
            assert all(isinstance(t, Transaction) for t in journalled)
            done = set()
            for tx in journalled:
                assert isinstance(tx, Transaction)
                signatures = {str(a.hash) for a in tx.attempts}
                if tx.state in (TxState.CONFIRMED, TxState.FINALIZED):
                    assert len(signatures & landed) == 1, tx
                    done |= signatures & landed
                else:  # known to the journal as never landed, and why
                    assert tx.state in FINAL_NOT_LANDED and tx.error is not None, tx
                    assert not signatures & landed, tx
            assert done == landed
            # client ids: one random tag per worker process, never shared
            tags = {str(tx.client_id)[-6:] for tx in journalled}
            assert len(tags) >= WORKERS
            # every claim ended with its send; one kept is a killed worker's, taken over
            # before its send was journalled (kept: the send could still be written)
            kept = j._exec(
                "SELECT count(*) FROM operation_claims c"
                " WHERE EXISTS (SELECT 1 FROM operations o WHERE o.client_id = c.client_id)"
            )
            assert kept[0][0] == 0


def test_four_solana_workers_two_killed_and_restarted(
    solana_devnet: SolanaRpcServer, schema: str
) -> None:
    run = Run(solana_devnet, schema)
    workers = [run.worker(n) for n in range(WORKERS)]
    start_all(workers)
    victims, survivors = (workers[1], workers[2]), (workers[0], workers[3])
    for victim in victims:
        # mid-batch: the rest of its batch is being sent, or sent and not landed yet
        assert victim.read_until(PER_WORKER // 3 + BATCH // 2), victim.stderr()
        victim.kill()  # SIGKILL with claims: journalled, maybe unsent, maybe landed
    # the survivors go on; each victim comes back while they send
    for survivor in survivors:
        assert survivor.read_until(survivor.count + 10), survivor.stderr()
        assert survivor.proc.poll() is None, "a survivor finished before the restarts"
    restarted = [run.worker(v.n) for v in victims]
    start_all(restarted)
    for w in (*survivors, *restarted):
        w.finish()
    run.check()
    # the victims' sends were taken over (by a survivor, or by a victim restarting)
    assert taken_over((*survivors, *restarted)) > 0
