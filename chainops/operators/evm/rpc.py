"""An async JSON-RPC 2.0 client for EVM nodes: keep-alive, batching, failover, safe retries.

Failures split in two:

* **transport** (timeouts, resets, refused connections, HTTP 5xx, HTTP 429, JSON-RPC
  ``-32603`` internal error, ``-32005`` limit exceeded, malformed JSON): reads are
  retried with exponential backoff and seeded jitter, failing over to the next
  endpoint; the endpoint that failed sits out a cool-down. Raw sends are retried with
  the same bytes, which is idempotent. Exhausted retries raise
  :class:`~chainops.core.errors.RpcTransientError` (or ``RateLimited``).
* **node errors** (a JSON-RPC error about the request itself: a revert, "nonce too
  low"...): never retried, never held against the endpoint; raised (or, in a batch,
  returned) as the typed exception from :func:`~.node_errors.node_error`.

A send whose bytes may have reached a node but whose answer was lost raises
:class:`BroadcastUnknown`: re-send the same bytes or look the hash up, never rebuild.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Final, Self, TypeVar
from urllib.parse import urlsplit

import aiohttp
import msgspec

from chainops.core.errors import (
    ChainopsError,
    ConfigurationError,
    RpcPermanentError,
    RpcTransientError,
)
from chainops.core.ids import TxHash
from chainops.core.keccak import keccak256 as keccak
from chainops.operators.evm.node_errors import NodeError, NodeErrorKind
from chainops.operators.evm.rpc_endpoints import (
    CONNECTION,
    HTTP_5XX,
    MALFORMED,
    RATE_LIMITED,
    TIMEOUT,
    Attempts,
    BroadcastUnknown,
    Endpoint,
    Failover,
    RpcStats,
    TransportFailure,
    parse_retry_after,
)
from chainops.operators.evm.rpc_wire import (
    batch_replies,
    check_hash,
    describe,
    is_rpc_error,
    is_rpc_reply,
    request_bytes,
    single_result,
    typed_error,
)

__all__ = ["BroadcastUnknown", "JsonRpcClient", "RpcStats"]

T = TypeVar("T")

_fast_loads: Final = msgspec.json.Decoder().decode


def _loads(data: bytes) -> Any:
    """Decode a reply: msgspec (a 1,000-receipt batch in half the time), else the stdlib.

    msgspec refuses numbers beyond 64 bits and infinities, which json accepts.
    """
    try:
        return _fast_loads(data)
    except msgspec.DecodeError:
        return json.loads(data)


_HEADERS: Final = {"Content-Type": "application/json", "Accept": "application/json"}
_SEND: Final = "eth_sendRawTransaction"


class JsonRpcClient:
    """JSON-RPC 2.0 over HTTP(S) to one or more endpoints, sharing one keep-alive session.

    Endpoints are tried in the given order; one that fails transiently sits out
    ``cooldown`` seconds (or its Retry-After). ``read_retries`` bounds the retries of a
    read and of a raw send. The aiohttp session is opened on first use inside the
    running loop; :meth:`close` it, or use the client as ``async with``.
    """

    def __init__(
        self,
        endpoints: Sequence[str],
        *,
        timeout: float = 10.0,
        read_retries: int = 3,
        backoff_base: float = 0.05,
        backoff_max: float = 2.0,
        seed: int | None = None,
        cooldown: float = 5.0,
        retry_after_max: float = 10.0,
        batch_limit: int = 1000,
    ) -> None:
        if isinstance(endpoints, str):
            endpoints = (endpoints,)
        if not endpoints:
            raise ConfigurationError("a JSON-RPC client needs at least one endpoint")
        for url in endpoints:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigurationError(
                    f"RPC endpoint {parts.scheme or '?'}://{parts.hostname or '?'}… is not an "
                    "http(s) URL"
                )
        if timeout <= 0 or read_retries < 0 or backoff_base < 0 or backoff_max < 0:
            raise ConfigurationError("timeout must be > 0; retries and backoff must be >= 0")
        if batch_limit < 1:
            raise ConfigurationError("batch_limit must be >= 1")
        self.timeout = timeout
        self.read_retries = read_retries
        # geth's default BatchRequestLimit; larger inputs are split into several requests.
        self.batch_limit = batch_limit
        self.stats = RpcStats()
        self.failover = Failover(
            endpoints,
            self.stats,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            cooldown=cooldown,
            retry_after_max=retry_after_max,
            seed=seed,
        )
        self._next_id = 1
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sealed: str | None = None  # why no session may be opened any more (seal())
        self._sleep: Callable[[float], Any] = asyncio.sleep  # tests substitute a recorder

    def __repr__(self) -> str:
        return f"JsonRpcClient({[e.label for e in self.failover.endpoints]})"

    @property
    def endpoints(self) -> list[str]:
        """The endpoints' redacted labels (scheme://host:port), in preference order."""
        return [e.label for e in self.failover.endpoints]

    # -- session ---------------------------------------------------------------------------

    def _open(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._session
        if session is not None and not session.closed and self._loop is loop:
            return session
        if self._sealed is not None:
            raise ConfigurationError(self._sealed)
        # A session is bound to the loop that made it; a new loop needs a new one.
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            headers=_HEADERS,
            # aiohttp's default pool (100 connections, 15 s keep-alive) suits one node.
            connector=aiohttp.TCPConnector(),
        )
        self._loop = loop
        return self._session

    def seal(self, why: str) -> None:
        """Open no session any more: a later call raises ConfigurationError(``why``)
        (its owner is closed, and nothing would close a new session)."""
        self._sealed = why

    async def close(self) -> None:
        """Close the HTTP session (a later call opens a new one, unless sealed)."""
        session, self._session = self._session, None
        if session is not None and not session.closed and self._loop is asyncio.get_running_loop():
            await session.close()

    async def __aenter__(self) -> Self:
        self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- public calls ----------------------------------------------------------------------

    async def call(
        self, method: str, params: Sequence[Any] | None = None, *, read: bool = True
    ) -> Any:
        """Call ``method`` and return its ``result``; raise a NodeError on an error reply.

        ``read=False`` marks a call that must not run twice: only failures that
        certainly never reached a node (refused connection, HTTP 429) are retried.
        """
        rid = self._ids(1)
        body = request_bytes(rid, method, params)
        return await self._roundtrip(
            body,
            1,
            method,
            self.read_retries,
            read,
            lambda status, doc: single_result(rid, doc, self.stats.errors_by_kind),
        )

    async def batch(
        self, calls: Sequence[tuple[str, Sequence[Any]]], *, read: bool = True
    ) -> list[Any | ChainopsError]:
        """Run ``calls`` as one JSON-RPC batch; per-item errors are returned, not raised.

        Results come back in the order of ``calls`` whatever order the server uses.
        For reads, a transport failure repeats the whole request and an item-level
        transient error (-32603, -32005) repeats only that item.
        """
        out: list[Any | ChainopsError] = []
        for start in range(0, len(calls), self.batch_limit):
            chunk = calls[start : start + self.batch_limit]
            out.extend(await self._batch(chunk, read, self.read_retries, ()))
        return out

    async def send_raw(self, raw: bytes) -> TxHash:
        """Broadcast signed bytes with ``eth_sendRawTransaction``; return their hash.

        Idempotent: transport failures re-send the same bytes; "already known" and a
        "nonce too low" for bytes the node already holds both mean success. Other node
        errors raise the classified :class:`NodeError`.
        """
        tx_hash = TxHash(keccak(raw))
        rid = self._ids(1)
        body = request_bytes(rid, _SEND, ("0x" + raw.hex(),))
        try:
            result = await self._roundtrip(
                body,
                1,
                _SEND,
                self.read_retries,
                True,
                lambda status, doc: single_result(rid, doc, self.stats.errors_by_kind),
                (tx_hash,),
            )
        except NodeError as exc:
            if exc.kind is NodeErrorKind.DUPLICATE or (
                exc.kind is NodeErrorKind.NONCE_TOO_LOW and await self._known(tx_hash)
            ):
                return tx_hash
            raise
        return check_hash(result, tx_hash)

    async def send_raw_batch(self, raws: Sequence[bytes]) -> list[TxHash | ChainopsError]:
        """Broadcast many signed transactions in one JSON-RPC batch (in the given order).

        Each item is a hash or the error for that transaction, as in :meth:`send_raw`.
        """
        hashes = [TxHash(keccak(raw)) for raw in raws]
        calls = [(_SEND, ("0x" + raw.hex(),)) for raw in raws]
        out: list[TxHash | ChainopsError] = []
        # Chunks go in order, one after another: later nonces must not overtake earlier ones.
        for start in range(0, len(calls), self.batch_limit):
            chunk_hashes = hashes[start : start + self.batch_limit]
            replies = await self._batch(
                calls[start : start + self.batch_limit], True, self.read_retries, chunk_hashes
            )
            out.extend(await self._settle_sends(replies, chunk_hashes))
        return out

    # -- sends -----------------------------------------------------------------------------

    async def _settle_sends(
        self, replies: list[Any | ChainopsError], hashes: Sequence[TxHash]
    ) -> list[TxHash | ChainopsError]:
        out: list[TxHash | ChainopsError] = []
        lookups: list[int] = []
        for i, (reply, tx_hash) in enumerate(zip(replies, hashes, strict=True)):
            if isinstance(reply, NodeError):
                if reply.kind is NodeErrorKind.DUPLICATE:
                    out.append(tx_hash)
                    continue
                if reply.kind is NodeErrorKind.NONCE_TOO_LOW:
                    lookups.append(i)
                out.append(reply)
            elif isinstance(reply, ChainopsError):
                out.append(reply)
            else:
                try:
                    out.append(check_hash(reply, tx_hash))
                except RpcPermanentError as exc:
                    out.append(exc)
        if lookups:
            # "nonce too low" for bytes the chain already holds: an earlier send of ours won.
            try:
                found = await self.batch(
                    [("eth_getTransactionByHash", (hashes[i],)) for i in lookups]
                )
            except RpcTransientError:
                found = [None] * len(lookups)
            for i, tx in zip(lookups, found, strict=True):
                if isinstance(tx, dict):
                    out[i] = hashes[i]
        return out

    async def _known(self, tx_hash: TxHash) -> bool:
        """Whether the node knows a transaction with this hash (pending or mined)."""
        try:
            found = await self.call("eth_getTransactionByHash", (tx_hash,))
        except ChainopsError:
            return False  # cannot tell: the caller keeps the node's "nonce too low"
        return isinstance(found, dict)

    # -- machinery -------------------------------------------------------------------------

    def _ids(self, n: int) -> int:
        first = self._next_id
        self._next_id = first + n
        return first

    async def _post(self, endpoint: Endpoint, body: bytes, ncalls: int) -> tuple[int, Any]:
        """One HTTP POST; returns (status, decoded JSON) or raises TransportFailure."""
        session = self._open()
        stats = self.stats
        stats.requests += 1
        stats.calls += ncalls
        try:
            async with session.post(endpoint.url, data=body) as response:
                status = response.status
                data = await response.read()
                retry_after = response.headers.get("Retry-After") if status == 429 else None
        except TimeoutError:
            raise TransportFailure(
                TIMEOUT, f"no answer within {self.timeout}s", delivered=True
            ) from None
        except aiohttp.ClientConnectorError as exc:
            # The TCP connection never opened: the request cannot have been seen.
            raise TransportFailure(CONNECTION, describe(exc), delivered=False) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise TransportFailure(CONNECTION, describe(exc), delivered=True) from None
        if status == 429:
            raise TransportFailure(
                RATE_LIMITED,
                "HTTP 429",
                delivered=False,
                retry_after=parse_retry_after(retry_after),
            )
        try:
            doc = _loads(data)
        except ValueError:
            if status >= 500:
                raise TransportFailure(HTTP_5XX, f"HTTP {status}", delivered=True) from None
            if status >= 400:
                raise RpcPermanentError(f"HTTP {status} from {endpoint.label}") from None
            raise TransportFailure(MALFORMED, "reply is not JSON", delivered=True) from None
        if status >= 500 and not is_rpc_error(doc):
            raise TransportFailure(HTTP_5XX, f"HTTP {status}", delivered=True)
        if status >= 400 and status < 500 and not is_rpc_reply(doc):
            raise RpcPermanentError(f"HTTP {status} from {endpoint.label}")
        return status, doc

    async def _roundtrip(
        self,
        body: bytes,
        ncalls: int,
        what: str,
        retries: int,
        read: bool,
        interpret: Callable[[int, Any], T],
        hashes: Sequence[TxHash] = (),
        attempts: Attempts | None = None,
    ) -> T:
        """POST ``body`` with failover; retry transport failures; return ``interpret``'s value."""
        while True:
            now = time.monotonic()
            endpoint = self.failover.pick(now)
            try:
                status, doc = await self._post(endpoint, body, ncalls)
                value = interpret(status, doc)
            except TransportFailure as failure:
                self.failover.penalise(endpoint, failure, now)
                attempts = attempts or Attempts()  # only failures pay for bookkeeping
                wait = self.failover.next_wait(
                    what, endpoint, failure, attempts, retries, read, hashes
                )
                if wait > 0:
                    await self._sleep(wait)
                continue
            except NodeError:
                endpoint.bad_until = 0.0  # it answered: the request, not the node, is at fault
                raise
            endpoint.bad_until = 0.0
            return value

    async def _batch(
        self,
        calls: Sequence[tuple[str, Sequence[Any]]],
        read: bool,
        retries: int,
        hashes: Sequence[TxHash],
    ) -> list[Any | ChainopsError]:
        """One batch (at most ``batch_limit`` calls): rounds until every item is settled."""
        n = len(calls)
        if n == 0:
            return []
        out: list[Any] = [None] * n
        pending = list(range(n))
        attempts = Attempts()
        what = f"batch of {n} ({calls[0][0]}…)"
        while True:
            first = self._ids(len(pending))
            body = b"".join(
                (
                    b"[",
                    b",".join(
                        request_bytes(first + k, calls[i][0], calls[i][1])
                        for k, i in enumerate(pending)
                    ),
                    b"]",
                )
            )
            replies = await self._roundtrip(
                body,
                len(pending),
                what,
                retries,
                read,
                lambda status, doc: batch_replies(status, doc, self.stats.errors_by_kind),
                hashes,
                attempts,
            )
            again: list[int] = []
            transient: TransportFailure | None = None
            for k, i in enumerate(pending):
                reply = replies.get(first + k)
                try:
                    if reply is None:
                        raise TransportFailure(MALFORMED, "no reply for this item", delivered=True)
                    error = reply.get("error")
                    if error is not None:
                        out[i] = typed_error(error, 200, self.stats.errors_by_kind)
                    elif "result" in reply:
                        out[i] = reply["result"]
                    else:
                        raise TransportFailure(
                            MALFORMED, "item has neither result nor error", delivered=True
                        )
                except TransportFailure as failure:
                    self.stats.errors_by_kind[failure.kind] += 1
                    transient = failure
                    again.append(i)
            if not again:
                return out
            assert transient is not None
            pending = again
            endpoint = self.failover.pick(time.monotonic())
            item_hashes = [hashes[i] for i in again] if hashes else ()
            try:
                wait = self.failover.next_wait(
                    what, endpoint, transient, attempts, retries, read, item_hashes
                )
            except RpcTransientError as exc:
                for i in again:
                    out[i] = exc
                return out
            if wait > 0:
                await self._sleep(wait)
