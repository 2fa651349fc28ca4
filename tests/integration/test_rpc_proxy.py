"""The fault-injecting JSON-RPC proxy: rules by method, N-th call, seeded probability."""

from __future__ import annotations

import aiohttp
import pytest

from chainops.core.errors import ValidationError
from chainops.devnet.anvil import Anvil
from chainops.devnet.rpc_proxy import FaultRule, RpcProxy

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def node() -> Anvil:
    with Anvil() as anvil:
        yield anvil


async def post(url: str, body: object) -> tuple[int, object]:
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as reply:
        return reply.status, await reply.json(content_type=None) if reply.status == 200 else None


def call(method: str, i: int = 1) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": i, "method": method, "params": []}


async def test_nth_call_fails_and_the_rest_pass_through(node: Anvil) -> None:
    async with RpcProxy(node.url) as proxy:
        proxy.add(FaultRule("eth_chainId", action="fail", nth=2, status=503))
        statuses = [(await post(proxy.url, call("eth_chainId")))[0] for _ in range(3)]
        assert statuses == [200, 503, 200]
        assert proxy.calls["eth_chainId"] == 3
        assert proxy.faults["fail:eth_chainId"] == 1


async def test_probability_is_deterministic_under_a_seed(node: Anvil) -> None:
    outcomes = []
    for _ in range(2):
        async with RpcProxy(node.url, seed=42) as proxy:
            proxy.add(FaultRule("*", action="fail", probability=0.5))
            outcomes.append(
                [(await post(proxy.url, call("eth_blockNumber")))[0] for _ in range(12)]
            )
    assert outcomes[0] == outcomes[1]
    assert 200 in outcomes[0] and 500 in outcomes[0]


async def test_error_hits_one_item_of_a_batch(node: Anvil) -> None:
    async with RpcProxy(node.url) as proxy:
        proxy.add(FaultRule("eth_gasPrice", action="error", nth=1, code=-32603))
        status, replies = await post(proxy.url, [call("eth_chainId", 1), call("eth_gasPrice", 2)])
        assert status == 200 and isinstance(replies, list)
        by_id = {r["id"]: r for r in replies}
        assert by_id[1]["result"] == "0x7a69"
        assert by_id[2]["error"]["code"] == -32603


async def test_drop_after_forwards_then_closes(node: Anvil) -> None:
    start = node.block_number()
    async with RpcProxy(node.url) as proxy:
        proxy.add(FaultRule("anvil_mine", action="drop_after", nth=1))
        with pytest.raises(aiohttp.ClientError):
            await post(proxy.url, {"jsonrpc": "2.0", "id": 1, "method": "anvil_mine", "params": []})
    assert node.block_number() == start + 1  # the node acted though the client heard nothing


def test_rules_are_validated() -> None:
    with pytest.raises(ValidationError):
        FaultRule("*", action="fail")
    with pytest.raises(ValidationError):
        FaultRule("*", action="fail", probability=2.0)
