"""JsonRpcClient against a scripted loopback server: faults, retries, failover, batches, sends."""

from __future__ import annotations

import asyncio
import contextlib
import json
import pickle
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from email.utils import formatdate
from typing import Any, NamedTuple

import pytest
from aiohttp import web
from eth_utils.crypto import keccak
from hypothesis import given
from hypothesis import strategies as st

from chainops.core.errors import (
    ConfigurationError,
    InsufficientFunds,
    NonceError,
    RateLimited,
    Reverted,
    RpcPermanentError,
    RpcTransientError,
    UnknownOutcome,
)
from chainops.core.ids import TxHash
from chainops.devnet.anvil import free_port
from chainops.operators.evm.node_errors import (
    ExecutionReverted,
    NodeError,
    NodeErrorKind,
    NonceTooLow,
    Underpriced,
)
from chainops.operators.evm.rpc import BroadcastUnknown, JsonRpcClient
from chainops.operators.evm.rpc_endpoints import parse_retry_after as _retry_after


class Err(NamedTuple):
    code: int
    message: str
    data: Any = None


Action = Callable[[web.Request, Any], Awaitable[web.StreamResponse]]


class FakeNode:
    """A JSON-RPC server on loopback whose next replies can be scripted per request."""

    def __init__(self) -> None:
        self.url = ""
        self.script: list[Action] = []
        self.bodies: list[bytes] = []
        self.peers: list[Any] = []
        self.answer: Callable[[str, list[Any]], Any] = self.default_answer
        self.reorder = False

    @staticmethod
    def default_answer(method: str, params: list[Any]) -> Any:
        if method == "eth_sendRawTransaction":
            return "0x" + keccak(bytes.fromhex(params[0][2:])).hex()
        if method == "echo":
            return params
        if method == "eth_chainId":
            return "0x7a69"
        return Err(-32601, "Method not found")

    def item(self, request: dict[str, Any]) -> dict[str, Any]:
        outcome = self.answer(request["method"], request["params"])
        if isinstance(outcome, Err):
            error = {"code": outcome.code, "message": outcome.message}
            if outcome.data is not None:
                error["data"] = outcome.data
            return {"jsonrpc": "2.0", "id": request["id"], "error": error}
        return {"jsonrpc": "2.0", "id": request["id"], "result": outcome}

    def reply(self, doc: Any) -> Any:
        if isinstance(doc, list):
            items = [self.item(d) for d in doc]
            return items[::-1] if self.reorder else items
        return self.item(doc)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        self.bodies.append(raw)
        assert request.transport is not None
        self.peers.append(request.transport.get_extra_info("peername"))
        doc = json.loads(raw)
        if self.script:
            return await self.script.pop(0)(request, doc)
        return web.json_response(self.reply(doc))

    @property
    def docs(self) -> list[Any]:
        return [json.loads(b) for b in self.bodies]


def status(code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Action:
    async def act(request: web.Request, doc: Any) -> web.StreamResponse:
        return web.Response(status=code, body=body, headers=headers)

    return act


def sleep_then_answer(seconds: float) -> Action:
    async def act(request: web.Request, doc: Any) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return web.json_response({"jsonrpc": "2.0", "id": -1, "result": "late"})

    return act


def reset() -> Action:
    async def act(request: web.Request, doc: Any) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.abort()
        return web.Response()

    return act


def body(payload: bytes, code: int = 200) -> Action:
    return status(code, payload, {"Content-Type": "application/json"})


def rpc_error(code: int, message: str) -> Action:
    async def act(request: web.Request, doc: Any) -> web.StreamResponse:
        return web.json_response(
            {"jsonrpc": "2.0", "id": doc["id"], "error": {"code": code, "message": message}}
        )

    return act


@contextlib.asynccontextmanager
async def serve() -> AsyncIterator[FakeNode]:
    fake = FakeNode()
    app = web.Application()
    app.router.add_post("/", fake.handle)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    fake.url = f"http://{host}:{port}/"
    try:
        yield fake
    finally:
        await runner.cleanup()


@pytest.fixture
async def node() -> AsyncIterator[FakeNode]:
    async with serve() as fake:
        yield fake


@pytest.fixture
async def node_b() -> AsyncIterator[FakeNode]:
    async with serve() as fake:
        yield fake


def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}/"


class Sleeps(list[float]):
    """Records the client's backoff pauses instead of sleeping them."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)
        await asyncio.sleep(0)


def client(*urls: str, **options: Any) -> tuple[JsonRpcClient, Sleeps]:
    options.setdefault("seed", 7)
    rpc = JsonRpcClient(urls, **options)
    sleeps = Sleeps()
    rpc._sleep = sleeps
    return rpc, sleeps


RAW = bytes.fromhex("02f86c827a6980843b9aca00850218711a0082520894") + bytes(range(48))
RAW_HASH = TxHash(keccak(RAW))


# -- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoints",
    [[], ["ws://127.0.0.1:8546"], ["127.0.0.1:8545"], ["ftp://x"], ["http://"]],
)
def test_bad_endpoints_are_configuration_errors(endpoints: list[str]) -> None:
    with pytest.raises(ConfigurationError):
        JsonRpcClient(endpoints)


def test_bad_numbers_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        JsonRpcClient(["http://a"], timeout=0)
    with pytest.raises(ConfigurationError):
        JsonRpcClient(["http://a"], read_retries=-1)
    with pytest.raises(ConfigurationError):
        JsonRpcClient(["http://a"], batch_limit=0)


def test_repr_and_endpoints_hide_api_keys() -> None:
    rpc = JsonRpcClient(["https://user:pw@eth.example.org/v3/SECRETKEY", "http://127.0.0.1:8545"])
    assert rpc.endpoints == ["https://eth.example.org", "http://127.0.0.1:8545"]
    assert "SECRETKEY" not in repr(rpc) and "pw" not in repr(rpc)


def test_a_single_url_string_is_one_endpoint() -> None:
    assert JsonRpcClient("http://127.0.0.1:1").endpoints == ["http://127.0.0.1:1"]  # type: ignore[arg-type]


def test_retry_after_header_forms() -> None:
    assert _retry_after("3") == 3.0
    assert _retry_after("0.5") == 0.5
    assert _retry_after("-2") == 0.0
    assert _retry_after(None) is None
    assert _retry_after("soon") is None
    in_a_while = _retry_after(formatdate(time.time() + 120, usegmt=True))
    assert in_a_while is not None and 100 < in_a_while <= 120


# -- plain calls -----------------------------------------------------------------------------


async def test_call_returns_result_with_compact_json(node: FakeNode) -> None:
    rpc, _ = client(node.url)
    async with rpc:
        assert await rpc.call("eth_chainId") == "0x7a69"
        assert await rpc.call("echo", [1, "a", {"b": None}]) == [1, "a", {"b": None}]
        assert await rpc.call("echo", ("t",)) == ["t"]
    first, second, _third = node.bodies
    assert first == b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}'
    assert second == b'{"jsonrpc":"2.0","id":2,"method":"echo","params":[1,"a",{"b":null}]}'
    assert (rpc.stats.requests, rpc.stats.calls, rpc.stats.retries) == (3, 3, 0)


async def test_one_keep_alive_connection_is_reused(node: FakeNode) -> None:
    rpc, _ = client(node.url)
    async with rpc:
        for _ in range(5):
            await rpc.call("eth_chainId")
    assert len(node.peers) == 5
    assert len(set(node.peers)) == 1


async def test_session_is_lazy_and_reopens_after_close(node: FakeNode) -> None:
    rpc, _ = client(node.url)
    assert rpc._session is None
    assert await rpc.call("eth_chainId") == "0x7a69"
    await rpc.close()
    assert rpc._session is None
    assert await rpc.call("eth_chainId") == "0x7a69"
    await rpc.close()
    await rpc.close()  # closing twice is harmless


async def test_node_error_is_raised_typed_and_not_retried(node: FakeNode) -> None:
    node.answer = lambda m, p: Err(3, "execution reverted: nope", "0x08c379a0")
    rpc, sleeps = client(node.url)
    async with rpc:
        with pytest.raises(ExecutionReverted) as info:
            await rpc.call("eth_call", [{}, "latest"])
    assert isinstance(info.value, Reverted)
    assert info.value.reason == "nope" and info.value.data == "0x08c379a0"
    assert rpc.stats.requests == 1 and rpc.stats.retries == 0 and not sleeps
    assert rpc.stats.errors_by_kind == {"revert": 1}


async def test_unknown_node_error_is_permanent(node: FakeNode) -> None:
    rpc, _ = client(node.url)
    async with rpc:
        with pytest.raises(NodeError) as info:
            await rpc.call("nope_method")
    assert info.value.kind is NodeErrorKind.UNKNOWN
    assert info.value.code == -32601
    assert rpc.stats.requests == 1


# -- transient faults ------------------------------------------------------------------------


async def test_http_500_is_retried_with_seeded_backoff(node: FakeNode) -> None:
    node.script = [status(500), status(502, b"<html>bad gateway</html>")]
    rpc, sleeps = client(node.url, backoff_base=0.01, backoff_max=1.0)
    async with rpc:
        assert await rpc.call("eth_chainId") == "0x7a69"
    assert rpc.stats.requests == 3 and rpc.stats.retries == 2
    assert rpc.stats.errors_by_kind == {"http_5xx": 2}
    # Equal jitter: each pause lies in [ceiling/2, ceiling] of an exponential ceiling.
    assert 0.005 <= sleeps[0] <= 0.01 and 0.01 <= sleeps[1] <= 0.02
    again, again_sleeps = client(node.url, backoff_base=0.01, backoff_max=1.0)
    node.script = [status(500), status(500)]
    async with again:
        await again.call("eth_chainId")
    assert again_sleeps == sleeps  # same seed, same pauses


async def test_backoff_is_capped(node: FakeNode) -> None:
    node.script = [status(503)] * 6
    rpc, sleeps = client(node.url, read_retries=6, backoff_base=0.1, backoff_max=0.3)
    async with rpc:
        assert await rpc.call("eth_chainId") == "0x7a69"
    assert len(sleeps) == 6
    assert all(s <= 0.3 for s in sleeps) and sleeps[-1] >= 0.15


async def test_retries_are_bounded_then_transient_error(node: FakeNode) -> None:
    node.script = [status(500)] * 10
    rpc, sleeps = client(node.url, read_retries=2)
    async with rpc:
        with pytest.raises(RpcTransientError) as info:
            await rpc.call("eth_chainId")
    assert not isinstance(info.value, RateLimited | UnknownOutcome)
    assert "3 attempt" in str(info.value) and "http_5xx" in str(info.value)
    assert rpc.stats.requests == 3 and len(sleeps) == 2


async def test_timeout_is_transient(node: FakeNode) -> None:
    node.script = [sleep_then_answer(0.5)]
    rpc, _ = client(node.url, timeout=0.15)
    async with rpc:
        assert await rpc.call("eth_chainId") == "0x7a69"
    assert rpc.stats.errors_by_kind == {"timeout": 1}


async def test_connection_reset_is_transient(node: FakeNode) -> None:
    node.script = [reset(), reset()]
    rpc, _ = client(node.url)
    async with rpc:
        assert await rpc.call("eth_chainId") == "0x7a69"
    assert rpc.stats.errors_by_kind == {"connection": 2}


@pytest.mark.parametrize(
    "payload",
    [b"{not json", b"", b'"just a string"', b'{"jsonrpc":"2.0","id":999,"result":"0x1"}', b"[]"],
)
async def test_malformed_replies_are_transient(node: FakeNode, payload: bytes) -> None:
    node.script = [body(payload)]
    rpc, _ = client(node.url)
    async with rpc:
        assert await rpc.call("eth_chainId") == "0x7a69"
    assert rpc.stats.errors_by_kind == {"malformed": 1}


@pytest.mark.parametrize(
    ("code", "message", "kind"),
    [
        (-32603, "internal error", "internal"),
        (-32005, "limit exceeded", "rate_limited"),
        (429, "Your app has exceeded its compute units per second capacity", "rate_limited"),
        (-32000, "rate limit reached, slow down", "rate_limited"),
    ],
)
async def test_server_side_rpc_errors_are_transient(
    node: FakeNode, code: int, message: str, kind: str
) -> None:
    node.script = [rpc_error(code, message)]
    rpc, _ = client(node.url)
    async with rpc:
        assert await rpc.call("eth_chainId") == "0x7a69"
    assert rpc.stats.errors_by_kind == {kind: 1}


async def test_internal_error_code_with_a_known_message_is_the_node_error(node: FakeNode) -> None:
    node.script = [rpc_error(-32603, "nonce too low")]
    rpc, _ = client(node.url)
    async with rpc:
        with pytest.raises(NonceTooLow):
            await rpc.call("eth_sendRawTransaction", ["0x00"], read=False)
    assert rpc.stats.requests == 1


async def test_http_500_carrying_a_node_error_is_the_node_error(node: FakeNode) -> None:
    reply = {"jsonrpc": "2.0", "id": 1, "error": {"code": -32000, "message": "nonce too low"}}
    node.script = [body(json.dumps(reply).encode(), code=500)]
    rpc, _ = client(node.url)
    async with rpc:
        with pytest.raises(NonceError):
            await rpc.call("eth_chainId")
    assert rpc.stats.requests == 1


async def test_http_4xx_without_rpc_body_is_permanent(node: FakeNode) -> None:
    node.script = [status(403, b"forbidden"), status(404)]
    rpc, sleeps = client(node.url)
    async with rpc:
        with pytest.raises(RpcPermanentError, match="HTTP 403"):
            await rpc.call("eth_chainId")
        with pytest.raises(RpcPermanentError, match="HTTP 404"):
            await rpc.call("eth_chainId")
    assert rpc.stats.requests == 2 and not sleeps


async def test_429_honours_retry_after(node: FakeNode) -> None:
    node.script = [status(429, headers={"Retry-After": "1.5"})]
    rpc, sleeps = client(node.url, backoff_base=0.01)
    async with rpc:
        assert await rpc.call("eth_chainId") == "0x7a69"
    assert sleeps == [1.5]
    assert rpc.stats.errors_by_kind == {"rate_limited": 1}


async def test_429_retry_after_too_long_raises_rate_limited_at_once(node: FakeNode) -> None:
    node.script = [status(429, headers={"Retry-After": "60"})]
    rpc, sleeps = client(node.url, retry_after_max=10)
    async with rpc:
        with pytest.raises(RateLimited) as info:
            await rpc.call("eth_chainId")
    assert info.value.retry_after == 60.0
    assert not sleeps and rpc.stats.requests == 1


async def test_429_exhausted_is_rate_limited(node: FakeNode) -> None:
    node.script = [status(429)] * 5
    rpc, _ = client(node.url, read_retries=2)
    async with rpc:
        with pytest.raises(RateLimited):
            await rpc.call("eth_chainId")
    assert rpc.stats.requests == 3


async def test_writes_retry_only_what_never_arrived(node: FakeNode) -> None:
    rpc, sleeps = client(node.url)
    async with rpc:
        node.script = [status(500)]
        with pytest.raises(RpcTransientError):
            await rpc.call("eth_sendTransaction", [{}], read=False)
        assert rpc.stats.requests == 1 and not sleeps
        node.script = [status(429)]  # a 429 was refused before processing: safe to repeat
        assert await rpc.call("eth_chainId", read=False) == "0x7a69"
        assert rpc.stats.requests == 3
    refused, _ = client(dead_url(), node.url)
    async with refused:
        assert await refused.call("eth_chainId", read=False) == "0x7a69"


# -- failover --------------------------------------------------------------------------------


async def test_failover_from_a_dead_endpoint(node: FakeNode) -> None:
    rpc, sleeps = client(dead_url(), node.url)
    async with rpc:
        assert await rpc.call("eth_chainId") == "0x7a69"
        assert rpc.stats.requests == 2
        assert not sleeps  # a healthy endpoint was ready: no pause
        for _ in range(3):
            await rpc.call("eth_chainId")
        assert rpc.stats.requests == 5  # the dead one sits out its cool-down
    assert rpc.stats.errors_by_kind == {"connection": 1}


async def test_primary_is_preferred_again_after_cool_down(node: FakeNode, node_b: FakeNode) -> None:
    # long enough that a busy machine does not end the cool-down between the two calls
    rpc, _ = client(node.url, node_b.url, cooldown=0.5)
    async with rpc:
        node.script = [status(500)]
        await rpc.call("eth_chainId")
        assert (len(node.bodies), len(node_b.bodies)) == (1, 1)
        await rpc.call("eth_chainId")
        assert (len(node.bodies), len(node_b.bodies)) == (1, 2)
        await asyncio.sleep(0.55)
        await rpc.call("eth_chainId")
        assert (len(node.bodies), len(node_b.bodies)) == (2, 2)


async def test_node_errors_never_mark_an_endpoint_bad(node: FakeNode, node_b: FakeNode) -> None:
    node.answer = lambda m, p: Err(-32000, "nonce too low")
    rpc, _ = client(node.url, node_b.url)
    async with rpc:
        for _ in range(3):
            with pytest.raises(NonceTooLow):
                await rpc.call("eth_sendRawTransaction", ["0x00"])
    assert (len(node.bodies), len(node_b.bodies)) == (3, 0)


async def test_all_endpoints_down_is_transient(node: FakeNode) -> None:
    rpc, sleeps = client(dead_url(), dead_url(), read_retries=3)
    async with rpc:
        with pytest.raises(RpcTransientError, match="connection"):
            await rpc.call("eth_chainId")
    assert rpc.stats.requests == 4
    # The first failure fails over at once; then both cool down and backoff applies.
    assert len(sleeps) == 2
    assert rpc.stats.errors_by_kind == {"connection": 4}


# -- batches ---------------------------------------------------------------------------------


async def test_empty_batch_makes_no_request(node: FakeNode) -> None:
    rpc, _ = client(node.url)
    async with rpc:
        assert await rpc.batch([]) == []
        assert await rpc.send_raw_batch([]) == []
    assert rpc.stats.requests == 0 and node.bodies == []


async def test_batch_is_one_request_matched_by_id(node: FakeNode) -> None:
    node.reorder = True
    rpc, _ = client(node.url)
    async with rpc:
        out = await rpc.batch([("echo", [i]) for i in range(20)])
    assert out == [[i] for i in range(20)]
    assert len(node.bodies) == 1
    sent = node.docs[0]
    assert [d["params"] for d in sent] == [[i] for i in range(20)]
    assert len({d["id"] for d in sent}) == 20
    assert (rpc.stats.requests, rpc.stats.calls) == (1, 20)


async def test_batch_returns_item_errors_without_raising(node: FakeNode) -> None:
    def answer(method: str, params: list[Any]) -> Any:
        if params == [1]:
            return Err(-32000, "insufficient funds for gas * price + value")
        if params == [2]:
            return Err(-32601, "Method not found")
        return params

    node.answer = answer
    rpc, _ = client(node.url)
    async with rpc:
        out = await rpc.batch([("echo", [0]), ("echo", [1]), ("echo", [2]), ("echo", [3])])
    assert out[0] == [0] and out[3] == [3]
    assert isinstance(out[1], InsufficientFunds) and isinstance(out[1], NodeError)
    assert isinstance(out[2], NodeError) and out[2].kind is NodeErrorKind.UNKNOWN
    assert rpc.stats.errors_by_kind == {"insufficient_funds": 1, "unknown": 1}


async def test_batch_transport_failure_repeats_the_whole_batch(node: FakeNode) -> None:
    node.script = [status(500), reset()]
    rpc, _ = client(node.url)
    async with rpc:
        out = await rpc.batch([("echo", [i]) for i in range(5)])
    assert out == [[i] for i in range(5)]
    assert len(node.bodies) == 3
    assert all(len(doc) == 5 for doc in node.docs)
    assert rpc.stats.retries == 2 and rpc.stats.calls == 15


async def test_batch_item_transient_errors_repeat_only_those_items(node: FakeNode) -> None:
    flaky = {2: 2, 4: 1}  # params -> how many more times to fail

    def answer(method: str, params: list[Any]) -> Any:
        left = flaky.get(params[0], 0)
        if left:
            flaky[params[0]] = left - 1
            return Err(-32005, "limit exceeded")
        return params

    node.answer = answer
    rpc, sleeps = client(node.url)
    async with rpc:
        out = await rpc.batch([("echo", [i]) for i in range(6)])
    assert out == [[i] for i in range(6)]
    assert [len(doc) for doc in node.docs] == [6, 2, 1]
    assert [d["params"] for d in node.docs[1]] == [[2], [4]]
    assert rpc.stats.errors_by_kind == {"rate_limited": 3} and len(sleeps) == 2


async def test_batch_item_transient_errors_exhausted_are_returned(node: FakeNode) -> None:
    node.answer = lambda m, p: Err(-32603, "internal error") if p == [1] else p
    rpc, _ = client(node.url, read_retries=1)
    async with rpc:
        out = await rpc.batch([("echo", [0]), ("echo", [1])])
    assert out[0] == [0]
    assert isinstance(out[1], RpcTransientError)


async def test_batch_missing_item_is_retried(node: FakeNode) -> None:
    async def drop_last(request: web.Request, doc: Any) -> web.StreamResponse:
        return web.json_response(node.reply(doc)[:-1])

    node.script = [drop_last]
    rpc, _ = client(node.url)
    async with rpc:
        assert await rpc.batch([("echo", [i]) for i in range(3)]) == [[0], [1], [2]]
    assert [len(doc) for doc in node.docs] == [3, 1]


async def test_batch_refused_as_a_whole_raises(node: FakeNode) -> None:
    async def refuse(request: web.Request, doc: Any) -> web.StreamResponse:
        error = {"code": -32600, "message": "batch too large"}
        return web.json_response({"jsonrpc": "2.0", "id": None, "error": error})

    node.script = [refuse]
    rpc, _ = client(node.url)
    async with rpc:
        with pytest.raises(NodeError, match="batch too large"):
            await rpc.batch([("echo", [1])])


async def test_batch_reads_are_split_at_the_limit(node: FakeNode) -> None:
    rpc, _ = client(node.url, batch_limit=4)
    async with rpc:
        out = await rpc.batch([("echo", [i]) for i in range(10)])
    assert out == [[i] for i in range(10)]
    assert [len(doc) for doc in node.docs] == [4, 4, 2]


async def test_write_batch_is_not_repeated(node: FakeNode) -> None:
    node.script = [status(500)]
    rpc, _ = client(node.url)
    async with rpc:
        with pytest.raises(RpcTransientError):
            await rpc.batch([("echo", [1])], read=False)
    assert len(node.bodies) == 1


# -- sends -----------------------------------------------------------------------------------


async def test_send_raw_returns_the_hash(node: FakeNode) -> None:
    rpc, _ = client(node.url)
    async with rpc:
        assert await rpc.send_raw(RAW) == RAW_HASH
    assert node.docs[0]["params"] == ["0x" + RAW.hex()]


async def test_send_raw_retries_the_same_bytes_and_duplicate_is_success(node: FakeNode) -> None:
    node.script = [status(500), sleep_then_answer(0.4)]
    calls = 0

    def answer(method: str, params: list[Any]) -> Any:
        nonlocal calls
        calls += 1
        return Err(-32000, "already known")

    node.answer = answer
    rpc, _ = client(node.url, timeout=0.15)
    async with rpc:
        assert await rpc.send_raw(RAW) == RAW_HASH
    assert len(node.bodies) == 3 and len(set(node.bodies)) == 1
    assert calls == 1
    assert rpc.stats.errors_by_kind == {"http_5xx": 1, "timeout": 1, "duplicate": 1}


async def test_send_raw_fails_over_with_the_same_bytes(node: FakeNode, node_b: FakeNode) -> None:
    node.script = [reset()]
    rpc, _ = client(node.url, node_b.url)
    async with rpc:
        assert await rpc.send_raw(RAW) == RAW_HASH
    assert node.bodies == node_b.bodies


async def test_send_raw_node_errors_are_raised_typed(node: FakeNode) -> None:
    node.answer = lambda m, p: Err(-32003, "max fee per gas less than block base fee")
    rpc, sleeps = client(node.url)
    async with rpc:
        with pytest.raises(Underpriced):
            await rpc.send_raw(RAW)
    assert len(node.bodies) == 1 and not sleeps


async def test_nonce_too_low_for_bytes_the_chain_holds_is_success(node: FakeNode) -> None:
    mined: set[str] = set()

    def answer(method: str, params: list[Any]) -> Any:
        if method == "eth_sendRawTransaction":
            return Err(-32003, "nonce too low")
        return {"hash": params[0]} if params[0] in mined else None

    node.answer = answer
    rpc, _ = client(node.url)
    async with rpc:
        with pytest.raises(NonceTooLow):
            await rpc.send_raw(RAW)
        mined.add(RAW_HASH)
        assert await rpc.send_raw(RAW) == RAW_HASH
    methods = [d["method"] for d in node.docs]
    assert methods == ["eth_sendRawTransaction", "eth_getTransactionByHash"] * 2


async def test_send_raw_lost_answer_is_broadcast_unknown(node: FakeNode) -> None:
    node.script = [status(502)] * 5
    rpc, _ = client(node.url, read_retries=2)
    async with rpc:
        with pytest.raises(BroadcastUnknown) as info:
            await rpc.send_raw(RAW)
    assert isinstance(info.value, RpcTransientError) and isinstance(info.value, UnknownOutcome)
    assert info.value.tx_hashes == (RAW_HASH,)
    again = pickle.loads(pickle.dumps(info.value))
    assert again.tx_hashes == (RAW_HASH,) and str(again) == str(info.value)


async def test_send_raw_never_delivered_is_plain_transient() -> None:
    rpc, _ = client(dead_url(), read_retries=1)
    async with rpc:
        with pytest.raises(RpcTransientError) as info:
            await rpc.send_raw(RAW)
    assert not isinstance(info.value, UnknownOutcome)


async def test_send_raw_wrong_hash_from_node_is_an_error(node: FakeNode) -> None:
    node.answer = lambda m, p: "0x" + "11" * 32
    rpc, _ = client(node.url)
    async with rpc:
        with pytest.raises(RpcPermanentError, match="hash"):
            await rpc.send_raw(RAW)
        node.answer = lambda m, p: None
        with pytest.raises(RpcPermanentError, match="not a hash"):
            await rpc.send_raw(RAW)


async def test_send_raw_batch_settles_each_item(node: FakeNode) -> None:
    raws = [RAW + bytes([i]) for i in range(5)]
    hashes = [TxHash(keccak(r)) for r in raws]

    def answer(method: str, params: list[Any]) -> Any:
        raw = bytes.fromhex(params[0][2:]) if method == "eth_sendRawTransaction" else b""
        if raw == raws[1]:
            return Err(-32003, "transaction already imported")
        if raw == raws[2]:
            return Err(-32003, "Insufficient funds for gas * price + value")
        if raw in (raws[3], raws[4]):
            return Err(-32003, "nonce too low")
        if method == "eth_getTransactionByHash":
            return {"hash": params[0]} if params[0] == hashes[3] else None
        return FakeNode.default_answer(method, params)

    node.answer = answer
    node.reorder = True
    rpc, _ = client(node.url)
    async with rpc:
        out = await rpc.send_raw_batch(raws)
    assert out[:2] == hashes[:2] and out[3] == hashes[3]
    assert isinstance(out[2], InsufficientFunds)
    assert isinstance(out[4], NonceTooLow)
    assert [len(doc) for doc in node.docs] == [5, 2]  # the sends, then one lookup batch


async def test_send_raw_batch_retries_whole_batch_with_same_bytes(node: FakeNode) -> None:
    node.script = [sleep_then_answer(0.4)]
    raws = [RAW + bytes([i]) for i in range(3)]
    rpc, _ = client(node.url, timeout=0.15)
    async with rpc:
        out = await rpc.send_raw_batch(raws)
    assert out == [TxHash(keccak(r)) for r in raws]
    assert node.bodies[0] == node.bodies[1]


async def test_send_raw_batch_lost_answer_is_broadcast_unknown(node: FakeNode) -> None:
    node.script = [status(500)] * 5
    raws = [RAW + bytes([i]) for i in range(3)]
    rpc, _ = client(node.url, read_retries=1)
    async with rpc:
        with pytest.raises(BroadcastUnknown) as info:
            await rpc.send_raw_batch(raws)
    assert info.value.tx_hashes == tuple(TxHash(keccak(r)) for r in raws)


async def test_send_raw_batch_chunks_go_in_order(node: FakeNode) -> None:
    raws = [RAW + bytes([i]) for i in range(7)]
    rpc, _ = client(node.url, batch_limit=3)
    async with rpc:
        out = await rpc.send_raw_batch(raws)
    assert out == [TxHash(keccak(r)) for r in raws]
    sent = [bytes.fromhex(d["params"][0][2:]) for doc in node.docs for d in doc]
    assert sent == raws
    assert [len(doc) for doc in node.docs] == [3, 3, 1]


async def test_concurrent_calls_share_the_client(node: FakeNode) -> None:
    rpc, _ = client(node.url)
    async with rpc:
        out = await asyncio.gather(*(rpc.call("echo", [i]) for i in range(50)))
    assert out == [[i] for i in range(50)]
    ids = [doc["id"] for doc in node.docs]
    assert len(set(ids)) == 50


def test_replies_msgspec_refuses_are_decoded_by_the_stdlib() -> None:
    """Numbers beyond 64 bits or a double's range still decode, as json would."""
    from chainops.operators.evm.rpc import _loads

    big = b'{"jsonrpc":"2.0","id":1,"result":{"n":123456789012345678901234567890,"x":1e400}}'
    assert _loads(big)["result"] == {"n": 123456789012345678901234567890, "x": float("inf")}
    assert _loads(b'[{"id":1,"result":"0x1"}]') == [{"id": 1, "result": "0x1"}]
    with pytest.raises(ValueError):
        _loads(b"<html>")


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(
    rid=st.integers(min_value=0, max_value=2**53),
    method=st.text(min_size=1, max_size=30),
    params=st.lists(_JSON_VALUES, max_size=4),
)
def test_a_request_reads_back_as_what_was_asked(rid: int, method: str, params: list[Any]) -> None:
    """The request bytes (msgspec) parse back, with the standard library, to the call."""
    from chainops.operators.evm.rpc_wire import request_bytes

    assert json.loads(request_bytes(rid, method, params)) == {
        "jsonrpc": "2.0",
        "id": rid,
        "method": method,
        "params": params,
    }


def test_request_parameters_write_identifiers_as_text_and_refuse_the_rest() -> None:
    from chainops.operators.evm.rpc_wire import request_bytes

    tx_hash = TxHash("0x" + "ab" * 32)
    sent = json.loads(request_bytes(1, "eth_getTransactionReceipt", (tx_hash,)))
    assert sent["params"] == [str(tx_hash)] and type(sent["params"][0]) is str
    for unwritable in (object(), b"\x01", Decimal("1.5")):
        with pytest.raises(TypeError):
            request_bytes(2, "eth_call", [unwritable])
        with pytest.raises(TypeError):
            request_bytes(3, "eth_call", [{"to": "0x00", "data": unwritable}])


def test_a_send_answer_must_be_the_hash_of_the_bytes() -> None:
    from chainops.operators.evm.rpc_wire import check_hash

    expected = TxHash("0x" + "ab" * 32)
    assert check_hash(str(expected), expected) is expected
    assert check_hash(str(expected).upper().replace("0X", "0x"), expected) == expected
    with pytest.raises(RpcPermanentError, match="returned hash"):
        check_hash("0x" + "cd" * 32, expected)
    for answer in (None, 5, "0x12", ""):
        with pytest.raises(RpcPermanentError, match="not a hash"):
            check_hash(answer, expected)
