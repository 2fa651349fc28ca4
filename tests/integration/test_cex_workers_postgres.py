"""Several worker processes placing orders on one exchange account through one PostgreSQL
journal: one is SIGKILLed mid-run and restarted while the others go on; no order is placed
twice and none is lost.

Every order is journalled with its client id before it is placed; a restarted worker
reconciles what its journal left open by client id. Client ids carry a random tag per
process, so they never collide across workers. Runs the simulator in its own process.
Needs PostgreSQL (``CHAINOPS_TEST_POSTGRES_URL``); skips saying so without it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from chainops.core.journal import open_journal
from chainops.core.order import Order, OrderState
from chainops.operators.exchanges import BinanceSpot

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from pg_helpers import pg_url, schema_fixture

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cex_workers_child import PAIR, price
from worker_process import WorkerProcess, start_all

pytestmark = pytest.mark.integration
CHILD = Path(__file__).with_name("cex_workers_child.py")
WORKERS = 4
PER_WORKER = 120


@pytest.fixture
def schema() -> Iterator[str]:
    yield from schema_fixture()


@pytest.fixture
def venue() -> Iterator[dict[str, Any]]:
    command = [sys.executable, "-m", "chainops.devnet.exchange", "--fund", "USDT=1000000"]
    # a load test: 480 orders on one account as fast as the workers go, far over 100 per 10 s
    command.append("--no-enforce-order-limits")
    server = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        yield json.loads(server.stdout.readline())
    finally:
        server.terminate()
        server.wait(timeout=10)


def worker(venue: dict[str, Any], journal: str, n: int) -> WorkerProcess:
    args = [json.dumps(venue), journal, str(n), str(PER_WORKER)]
    return WorkerProcess(CHILD, args, n, progress="PLACED")


async def venue_orders(venue: dict[str, Any]) -> list[Any]:
    cex = BinanceSpot.connect(
        venue["api_key"],
        venue["api_secret"],
        base_url=venue["url"],
        stream_url=venue["stream_url"],
        ws_api_url=venue["ws_api_url"],
    )
    async with cex:
        return await cex.open_orders(PAIR)


def test_orders_of_four_workers_one_killed_and_restarted(
    venue: dict[str, Any], schema: str
) -> None:
    journal = f"{pg_url()}#{schema}"
    workers = [worker(venue, journal, n) for n in range(WORKERS)]
    start_all(workers)
    victim = workers[1]
    assert victim.read_until(PER_WORKER // 3), victim.stderr()
    victim.kill()  # SIGKILL between journal writes and placements
    again = worker(venue, journal, victim.n)  # back while the others keep placing
    assert all(w.proc.poll() is None for w in workers if w is not victim)
    start_all([again])
    for w in (*(w for w in workers if w is not victim), again):
        w.finish()

    orders = asyncio.run(venue_orders(venue))
    by_price = Counter(Decimal(o.price) for o in orders)
    expected = {price(w, i) for w in range(WORKERS) for i in range(PER_WORKER)}
    assert set(by_price) == expected  # none lost
    assert all(n == 1 for n in by_price.values())  # none placed twice
    ids = [o.client_id for o in orders]
    assert len(set(ids)) == len(ids) == WORKERS * PER_WORKER
    # a random tag per process keeps ids apart across workers and across the restart
    tags = {w.ready_words[2] for w in (*workers, again)}
    assert len(tags) == WORKERS + 1 and {i[-6:] for i in ids} <= tags
    with open_journal(journal) as j:
        stored = [o for o in j.list_operations(kind="order") if isinstance(o, Order)]
        # the journal holds every order the venue holds (journalled before placing it) ...
        assert {str(o.client_id) for o in stored} >= set(ids)
        # ... and whatever else it holds never reached the venue, and says so
        never_placed = [o for o in stored if str(o.client_id) not in set(ids)]
        assert all(o.state is OrderState.FAILED for o in never_placed), never_placed
