"""The operator confirms by signature subscription where the cluster offers PubSub.

The poll interval is set far beyond the wait's timeout, so a transfer can only be
seen CONFIRMED in time if a notification woke the monitor; without a websocket the
same operator falls back to polling.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from chainops.core.transaction import TxState
from chainops.devnet.solana import SolanaRpcServer
from chainops.operators.solana import SolanaConfiguration, SolanaOperator, SolanaSigner
from chainops.operators.solana.pubsub import default_ws_url
from chainops.operators.solana.rpc_transport import RpcTransport

pytestmark = pytest.mark.integration
SLOW_POLL = 60.0  # seconds: longer than any wait below


def operator(server: SolanaRpcServer, tmp_path: Path, **settings: object) -> SolanaOperator:
    signer = SolanaSigner.generate()
    server.chain.airdrop(str(signer.pubkey), 10 * 10**9)
    config = SolanaConfiguration(
        platform="solana-local",
        journal_path=tmp_path / "j.sqlite",
        close_timeout=0,
        **settings,  # type: ignore[arg-type]
    )
    return SolanaOperator(config, signer, RpcTransport(server.url))


def test_the_pubsub_url_is_the_rpc_port_plus_one() -> None:
    assert default_ws_url("http://127.0.0.1:8899") == "ws://127.0.0.1:8900"
    assert default_ws_url("https://api.example.org/rpc") == "wss://api.example.org/rpc"


async def test_confirmed_by_notification_not_by_poll(
    solana_devnet: SolanaRpcServer, tmp_path: Path
) -> None:
    async with operator(solana_devnet, tmp_path, poll_interval=SLOW_POLL) as op:
        assert op.subscriber is not None and op.subscriber.url == solana_devnet.ws_url
        tx = await op.transfer(str(SolanaSigner.generate().pubkey), Decimal("0.5"))
        await tx.wait(timeout=10)
        assert tx.state is TxState.CONFIRMED
        assert op.subscriber.notifications >= 1


async def test_without_a_websocket_polling_confirms(
    solana_devnet: SolanaRpcServer, tmp_path: Path
) -> None:
    nowhere = "ws://127.0.0.1:9"  # the discard port: nothing speaks PubSub there
    async with operator(solana_devnet, tmp_path, ws_url=nowhere, poll_interval=0.05) as op:
        assert op.subscriber is None
        tx = await op.transfer(str(SolanaSigner.generate().pubkey), Decimal("0.5"))
        await tx.wait(timeout=10)
        assert tx.state is TxState.CONFIRMED
