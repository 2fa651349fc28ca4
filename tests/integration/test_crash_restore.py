"""Exactly once across crashes: SIGKILL mid-send, then restore() finishes the job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chainops.core.journal import SqliteJournal
from chainops.core.transaction import Transaction, TxState
from chainops.devnet.world import World
from chainops.operators.base import OperatorFactory
from chainops.operators.evm import EvmOperator

pytestmark = pytest.mark.integration
CHILD = Path(__file__).with_name("crash_child.py")


def run_child(world: World, journal: Path, to: str, mode: str) -> subprocess.CompletedProcess[str]:
    key = world.book.accounts[4].private_key
    return subprocess.run(
        [sys.executable, str(CHILD), world.rpc_url, key, str(journal), to, mode],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )


def balance(world: World, address: str) -> int:
    return int(world.anvil.rpc("eth_getBalance", [address, "latest"]), 16)


def count(world: World, address: str) -> int:
    return int(world.anvil.rpc("eth_getTransactionCount", [address, "latest"]), 16)


@pytest.mark.parametrize("mode", ["before-broadcast", "after-broadcast"])
async def test_killed_mid_send_restores_exactly_once(
    devnet: World, tmp_path: Path, mode: str
) -> None:
    journal = tmp_path / "journal.sqlite"
    sender = devnet.book.accounts[4].address
    to = devnet.book.accounts[5].address
    before_to, before_nonce = balance(devnet, to), count(devnet, sender)
    if mode == "after-broadcast":
        devnet.anvil.set_mining("manual")  # so no receipt exists when the process dies
    try:
        child = run_child(devnet, journal, to, mode)
        assert child.returncode == -signal.SIGKILL, child.stderr
        stored = SqliteJournal(journal).non_terminal()
        assert len(stored) == 1 and isinstance(stored[0], Transaction)
        # The broadcast mark is written lazily: after a crash the journal may say SIGNED.
        assert stored[0].state in (TxState.SIGNED, TxState.BROADCAST)
        raw = stored[0].attempts[0].raw
        pooled = devnet.anvil.rpc("eth_getTransactionByHash", [str(stored[0].attempts[0].hash)])
        if mode == "before-broadcast":
            assert pooled is None  # the node never heard of it
        else:
            assert "SENT" in child.stdout
            assert pooled is not None and pooled["blockNumber"] is None  # pending in the pool
            devnet.anvil.set_mining("auto")
            devnet.anvil.mine()  # the pooled transaction is mined while we are down
        evm = OperatorFactory.create(
            "devnet",
            cache=False,
            rpc_url=devnet.rpc_url,
            private_key=devnet.book.accounts[4].private_key,
            journal_path=journal,
        )
        assert isinstance(evm, EvmOperator)
        async with evm:
            assert [t.client_id for t in evm.restored] == [stored[0].client_id]
            await evm.restored[0].wait(timeout=10)
        final = SqliteJournal(journal).load(stored[0].client_id)
        assert isinstance(final, Transaction)
        assert final.state in (TxState.CONFIRMED, TxState.FINALIZED)
        assert final.attempts[0].raw == raw and len(final.attempts) == 1  # never re-signed
        assert count(devnet, sender) == before_nonce + 1  # sent exactly once
        assert balance(devnet, to) == before_to + 25 * 10**16
    finally:
        devnet.anvil.set_mining("auto")
