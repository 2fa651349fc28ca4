"""A journal reused on a node that lacks its history: nothing replayed, nothing filled.

Two forks of the devnet world are two chains with the same id and the same
accounts, as a restarted Anvil is: what one journal records as confirmed on
the first, the second has never seen. A local chain sets the journal's open
transactions aside; any other chain is refused with JournalMismatch.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import pytest

from chainops.core.errors import ConfigurationError, JournalError, JournalMismatch
from chainops.core.journal import SqliteJournal
from chainops.core.transaction import TxState
from chainops.devnet.world import World
from chainops.operators.base import OperatorFactory
from chainops.operators.evm import EvmOperator

pytestmark = pytest.mark.integration

SENDER = 6


def operator(world: World, journal: Path) -> EvmOperator:
    op = OperatorFactory.create(
        "devnet",
        cache=False,
        rpc_url=world.rpc_url,
        private_key=world.book.accounts[SENDER].private_key,
        journal_path=journal,
    )
    assert isinstance(op, EvmOperator)
    return op


async def confirm_transfers(world: World, journal: Path, count: int) -> None:
    to = world.book.accounts[8].address
    async with operator(world, journal) as evm:
        for _ in range(count):
            await (await evm.send(to=to, value=Decimal("0.01"))).wait()


async def recorded_on_another_fork(world: World, journal: Path, count: int) -> list[TxState]:
    """``count`` transfers confirmed on a fork of its own; the journal's states after."""
    with world.fork() as first:
        await confirm_transfers(first, journal, count)
    return journal_states(journal)


def journal_states(journal: Path) -> list[TxState]:
    with SqliteJournal(journal) as stored:
        return [op.state for op in stored.list_operations(kind="transaction")]


def nonce_count(world: World, tag: str) -> int:
    address = world.book.accounts[SENDER].address
    return int(world.anvil.rpc("eth_getTransactionCount", [address, tag]), 16)


async def test_a_restarted_local_chain_sets_the_old_transactions_aside(
    devnet_world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = tmp_path / "journal.sqlite"
    recorded = await recorded_on_another_fork(devnet_world, journal, 3)
    assert recorded[-1] is TxState.CONFIRMED  # the last one was not final yet: the witness
    with devnet_world.fork() as second:
        before = nonce_count(second, "pending")
        with caplog.at_level(logging.WARNING, logger="chainops.evm"):
            async with operator(second, journal) as evm:
                # nothing replayed, no gap filled: the account is as the fork left it
                assert nonce_count(second, "pending") == before
                assert evm.restored == []
                tx = await evm.send(to=second.book.accounts[8].address, value=Decimal("0.01"))
                await tx.wait()
                assert tx.nonce == before  # the node's next nonce, not the journal's
        assert nonce_count(second, "latest") == before + 1
    assert "set aside" in caplog.text and "same id (31337)" in caplog.text
    # the old chain's records are kept as they were; the new send is journalled beside them
    assert journal_states(journal)[: len(recorded)] == recorded


async def test_any_other_chain_is_refused_before_anything_is_sent(
    devnet_world: World, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.sqlite"
    recorded = await recorded_on_another_fork(devnet_world, journal, 2)
    with devnet_world.fork() as second:
        second.anvil.mine(5)  # past the witness's block: another block at its height
        before = nonce_count(second, "pending")
        evm = operator(second, journal)
        evm.recovery.local = False  # as on a public chain
        with pytest.raises(JournalMismatch, match="does not have") as caught:
            async with evm:
                pytest.fail("the operator started on a chain without the journal's history")
        assert isinstance(caught.value, ConfigurationError)
        assert isinstance(caught.value, JournalError)
        message = str(caught.value)
        assert "holds another block at that height" in message and "or far behind" in message
        assert "Nothing was sent" in message
        assert nonce_count(second, "pending") == before
    assert journal_states(journal) == recorded


async def test_the_same_chain_restarts_from_the_same_journal(
    devnet_world: World, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.sqlite"
    with devnet_world.fork() as chain:
        await confirm_transfers(chain, journal, 2)
        await confirm_transfers(chain, journal, 1)  # restarted on the chain it recorded
        assert nonce_count(chain, "latest") == nonce_count(devnet_world, "latest") + 3
