"""Finished transactions leave the operator's memory; the journal answers for them.

Weak references prove nothing of a finished transaction is still held by the
operator (monitor, waiters, sender, fee cache), and ``operator.transaction(id)``
then reads it back from the journal, bound so that ``wait()`` still works.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from decimal import Decimal
from pathlib import Path

from chainops.core.transaction import Transaction, TxState
from chainops.devnet.solana import LiteSvmTransport, LocalChain
from chainops.operators.solana import SolanaConfiguration, SolanaOperator, SolanaSigner


def _operator(tmp_path: Path, chain: LocalChain) -> SolanaOperator:
    signer = SolanaSigner.generate()
    chain.airdrop(str(signer.pubkey), 10**12)
    config = SolanaConfiguration(
        platform="solana-local",
        journal_path=tmp_path / "j.sqlite",
        track_finality=False,
        close_timeout=0,
    )
    return SolanaOperator(config, signer, LiteSvmTransport(chain))


async def _send_and_settle(op: SolanaOperator, count: int) -> list[tuple[str, str]]:
    """``count`` confirmed transfers; returns their (client id, signature), no objects."""
    to = str(SolanaSigner.generate().pubkey)
    txs = [await op.transfer(to, Decimal("0.001")) for _ in range(count)]
    for tx in txs:
        await tx.wait(timeout=30)
    return [(str(tx.client_id), str(tx.hash)) for tx in txs]


async def test_confirmed_transfers_are_held_by_nothing_in_the_operator(tmp_path: Path) -> None:
    chain = LocalChain(slot_time=0.01)
    async with _operator(tmp_path, chain) as op:
        to = str(SolanaSigner.generate().pubkey)
        txs = [await op.transfer(to, Decimal("0.001")) for _ in range(20)]
        for tx in txs:
            await tx.wait(timeout=30)
        refs = [weakref.ref(tx) for tx in txs]
        signatures = [str(tx.hash) for tx in txs]
        del tx, txs
        await op.commits.drain()
        for _ in range(100):  # a monitor turn under way still holds its list: let it end
            await asyncio.sleep(0.01)
            gc.collect()
            if all(r() is None for r in refs):
                break
        assert [r for r in refs if r() is not None] == []
        assert op.monitor.live == []
        assert not any(op.monitor.has_signature(s) for s in signatures)


async def test_a_finished_transaction_is_read_back_from_the_journal(tmp_path: Path) -> None:
    chain = LocalChain(slot_time=0.01)
    async with _operator(tmp_path, chain) as op:
        [(cid, signature)] = await _send_and_settle(op, 1)
        assert op.monitor.following(cid) is None
        stored = await op.transaction(cid)
        assert isinstance(stored, Transaction)
        assert stored.state is TxState.CONFIRMED and str(stored.hash) == signature
        assert (await stored.wait(timeout=5)) is stored  # bound: wait() answers at once
        assert await op.transaction("sol0nosuchid") is None


async def test_a_live_transaction_is_the_object_the_monitor_follows(tmp_path: Path) -> None:
    chain = LocalChain(slot_time=None)  # nothing lands a status until the test says so
    async with _operator(tmp_path, chain) as op:
        tx = await op.transfer(str(SolanaSigner.generate().pubkey), Decimal("0.001"))
        assert await op.transaction(str(tx.client_id)) is tx
        chain.advance(1)
        await tx.wait(timeout=10)


async def test_another_accounts_transaction_is_not_this_operators(tmp_path: Path) -> None:
    chain = LocalChain(slot_time=0.01)
    async with _operator(tmp_path, chain) as first:
        [(cid, _)] = await _send_and_settle(first, 1)
        assert isinstance(await first.transaction(cid), Transaction)
    async with _operator(tmp_path, chain) as second:  # same journal, another key
        assert await second.transaction(cid) is None
