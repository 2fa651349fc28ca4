"""The EVM operator on uvloop: a burst of transfers journalled, sent and confirmed."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from chainops.core.journal import SqliteJournal
from chainops.core.transaction import TxState
from chainops.devnet.world import World
from chainops.operators.base import OperatorFactory
from chainops.operators.eventloop import run
from chainops.operators.evm import EvmOperator

pytestmark = pytest.mark.integration
pytest.importorskip("uvloop")
SETTLED = (TxState.CONFIRMED, TxState.FINALIZED)


def test_burst_on_uvloop_confirms_and_journals(devnet: World, tmp_path: Path) -> None:
    journal_path = tmp_path / "journal.sqlite"
    to = devnet.book.accounts[9].address

    async def main() -> tuple[str, list[str]]:
        evm = OperatorFactory.create(
            "devnet",
            cache=False,
            rpc_url=devnet.rpc_url,
            private_key=devnet.book.accounts[5].private_key,
            journal_path=journal_path,
        )
        assert isinstance(evm, EvmOperator)
        async with evm:
            sent = await asyncio.gather(
                *(evm.send(to=to, value=Decimal("0.001")) for _ in range(40))
            )
            done = await asyncio.gather(*(tx.wait(timeout=60) for tx in sent))
        loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
        return loop, [str(tx.client_id) for tx in done if tx.state in SETTLED]

    loop, confirmed = run(main(), loop="uvloop")
    assert loop == "uvloop"
    assert len(confirmed) == 40
    journal = SqliteJournal(str(journal_path))
    try:
        stored = [journal.load(cid) for cid in confirmed]
    finally:
        journal.close()
    assert all(op is not None and op.state in SETTLED for op in stored)
    nonces = sorted(op.nonce for op in stored)  # type: ignore[union-attr]
    assert nonces == list(range(nonces[0], nonces[0] + 40))
