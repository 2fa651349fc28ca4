"""Malformed JSON-RPC to the local cluster: a typed JSON-RPC error, never a server fault.

Bad params answer ``-32602`` (not ``-32603``, which means the server broke), the
test switches refuse counts they cannot honour, and a bad subscription request
leaves its websocket open for the next call.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from solders.keypair import Keypair

from chainops.devnet.solana import LocalChain, SolanaRpcServer
from chainops.devnet.solana.clock import FINALITY_DEPTH
from chainops.operators.solana import programs

SYSTEM = str(programs.SYSTEM_PROGRAM_ID)
U64_MAX = 2**64 - 1


@pytest.fixture
async def served() -> AsyncIterator[tuple[SolanaRpcServer, aiohttp.ClientSession]]:
    server = await SolanaRpcServer(slot_time=None).start()
    try:
        async with aiohttp.ClientSession() as session:
            yield server, session
    finally:
        await server.stop()


async def post(server: SolanaRpcServer, session: aiohttp.ClientSession, body: Any) -> Any:
    async with session.post(server.url, json=body) as reply:
        assert reply.status == 200
        return await reply.json()


async def call(
    server: SolanaRpcServer, session: aiohttp.ClientSession, method: str, params: list[Any]
) -> Any:
    return await post(
        server, session, {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    )


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("getAccountInfo", [SYSTEM, {"encoding": []}]),
        ("getAccountInfo", [SYSTEM, {"encoding": {"a": 1}}]),
        ("getMultipleAccounts", [[SYSTEM], {"encoding": ["base64"]}]),
        ("getProgramAccounts", [SYSTEM, {"encoding": []}]),
        ("getTokenAccountsByOwner", [SYSTEM, {"programId": SYSTEM}, {"encoding": {}}]),
        ("getProgramAccounts", [SYSTEM, {"filters": [{"memcmp": "x"}]}]),
        ("getProgramAccounts", [SYSTEM, {"filters": [{"memcmp": {"offset": "x", "bytes": "1"}}]}]),
        ("getProgramAccounts", [SYSTEM, {"filters": [{"memcmp": {"offset": -1, "bytes": "1"}}]}]),
        ("getProgramAccounts", [SYSTEM, {"filters": [{"dataSize": "x"}]}]),
        ("getTransaction", [SYSTEM * 2, {"encoding": []}]),
        ("getTransaction", [SYSTEM * 2, {"encoding": "hex"}]),
        ("getMinimumBalanceForRentExemption", [2**70]),
        ("getMinimumBalanceForRentExemption", [True]),
        ("requestAirdrop", [SYSTEM, 2**70]),
        ("requestAirdrop", [SYSTEM, True]),
        ("chainops_advanceBlocks", [-1]),
        ("chainops_advanceBlocks", ["x"]),
        ("chainops_dropNext", [-3]),
        ("chainops_dropNext", ["x"]),
    ],
)
async def test_bad_params_are_invalid_params(
    served: tuple[SolanaRpcServer, aiohttp.ClientSession], method: str, params: list[Any]
) -> None:
    server, session = served
    reply = await call(server, session, method, params)
    assert reply["error"]["code"] == -32602, reply


async def test_a_bad_encoding_is_refused_for_a_landed_transaction_too(
    served: tuple[SolanaRpcServer, aiohttp.ClientSession],
) -> None:
    server, session = served
    signature = server.chain.airdrop(str(Keypair().pubkey()), 10**9)
    server.chain.advance(FINALITY_DEPTH + 1)
    for encoding in ([], "hex"):
        reply = await call(server, session, "getTransaction", [signature, {"encoding": encoding}])
        assert reply["error"]["code"] == -32602, reply


def test_advance_refuses_more_blocks_than_it_can_produce_at_once() -> None:
    # In a thread of its own: a server that tried would spin there, not in the test's loop.
    with SolanaRpcServer(slot_time=None) as server:

        async def ask() -> Any:
            timeout = aiohttp.ClientTimeout(total=5)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                return await call(server, session, "chainops_advanceBlocks", [2**70])

        reply = asyncio.run(ask())
        assert reply["error"]["code"] == -32602
        assert server.chain.advance(0) == 1  # nothing was produced


async def test_a_negative_drop_count_cannot_cancel_earlier_drops(
    served: tuple[SolanaRpcServer, aiohttp.ClientSession],
) -> None:
    server, session = served
    assert (await call(server, session, "chainops_dropNext", []))["result"] == 1
    with pytest.raises(ValueError, match="count"):
        LocalChain(slot_time=None).drop_next(-1)


async def test_a_bad_subscription_leaves_the_socket_open(
    served: tuple[SolanaRpcServer, aiohttp.ClientSession],
) -> None:
    server, session = served
    async with session.ws_connect(server.ws_url) as ws:
        requests: list[tuple[str, list[Any]]] = [
            ("accountSubscribe", [SYSTEM, {"encoding": []}]),
            ("programSubscribe", [SYSTEM, {"filters": [{"memcmp": "x"}]}]),
            ("programSubscribe", [SYSTEM, {"filters": [{"dataSize": -1}]}]),
            ("programSubscribe", [SYSTEM, {"filters": "x"}]),
        ]
        for ident, (method, params) in enumerate(requests, 1):
            body = {"jsonrpc": "2.0", "id": ident, "method": method, "params": params}
            await ws.send_str(json.dumps(body))
            reply = json.loads(await asyncio.wait_for(ws.receive_str(), 5))
            assert reply["id"] == ident and reply["error"]["code"] == -32602, reply
        body = {"jsonrpc": "2.0", "id": 9, "method": "slotSubscribe", "params": []}
        await ws.send_str(json.dumps(body))
        reply = json.loads(await asyncio.wait_for(ws.receive_str(), 5))
        assert reply["id"] == 9 and isinstance(reply["result"], int)
