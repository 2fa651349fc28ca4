"""The RPC transport's hot path: one JSON-RPC batch per loop turn, per-call errors, fallback.

Against the loopback server (``solana_devnet``), and against a loopback front of it
that refuses batch arrays the way some nodes do.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from aiohttp import ClientSession, web
from solders.keypair import Keypair

from chainops.core.errors import RpcPermanentError
from chainops.devnet.solana import SolanaRpcServer
from chainops.operators.solana import SolanaConfiguration, SolanaOperator, SolanaSigner, programs
from chainops.operators.solana.messages import build_message, sign_message, unsigned_bytes
from chainops.operators.solana.rpc_transport import RpcTransport

pytestmark = pytest.mark.integration


def _transfers(server: SolanaRpcServer, count: int) -> tuple[list[bytes], list[bytes]]:
    """(unsigned, signed) wire bytes of ``count`` distinct funded transfers."""
    payer = SolanaSigner.generate()
    server.chain.airdrop(str(payer.pubkey), 10**12)
    to = Keypair().pubkey()
    blockhash, _ = server.chain.latest_blockhash()
    unsigned, signed = [], []
    for i in range(count):
        ix = programs.transfer(payer.solders_pubkey, to, 1_000_000 + i)
        message = build_message(payer.solders_pubkey, [ix], blockhash)
        unsigned.append(unsigned_bytes(message))
        signed.append(sign_message(message, [payer]).raw)
    return unsigned, signed


async def test_concurrent_simulations_and_sends_share_batches(
    solana_devnet: SolanaRpcServer,
) -> None:
    unsigned, signed = _transfers(solana_devnet, 30)
    transport = RpcTransport(solana_devnet.url, batch_size=10)
    try:
        before = transport.http_requests
        sims = await asyncio.gather(*[transport.simulate(raw) for raw in unsigned])
        assert all(s.err is None and s.units_consumed for s in sims)
        assert transport.http_requests - before == 3  # 30 calls in batches of 10
        before = transport.http_requests
        await asyncio.gather(*[transport.send_raw(raw) for raw in signed])
        assert transport.http_requests - before == 3
    finally:
        await transport.close()
    assert solana_devnet.requests["sendTransaction"] == 30
    assert solana_devnet.chain.landed_count() == 31  # the airdrop and the 30 transfers


async def test_one_bad_call_fails_alone(solana_devnet: SolanaRpcServer) -> None:
    unsigned, signed = _transfers(solana_devnet, 2)
    transport = RpcTransport(solana_devnet.url)
    try:
        good, bad = await asyncio.gather(
            transport.send_raw(signed[0]),
            transport.send_raw(b"\x01garbage"),
            return_exceptions=True,
        )
        assert good is None
        assert isinstance(bad, RpcPermanentError) and "deserialize" in str(bad)
        sims = await asyncio.gather(
            transport.simulate(unsigned[1]), transport.simulate(b"\x00"), return_exceptions=True
        )
        assert not isinstance(sims[0], BaseException) and sims[0].err is None
        assert isinstance(sims[1], RpcPermanentError)
    finally:
        await transport.close()


@pytest.fixture
async def no_batch_front(solana_devnet: SolanaRpcServer) -> AsyncIterator[str]:
    """A loopback front of the server that answers every batch array with one error."""

    async def handle(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        if isinstance(body, list):
            reply = {"jsonrpc": "2.0", "error": {"code": -32600, "message": "no batches"}}
            return web.json_response(reply)
        async with ClientSession() as session, session.post(solana_devnet.url, json=body) as up:
            return web.Response(body=await up.read(), content_type="application/json")

    app = web.Application()
    app.router.add_post("/", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_a_node_without_batches_gets_single_calls(
    solana_devnet: SolanaRpcServer, no_batch_front: str, tmp_path: Path
) -> None:
    signer = SolanaSigner.generate()
    solana_devnet.chain.airdrop(str(signer.pubkey), 10**12)
    transport = RpcTransport(no_batch_front)
    config = SolanaConfiguration(
        platform="solana-local", journal_path=tmp_path / "j.sqlite", close_timeout=5
    )
    to = str(SolanaSigner.generate().pubkey)
    async with SolanaOperator(config, signer, transport) as op:
        txs = await asyncio.gather(*[op.transfer(to, Decimal("0.001")) for _ in range(5)])
        for tx in txs:
            await tx.wait(timeout=30)
        assert not transport.batching
    assert solana_devnet.chain.balance(to) == 5 * 10**6
