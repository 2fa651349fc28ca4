"""The PubSub websocket's protocol: ids, notifications, one-shot signatures, unsubscribes.

A loopback server in this event loop with a held clock; a raw aiohttp websocket
client speaks the JSON-RPC frames, so the wire format itself is what is checked.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message
from solders.transaction import VersionedTransaction

from chainops.devnet.solana import SolanaRpcServer
from chainops.operators.solana import programs

SOL = 10**9


class Client:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = 0

    async def call(self, method: str, params: list[Any]) -> Any:
        self.ids += 1
        await self.ws.send_str(
            json.dumps({"jsonrpc": "2.0", "id": self.ids, "method": method, "params": params})
        )
        reply = json.loads(await asyncio.wait_for(self.ws.receive_str(), 5))
        assert reply["id"] == self.ids
        return reply

    async def note(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.receive_str(), 5))
        return found


@pytest.fixture
async def held() -> AsyncIterator[tuple[SolanaRpcServer, Client]]:
    server = await SolanaRpcServer(slot_time=None).start()
    try:
        async with aiohttp.ClientSession() as session, session.ws_connect(server.ws_url) as ws:
            yield server, Client(ws)
    finally:
        await server.stop()


def signed_transfer(server: SolanaRpcServer) -> tuple[bytes, str, Keypair]:
    payer, to = Keypair(), Keypair()
    server.chain.airdrop(str(payer.pubkey()), 10 * SOL)
    blockhash = Hash.from_string(server.chain.latest_blockhash()[0])
    message = Message.new_with_blockhash(
        [programs.transfer(payer.pubkey(), to.pubkey(), SOL)], payer.pubkey(), blockhash
    )
    tx = VersionedTransaction(message, [payer])
    return bytes(tx), str(tx.signatures[0]), to


async def test_signature_notifications_received_then_confirmed_once(
    held: tuple[SolanaRpcServer, Client],
) -> None:
    server, client = held
    raw, signature, _ = signed_transfer(server)
    reply = await client.call(
        "signatureSubscribe",
        [signature, {"commitment": "confirmed", "enableReceivedNotification": True}],
    )
    sub = reply["result"]
    server.chain.send(raw)
    received = await client.note()
    assert received["method"] == "signatureNotification"
    assert received["params"] == {
        "subscription": sub,
        "result": {
            "context": received["params"]["result"]["context"],
            "value": "receivedSignature",
        },
    }
    server.chain.advance(1)
    confirmed = await client.note()
    assert confirmed["params"]["result"]["value"] == {"err": None}
    # a signature subscription ends with its notification
    gone = await client.call("signatureUnsubscribe", [sub])
    assert gone["error"]["message"] == "Invalid subscription id."


async def test_an_already_confirmed_signature_fires_at_once(
    held: tuple[SolanaRpcServer, Client],
) -> None:
    server, client = held
    raw, signature, _ = signed_transfer(server)
    server.chain.send(raw)
    server.chain.advance(1)
    await client.call("signatureSubscribe", [signature, {"commitment": "confirmed"}])
    assert (await client.note())["params"]["result"]["value"] == {"err": None}


async def test_account_notifications_follow_their_commitment(
    held: tuple[SolanaRpcServer, Client],
) -> None:
    server, client = held
    raw, _, to = signed_transfer(server)
    processed = (
        await client.call(
            "accountSubscribe",
            [str(to.pubkey()), {"encoding": "base64", "commitment": "processed"}],
        )
    )["result"]
    finalized = (
        await client.call("accountSubscribe", [str(to.pubkey()), {"encoding": "jsonParsed"}])
    )["result"]
    server.chain.send(raw)
    first = await client.note()
    assert first["params"]["subscription"] == processed
    assert first["params"]["result"]["value"]["lamports"] == SOL
    server.chain.advance(40)  # finality: the default commitment of a subscription
    later = await client.note()
    assert later["params"]["subscription"] == finalized
    assert later["params"]["result"]["value"]["data"] == ["", "base64"]  # no parser: base64
    assert (await client.call("accountUnsubscribe", [finalized]))["result"] is True


async def test_slot_and_root_notifications_and_unknown_methods(
    held: tuple[SolanaRpcServer, Client],
) -> None:
    server, client = held
    slot_sub = (await client.call("slotSubscribe", []))["result"]
    server.chain.advance(1)
    note = await client.note()
    assert note["method"] == "slotNotification" and note["params"]["subscription"] == slot_sub
    assert note["params"]["result"]["slot"] == server.chain.slot
    assert (await client.call("slotUnsubscribe", [slot_sub]))["result"] is True
    server.chain.advance(40)  # past the first 32 blocks, the root moves with every block
    root_sub = (await client.call("rootSubscribe", []))["result"]
    server.chain.advance(1)
    root = await client.note()
    assert root["method"] == "rootNotification" and root["params"]["subscription"] == root_sub
    assert root["params"]["result"] == server.chain.slot_at("finalized")
    assert (await client.call("blockSubscribe", ["all"]))["error"]["code"] == -32601
    bad = await client.call("logsSubscribe", [{"mentions": ["a", "b"]}])
    assert bad["error"]["code"] == -32602
