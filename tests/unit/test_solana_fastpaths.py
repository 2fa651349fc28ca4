"""The Solana hot path's shortcuts say exactly what the slow paths say.

Native base58 parsing of keys and signatures agrees with the pure decoder (and
errors stay ours); the event bus builds no events while nobody listens, yet a
later subscriber hears what follows; the monitor looks only at what can change: a confirmed
transaction waiting for finality is parked until the height says it may be final.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from core_factories import make_tx
from hypothesis import given
from hypothesis import strategies as st

from chainops.core.bus import EventBus
from chainops.core.errors import InvalidIdentifier, Rejected, RpcTransientError, ValidationError
from chainops.core.events import Event
from chainops.core.ids import SolanaPubkey, SolanaSignature, b58decode, b58encode
from chainops.core.transaction import TxState, TxUpdate
from chainops.devnet.solana import LiteSvmTransport, LocalChain
from chainops.devnet.solana.localchain import FINALITY_DEPTH
from chainops.operators.solana import (
    SolanaConfiguration,
    SolanaOperator,
    SolanaSigner,
)
from chainops.operators.solana.fees import FeeOracle, PriorityFeePolicy
from chainops.operators.solana.transport import SignatureStatus

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


@given(st.binary(min_size=32, max_size=32), st.binary(min_size=64, max_size=64))
def test_native_decoding_round_trips(key: bytes, signature: bytes) -> None:
    assert SolanaPubkey(b58encode(key)).to_bytes() == key
    assert SolanaSignature(b58encode(signature)).to_bytes() == signature
    assert SolanaPubkey(key) == b58encode(key)


@given(st.text(alphabet=_B58 + "0OIl +/", max_size=90))
def test_native_and_pure_decoders_accept_the_same_strings(text: str) -> None:
    try:
        size: int | None = len(b58decode(text)) if text else None
    except InvalidIdentifier:
        size = None
    for kind, want in ((SolanaPubkey, 32), (SolanaSignature, 64)):
        if size == want:
            assert kind(text).to_bytes() == b58decode(text)
        else:
            with pytest.raises(InvalidIdentifier):
                kind(text)


class CountingTransport(LiteSvmTransport):
    """The in-process transport, counting the signatures asked about."""

    def __init__(self, chain: LocalChain) -> None:
        super().__init__(chain)
        self.asked: list[str] = []

    async def signature_statuses(self, signatures: Sequence[str]) -> list[SignatureStatus | None]:
        self.asked.extend(signatures)
        return await super().signature_statuses(signatures)


async def test_confirmed_transactions_are_parked_until_they_may_be_final(tmp_path: Path) -> None:
    chain = LocalChain(slot_time=None)  # blocks only when the test says so
    signer = SolanaSigner.generate()
    chain.airdrop(str(signer.pubkey), 10**12)
    transport = CountingTransport(chain)
    config = SolanaConfiguration(
        platform="solana-local", journal_path=tmp_path / "j.sqlite", close_timeout=0
    )
    async with SolanaOperator(config, signer, transport) as op:
        to = str(SolanaSigner.generate().pubkey)
        txs = [await op.transfer(to, Decimal("0.001")) for _ in range(3)]
        chain.advance(1)
        for tx in txs:
            await tx.wait(confirmations=1, timeout=10)
        signatures = {str(tx.hash) for tx in txs}
        before = len(transport.asked)
        for _ in range(5):
            await op.monitor.turn()
        assert not signatures & set(transport.asked[before:])  # parked: never asked
        chain.advance(FINALITY_DEPTH)
        for tx in txs:
            await tx.wait(confirmations=32, timeout=10)
            assert tx.state is TxState.FINALIZED
        assert not op.monitor.live
    assert chain.balance(to) == 3 * 10**6


async def test_identical_transfers_without_memo_are_refused(tmp_path: Path) -> None:
    chain = LocalChain(slot_time=None)
    signer = SolanaSigner.generate()
    chain.airdrop(str(signer.pubkey), 10**12)
    config = SolanaConfiguration(
        platform="solana-local", journal_path=tmp_path / "j.sqlite", memo=False, close_timeout=0
    )
    async with SolanaOperator(config, signer, LiteSvmTransport(chain)) as op:
        to = str(SolanaSigner.generate().pubkey)
        await op.transfer(to, Decimal("0.001"))
        with pytest.raises(ValidationError, match="identical transaction"):
            await op.transfer(to, Decimal("0.001"))
        chain.advance(1)


async def test_concurrent_sends_share_one_fee_market_fetch() -> None:
    calls: list[list[str]] = []

    async def fetch(accounts: Sequence[str]) -> list[int]:
        calls.append(list(accounts))
        await asyncio.sleep(0)
        return [10, 20, 30, 40]

    oracle = FeeOracle(fetch, PriorityFeePolicy(percentile=50))
    assert oracle.cached_price(["a"]) is None
    prices = await asyncio.gather(*[oracle.price(["a", "b"]) for _ in range(50)])
    assert prices == [20] * 50 and calls == [["a", "b"]]
    assert oracle.cached_price(["b", "a"]) == 20  # cached per account set, in any order
    assert oracle.cached_price(["a"], override=7) == 7
    with pytest.raises(ValidationError):
        oracle.cached_price(["a"], override=-1)


def test_a_tracked_operation_builds_no_events_until_someone_listens() -> None:
    bus = EventBus()
    tx = make_tx("quiet")
    bus.track(tx)
    tx.apply(TxUpdate(state=TxState.REJECTED, error=Rejected("no")))  # nobody listens: no-op
    seen: list[Event] = []
    later = make_tx("heard")
    bus.track(later)
    with bus.subscribe(Event, seen.append):
        later.apply(TxUpdate(state=TxState.REJECTED, error=Rejected("no")))
    assert [type(e).__name__ for e in seen] == ["TxRejected"]
    assert seen[0].client_id == "heard"


async def test_a_failed_fee_fetch_reaches_every_waiter_and_the_next_call_retries() -> None:
    calls = 0

    async def fetch(accounts: Sequence[str]) -> list[int]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        if calls == 1:
            raise RpcTransientError("market unavailable")
        return [5]

    oracle = FeeOracle(fetch, PriorityFeePolicy())
    outcomes = await asyncio.gather(
        *[oracle.price(["a"]) for _ in range(3)], return_exceptions=True
    )
    assert all(isinstance(o, RpcTransientError) for o in outcomes) and calls == 1
    assert await oracle.price(["a"]) == 5 and calls == 2
