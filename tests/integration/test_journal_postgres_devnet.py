"""A PostgreSQL journal lost mid-run: the send that cannot be journalled never leaves.

Needs PostgreSQL (``CHAINOPS_TEST_POSTGRES_URL``); skips saying so without it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

import chainops.operators.evm  # noqa: F401  (registers the EVM operator)
from chainops.core.errors import JournalUnavailable
from chainops.core.transaction import TxState
from chainops.devnet.world import World
from chainops.operators.base import OperatorFactory
from chainops.operators.evm import EvmOperator

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from pg_helpers import NetworkCut, pg_url, schema_fixture

pytestmark = pytest.mark.integration


@pytest.fixture
def schema() -> Iterator[str]:
    yield from schema_fixture()


def count(world: World, address: str) -> int:
    return int(world.anvil.rpc("eth_getTransactionCount", [address, "pending"]), 16)


async def test_sends_stop_while_the_database_is_gone_and_resume_after(
    devnet: World, schema: str
) -> None:
    from chainops.core.journal.postgres import PostgresJournal

    sender = devnet.book.accounts[8]
    to = devnet.book.accounts[9].address
    relay = NetworkCut()
    evm = OperatorFactory.create(
        "devnet",
        cache=False,
        rpc_url=devnet.rpc_url,
        private_key=sender.private_key,
        journal_path=f"{relay.url}#{schema}",
    )
    assert isinstance(evm, EvmOperator) and isinstance(evm.journal, PostgresJournal)
    async with evm:
        first = await evm.send(to=to, value=Decimal("0.01"))
        await first.wait(timeout=30)
        sent = count(devnet, sender.address)
        relay.cut()  # the database is unreachable: open connection and new ones
        for _ in range(2):  # however often it is tried
            with pytest.raises(JournalUnavailable):
                await evm.send(to=to, value=Decimal("0.02"))
        assert count(devnet, sender.address) == sent  # nothing unjournalled left
        relay.heal()  # the next send reconnects and goes out
        again = await evm.send(to=to, value=Decimal("0.03"))
        await again.wait(timeout=30)
        assert again.state in (TxState.CONFIRMED, TxState.FINALIZED, TxState.INCLUDED)
        assert count(devnet, sender.address) == sent + 1
    relay.close()
    with PostgresJournal(pg_url(), schema=schema) as journal:
        stored = journal.load(str(again.client_id))
        assert stored is not None and stored.attempts[0].nonce == sent  # type: ignore[attr-defined]
