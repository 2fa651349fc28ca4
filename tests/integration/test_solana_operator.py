"""SolanaOperator must-shows, each on both transports: in-process LiteSVM and solana-py RPC.

Balances are read from the cluster itself (``LocalChain``), not through the operator,
so a wrong operator figure cannot prove itself right.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from chainops.core.assets import Fee, native_asset
from chainops.core.attempt import AttemptKind
from chainops.core.errors import ConfigurationError
from chainops.core.journal import SqliteJournal
from chainops.core.transaction import Transaction, TxState
from chainops.devnet.solana import LiteSvmTransport, LocalChain, SolanaRpcServer
from chainops.devnet.solana.localchain import MAX_PROCESSING_AGE
from chainops.operators.solana import (
    SolanaConfiguration,
    SolanaOperator,
    SolanaSigner,
    TransactionExpired,
    TransactionFailed,
)
from chainops.operators.solana.rpc_transport import RpcTransport
from chainops.operators.solana.transport import SolanaTransport

pytestmark = pytest.mark.integration
SOL = native_asset("solana-local")
LAMPORTS = 10**9
FUNDING = 1_000 * LAMPORTS


@dataclass
class Cluster:
    kind: str
    chain: LocalChain
    url: str | None

    def transport(self) -> SolanaTransport:
        if self.url is None:
            return LiteSvmTransport(self.chain)
        return RpcTransport(self.url)

    def operator(self, signer: SolanaSigner, journal: Path, **settings: Any) -> SolanaOperator:
        config = SolanaConfiguration(
            platform="solana-local", journal_path=journal, close_timeout=5, **settings
        )
        return SolanaOperator(config, signer, self.transport())

    def funded(self, lamports: int = FUNDING) -> SolanaSigner:
        signer = SolanaSigner.generate()
        self.chain.airdrop(str(signer.pubkey), lamports)
        return signer


@pytest.fixture(params=["litesvm", "rpc"])
def cluster(request: pytest.FixtureRequest) -> Cluster:
    if request.param == "litesvm":
        return Cluster("litesvm", LocalChain(slot_time=0.05), None)
    server: SolanaRpcServer = request.getfixturevalue("solana_devnet")
    return Cluster("rpc", server.chain, server.url)


@pytest.fixture
async def operator(cluster: Cluster, tmp_path: Path) -> AsyncIterator[SolanaOperator]:
    async with cluster.operator(cluster.funded(), tmp_path / "journal.sqlite") as op:
        yield op


def lamports(chain: LocalChain, who: object) -> int:
    return chain.balance(str(who))


def fee_lamports(tx: Transaction) -> int:
    assert tx.fee is not None and tx.fee.asset == SOL
    return SOL.to_raw(tx.fee.amount)


async def new_mint(op: SolanaOperator, decimals: int, *, token_2022: bool, supply: str) -> str:
    mint, created = await op.create_mint(decimals, token_2022=token_2022)
    await created.wait()
    await (await op.mint_to(mint, op.owner, Decimal(supply))).wait()
    return mint


async def test_sol_transfer_confirmed_then_finalized_with_balances_proven(
    cluster: Cluster, operator: SolanaOperator
) -> None:
    to = SolanaSigner.generate().pubkey
    payer_before = lamports(cluster.chain, operator.owner)
    tx = await operator.transfer(str(to), Decimal("1.5"))
    assert tx.state in (TxState.BROADCAST, TxState.INCLUDED, TxState.CONFIRMED)
    await tx.wait()
    assert tx.state is TxState.CONFIRMED
    assert tx.receipt is not None and tx.receipt.succeeded
    landed = cluster.chain.transaction(str(tx.hash))
    assert landed is not None and landed.err is None
    # The fee we record is the fee the cluster charged, in SOL.
    assert tx.fee == Fee.from_raw(SOL, landed.fee)
    assert lamports(cluster.chain, to) == 1_500_000_000
    assert lamports(cluster.chain, operator.owner) == payer_before - 1_500_000_000 - landed.fee
    assert await operator.balance(str(to)) == Decimal("1.5")
    cluster.chain.advance(40)
    await tx.wait(confirmations=32, timeout=10)  # 32 deep: finalized
    assert tx.state is TxState.FINALIZED


@pytest.mark.parametrize("token_2022", [False, True], ids=["spl-token", "token-2022"])
async def test_spl_transfer_confirmed_with_balances_proven(
    cluster: Cluster, operator: SolanaOperator, token_2022: bool
) -> None:
    mint = await new_mint(operator, 6, token_2022=token_2022, supply="1000")
    info = await operator.mint_info(mint)
    assert info.decimals == 6 and info.is_token_2022 is token_2022
    wallet = SolanaSigner.generate().pubkey
    ata = operator.token_account(info, str(wallet))
    assert cluster.chain.account(ata) is None  # created by the transfer itself
    first = await operator.token_transfer(mint, str(wallet), Decimal("12.5"))
    await first.wait()
    second = await operator.token_transfer(mint, str(wallet), Decimal("0.000001"))
    await second.wait()  # the account exists now: creation is idempotent
    assert first.state is TxState.CONFIRMED and second.state is TxState.CONFIRMED
    mine = operator.token_account(info)
    transport = cluster.transport()
    try:
        assert await transport.token_balance(ata) == 12_500_001
        assert await transport.token_balance(mine) == 1_000_000_000 - 12_500_001
    finally:
        await transport.close()
    assert await operator.token_balance(mint, str(wallet)) == Decimal("12.500001")
    account = cluster.chain.account(ata)
    assert account is not None and str(account.owner) == str(info.program)


async def test_dropped_transaction_is_resent_with_the_same_signature(
    cluster: Cluster, operator: SolanaOperator
) -> None:
    to = SolanaSigner.generate().pubkey
    cluster.chain.drop_next(1)
    tx = await operator.transfer(str(to), Decimal("0.25"))
    await tx.wait(timeout=10)
    assert tx.state is TxState.CONFIRMED
    assert len(tx.attempts) == 1  # the same bytes, never re-signed
    signature = str(tx.hash)
    assert cluster.chain.received[signature] >= 2  # lost once, then re-sent
    assert cluster.chain.outcomes["dropped"] == 1
    assert lamports(cluster.chain, to) == 250_000_000  # landed exactly once


async def test_expired_blockhash_ends_expired_in_bounded_time(
    cluster: Cluster, operator: SolanaOperator
) -> None:
    to = SolanaSigner.generate().pubkey
    cluster.chain.drop_next(10**9)  # the cluster loses everything: it can never land
    try:
        tx = await operator.transfer(str(to), Decimal("0.25"))
        await asyncio.sleep(0.3)  # a few re-sends of the same bytes, all lost
        cluster.chain.advance(MAX_PROCESSING_AGE + 2)
        async with asyncio.timeout(10):
            with pytest.raises(TransactionExpired):
                await tx.wait()
    finally:
        cluster.chain.clear_drops()
    assert tx.state is TxState.EXPIRED
    assert len(tx.attempts) == 1
    assert cluster.chain.received[str(tx.hash)] >= 2
    assert lamports(cluster.chain, to) == 0
    # It stays dead: the same bytes sent now are refused as too old.
    transport = cluster.transport()
    try:
        await transport.send_raw(tx.attempts[0].raw)
        assert await transport.signature_statuses([str(tx.hash)]) == [None]
    finally:
        await transport.close()


async def test_expired_blockhash_is_resigned_only_when_allowed(
    cluster: Cluster, tmp_path: Path
) -> None:
    to = SolanaSigner.generate().pubkey
    async with cluster.operator(cluster.funded(), tmp_path / "j.sqlite", resign_expired=True) as op:
        cluster.chain.drop_next(10**9)
        tx = await op.transfer(str(to), Decimal("0.5"))
        await asyncio.sleep(0.2)
        cluster.chain.advance(MAX_PROCESSING_AGE + 2)  # the first attempt is provably dead
        cluster.chain.clear_drops()
        await tx.wait(timeout=10)
    assert tx.state is TxState.CONFIRMED
    assert [a.kind for a in tx.attempts] == [AttemptKind.ORIGINAL, AttemptKind.RESIGN]
    assert tx.winner is tx.attempts[1]
    assert cluster.chain.transaction(str(tx.attempts[0].hash)) is None
    assert lamports(cluster.chain, to) == 500_000_000  # once


async def test_failed_transaction_is_reverted_with_logs_never_confirmed(
    cluster: Cluster, operator: SolanaOperator
) -> None:
    mint = await new_mint(operator, 6, token_2022=False, supply="10")
    wallet = SolanaSigner.generate().pubkey
    payer_before = lamports(cluster.chain, operator.owner)
    # Skipping the simulation lets a doomed transfer reach the cluster.
    tx = await operator.token_transfer(mint, str(wallet), Decimal("11"), simulate=False)
    with pytest.raises(TransactionFailed) as failure:
        await tx.wait(timeout=10)
    assert tx.state is TxState.REVERTED
    assert tx.receipt is not None and tx.receipt.status == 0
    assert "insufficient funds" in (tx.receipt.revert_reason or "")
    assert any("insufficient funds" in line.lower() for line in failure.value.logs)
    assert tx.error is not None and "Program log" in tx.error.message  # logs journalled
    landed = cluster.chain.transaction(str(tx.hash))
    assert landed is not None and landed.err is not None
    assert tx.fee == Fee.from_raw(SOL, landed.fee)  # a failed transaction still pays
    assert lamports(cluster.chain, operator.owner) == payer_before - landed.fee
    assert await operator.token_balance(mint) == Decimal("10")
    assert TxState.CONFIRMED.name not in [h.state for h in tx.history]


async def test_200_concurrent_transfers_all_confirmed_exactly_once(
    cluster: Cluster, operator: SolanaOperator
) -> None:
    to = SolanaSigner.generate().pubkey
    payer_before = lamports(cluster.chain, operator.owner)
    landed_before = cluster.chain.landed_count()
    # Identical transfers: only the memo (the client id) tells them apart on chain.
    txs = await asyncio.gather(*[operator.transfer(str(to), Decimal("0.01")) for _ in range(200)])
    await asyncio.gather(*[tx.wait(timeout=30) for tx in txs])
    assert all(tx.state is TxState.CONFIRMED for tx in txs)
    signatures = {str(tx.hash) for tx in txs}
    assert len(signatures) == 200
    assert cluster.chain.landed_count() - landed_before == 200
    assert all(cluster.chain.transaction(s) is not None for s in signatures)
    fees = sum(fee_lamports(tx) for tx in txs)
    assert lamports(cluster.chain, to) == 200 * 10_000_000
    assert lamports(cluster.chain, operator.owner) == payer_before - 200 * 10_000_000 - fees


class Crash(BaseException):
    """Stands for the process dying: nothing after it runs."""


async def test_crash_after_journal_before_send_restore_completes_once(
    cluster: Cluster, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.sqlite"
    signer = cluster.funded()
    to = SolanaSigner.generate().pubkey
    doomed = cluster.operator(signer, journal)
    await doomed.start()

    async def die(raw: bytes) -> None:
        task = doomed.monitor._task
        assert task is not None
        task.cancel()  # the whole process goes: its monitor too
        raise Crash

    doomed.transport.send_raw = die  # type: ignore[method-assign]
    with pytest.raises(Crash):
        await doomed.transfer(str(to), Decimal("0.75"))
    await asyncio.sleep(0.2)
    stored = SqliteJournal(journal).non_terminal()
    assert len(stored) == 1 and isinstance(stored[0], Transaction)
    signature = str(stored[0].hash)
    assert stored[0].state is TxState.SIGNED
    assert cluster.chain.received[signature] == 0  # the cluster never heard of it

    async with cluster.operator(signer, journal) as revived:
        assert [t.client_id for t in revived.restored] == [stored[0].client_id]
        done = await revived.restored[0].wait(timeout=10)
    assert done.state is TxState.CONFIRMED
    assert len(done.attempts) == 1 and str(done.hash) == signature  # same bytes
    assert lamports(cluster.chain, to) == 750_000_000  # exactly once
    final = SqliteJournal(journal).load(str(stored[0].client_id))
    assert isinstance(final, Transaction) and final.state in (TxState.CONFIRMED, TxState.FINALIZED)
    # A dead process's sockets go with it; this one lives on: close what it still holds.
    if doomed.subscriber is not None:
        await doomed.subscriber.close()
    await doomed.transport.close()


async def test_connect_is_a_started_operator_closed_on_exit(cluster: Cluster) -> None:
    wallet = cluster.funded()
    if cluster.url is not None:
        opened = SolanaOperator.connect(cluster.url, wallet=wallet, close_timeout=5)
    else:
        transport = cluster.transport()
        opened = SolanaOperator.connect("solana-local", wallet=wallet, transport=transport)
    recipient = SolanaSigner.generate().pubkey
    async with opened as sol:
        assert type(sol) is SolanaOperator and sol.started and sol.owner == str(wallet.pubkey)
        tx = await sol.transfer(recipient, Decimal("0.5"))
        assert await tx.wait() is tx and tx.state in (TxState.CONFIRMED, TxState.FINALIZED)
    assert sol.closed
    assert lamports(cluster.chain, recipient) == LAMPORTS // 2
    if cluster.url is not None:  # over RPC its HTTP clients are closed: a typed refusal
        with pytest.raises(ConfigurationError, match="closed"):
            await sol.balance()
        with pytest.raises(ConfigurationError, match="closed"):
            await sol.send_instructions([])


async def test_connect_refuses_a_name_without_a_url_or_transport() -> None:
    with pytest.raises(ConfigurationError, match="needs an RPC URL or a transport"):
        async with SolanaOperator.connect("solana-local", wallet=SolanaSigner.generate()):
            raise AssertionError("unreachable")
