"""A loopback Solana RPC server backed by :class:`LocalChain`: JSON-RPC and PubSub.

JSON-RPC over HTTP on ``port`` (single calls and batches) and the PubSub
websocket on ``port + 1``, where clients look for it by default
(``ws_url``; also served on the HTTP port, and advertised by
``getClusterNodes``). The methods live in groups: cluster-wide reads
(:mod:`.cluster`), the node's own facts (:mod:`.node`), accounts (:mod:`.accounts`),
transactions (:mod:`.transactions`), blocks (:mod:`.blocks`) and subscriptions
(:mod:`.pubsub`).

Run it in the current event loop (``await server.start()``) or in a thread of
its own (``SolanaRpcServer(...).start_in_thread()``), which is what the CLI and
the pytest fixture do.
"""

from __future__ import annotations

import asyncio
import json
import threading
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from chainops.core.errors import DevnetError
from chainops.devnet.solana.accounts import AccountMethods
from chainops.devnet.solana.blocks import BlockMethods
from chainops.devnet.solana.cluster import ClusterMethods
from chainops.devnet.solana.dispatch import Handler
from chainops.devnet.solana.faults import RpcFault
from chainops.devnet.solana.localchain import LocalChain
from chainops.devnet.solana.node import NodeMethods
from chainops.devnet.solana.pubsub import PubSub
from chainops.devnet.solana.transactions import TransactionMethods

__all__ = ["RpcFault", "SolanaRpcServer"]

_PORT_ATTEMPTS = 20  # ephemeral port pairs tried before giving up


class SolanaRpcServer:
    """JSON-RPC over HTTP and PubSub over a websocket, on loopback, for one :class:`LocalChain`."""

    def __init__(
        self,
        chain: LocalChain | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        slot_time: float | None = 0.4,
        skip_every: int | None = None,
    ) -> None:
        self.chain = (
            chain if chain is not None else LocalChain(slot_time=slot_time, skip_every=skip_every)
        )
        self.host, self.port = host, port
        self.requests: dict[str, int] = {}  # calls per method (tests count round trips)
        self._accounts = AccountMethods(self.chain)
        self.pubsub = PubSub(self.chain, self._accounts.decimals_of)
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._methods: dict[str, Handler] = {}

    # -- lifecycle ---------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_port(self) -> int:
        return self.port + 1

    @property
    def ws_url(self) -> str:
        """The PubSub endpoint: the HTTP port + 1, where Solana clients look by default."""
        return f"ws://{self.host}:{self.ws_port}"

    async def start(self) -> Self:
        """Serve from the running event loop."""
        app = web.Application(client_max_size=16 * 2**20)
        app.router.add_post("/", self._http)
        app.router.add_get("/", self.pubsub.handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await self._bind_pair(self._runner)
        rpc_address = f"{self.host}:{self.port}"
        cluster = ClusterMethods(self.chain, rpc_address, f"{self.host}:{self.ws_port}")
        for group in (
            cluster,
            NodeMethods(self.chain),
            self._accounts,
            TransactionMethods(self.chain, self._accounts.decimals_of),
            BlockMethods(self.chain),
        ):
            self._methods.update(group.handlers())
        self.pubsub.start()
        return self

    async def _bind_pair(self, runner: web.AppRunner) -> None:
        """Listen on ``port`` and ``port + 1`` (an ephemeral pair when ``port`` is 0)."""
        for _ in range(_PORT_ATTEMPTS if self.port == 0 else 1):
            http = web.TCPSite(runner, self.host, self.port)
            await http.start()
            server = http._server
            assert server is not None
            port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
            try:
                await web.TCPSite(runner, self.host, port + 1).start()
            except OSError:
                await http.stop()
                if self.port != 0:
                    raise
                continue
            self.port = port
            return
        raise DevnetError("no free pair of ports for the Solana RPC and PubSub endpoints")

    async def stop(self) -> None:
        await self.pubsub.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start_in_thread(self) -> Self:
        """Serve from an event loop in a daemon thread; returns once the ports are bound."""
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()
        self._loop = loop

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # reported to the starting thread below
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="solana-rpc", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise DevnetError("the Solana RPC server did not start within 10 s")
        if failure:
            raise DevnetError(f"the Solana RPC server failed to start: {failure[0]}")
        return self

    def stop_thread(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
        self._thread = None

    def __enter__(self) -> Self:
        return self.start_in_thread()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop_thread()

    # -- JSON-RPC plumbing -------------------------------------------------

    async def _http(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            reply: Any = _error(None, -32700, "Parse error")
        else:
            if isinstance(body, list):
                reply = (
                    [await self._one(item) for item in body]
                    if body
                    else _error(None, -32600, "Invalid request")
                )
            else:
                reply = await self._one(body)
        return web.Response(text=json.dumps(reply), content_type="application/json")

    async def _one(self, call: Any) -> dict[str, Any]:
        if not isinstance(call, dict) or not isinstance(call.get("method"), str):
            return _error(None, -32600, "Invalid request")
        ident = call.get("id")
        method = call["method"]
        handler = self._methods.get(method)
        if handler is None:
            return _error(ident, -32601, "Method not found")
        self.requests[method] = self.requests.get(method, 0) + 1
        params = call.get("params") or []
        if not isinstance(params, list):
            return _error(ident, -32602, "Invalid params")
        try:
            result = await handler(params)
        except RpcFault as fault:
            return _error(ident, fault.code, fault.message, fault.data)
        except Exception as exc:  # a server bug must still answer in JSON-RPC
            return _error(ident, -32603, f"Internal error: {exc}")
        return {"jsonrpc": "2.0", "result": result, "id": ident}


def _error(ident: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "error": error, "id": ident}
