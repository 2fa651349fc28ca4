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
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Final, Self, TypeVar
from urllib.parse import urlsplit

import aiohttp
from eth_utils.crypto import keccak

from chainops.core.errors import (
    ChainopsError,
    ConfigurationError,
    InvalidIdentifier,
    RateLimited,
    RpcPermanentError,
    RpcTransientError,
    UnknownOutcome,
)
from chainops.core.ids import TxHash
from chainops.operators.evm.node_errors import NodeError, NodeErrorKind, classify, node_error

__all__ = ["BroadcastUnknown", "JsonRpcClient", "RpcStats"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_dumps: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_loads: Final = json.loads
_HEADERS: Final = {"Content-Type": "application/json", "Accept": "application/json"}
_SEND: Final = "eth_sendRawTransaction"

# JSON-RPC codes that say "the server is struggling", not "your request is wrong".
_INTERNAL_ERROR = -32603
_LIMIT_EXCEEDED = -32005  # EIP-1474; hosted providers use it for rate limits
_RATE_LIMIT_WORDS = ("rate limit", "too many requests", "limit exceeded", "exceeded its")

# Transport failure kinds, as counted in ``RpcStats.errors_by_kind``.
TIMEOUT = "timeout"
CONNECTION = "connection"
HTTP_5XX = "http_5xx"
RATE_LIMITED = "rate_limited"
INTERNAL = "internal"
MALFORMED = "malformed"


@dataclass(slots=True)
class RpcStats:
    """Counters since construction (or the last :meth:`reset`)."""

    requests: int = 0  # HTTP requests made, retries included
    calls: int = 0  # JSON-RPC calls sent, every batch item and every retry counted
    retries: int = 0  # requests or batch rounds repeated after a transient failure
    errors_by_kind: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        """Zero every counter."""
        self.requests = self.calls = self.retries = 0
        self.errors_by_kind.clear()


class BroadcastUnknown(RpcTransientError, UnknownOutcome):
    """Raw transactions may have reached a node, but no answer came back.

    Safe to re-send the same bytes or to look the hashes up; never rebuild them.
    """

    def __init__(self, message: str, tx_hashes: Sequence[TxHash]) -> None:
        super().__init__(message)
        self.tx_hashes: tuple[TxHash, ...] = tuple(tx_hashes)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.tx_hashes))


class _Transport(Exception):
    """A transient failure of one request (internal; surfaces as an RpcTransientError)."""

    def __init__(
        self, kind: str, detail: str, *, delivered: bool, retry_after: float | None = None
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.delivered = delivered  # the request may have been processed by the node
        self.retry_after = retry_after


class _Endpoint:
    __slots__ = ("bad_until", "label", "url")

    def __init__(self, url: str) -> None:
        self.url = url
        parts = urlsplit(url)
        # Provider URLs carry API keys in the path or user info: show scheme://host only.
        self.label = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        self.bad_until = 0.0


class _Attempts:
    """Retry bookkeeping for one logical request (single call or batch)."""

    __slots__ = ("delivered", "failures", "last", "used")

    def __init__(self) -> None:
        self.used = 0  # retries spent
        self.failures = 0
        self.delivered = False
        self.last: _Transport | None = None


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


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
        self._endpoints = [_Endpoint(url) for url in endpoints]
        self.timeout = timeout
        self.read_retries = read_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        # 5 s: later calls skip a dead node at once, yet its recovery is noticed soon.
        self.cooldown = cooldown
        # A longer pause than this is the caller's decision: RateLimited surfaces at once.
        self.retry_after_max = retry_after_max
        # geth's default BatchRequestLimit; larger inputs are split into several requests.
        self.batch_limit = batch_limit
        self.stats = RpcStats()
        self._rng = random.Random(seed)
        self._next_id = 1
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sleep: Callable[[float], Any] = asyncio.sleep  # tests substitute a recorder

    def __repr__(self) -> str:
        return f"JsonRpcClient({[e.label for e in self._endpoints]})"

    @property
    def endpoints(self) -> list[str]:
        """The endpoints' redacted labels (scheme://host:port), in preference order."""
        return [e.label for e in self._endpoints]

    # -- session ---------------------------------------------------------------------------

    def _open(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._session
        if session is not None and not session.closed and self._loop is loop:
            return session
        # A session is bound to the loop that made it; a new loop needs a new one.
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            headers=_HEADERS,
            # aiohttp's default pool (100 connections, 15 s keep-alive) suits one node.
            connector=aiohttp.TCPConnector(),
        )
        self._loop = loop
        return self._session

    async def close(self) -> None:
        """Close the HTTP session (a later call opens a new one)."""
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
        body = _request_bytes(rid, method, params)
        return await self._roundtrip(
            body, 1, method, self.read_retries, read, lambda status, doc: self._single(rid, doc)
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
        body = _request_bytes(rid, _SEND, ("0x" + raw.hex(),))
        try:
            result = await self._roundtrip(
                body,
                1,
                _SEND,
                self.read_retries,
                True,
                lambda status, doc: self._single(rid, doc),
                (tx_hash,),
            )
        except NodeError as exc:
            if exc.kind is NodeErrorKind.DUPLICATE or (
                exc.kind is NodeErrorKind.NONCE_TOO_LOW and await self._known(tx_hash)
            ):
                return tx_hash
            raise
        return _check_hash(result, tx_hash)

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
                    out.append(_check_hash(reply, tx_hash))
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

    def _pick(self, now: float) -> _Endpoint:
        """The first endpoint not cooling down, else the one whose cool-down ends first."""
        endpoints = self._endpoints
        for endpoint in endpoints:
            if endpoint.bad_until <= now:
                return endpoint
        return min(endpoints, key=lambda e: e.bad_until)

    async def _post(self, endpoint: _Endpoint, body: bytes, ncalls: int) -> tuple[int, Any]:
        """One HTTP POST; returns (status, decoded JSON) or raises _Transport."""
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
            raise _Transport(TIMEOUT, f"no answer within {self.timeout}s", delivered=True) from None
        except aiohttp.ClientConnectorError as exc:
            # The TCP connection never opened: the request cannot have been seen.
            raise _Transport(CONNECTION, _describe(exc), delivered=False) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise _Transport(CONNECTION, _describe(exc), delivered=True) from None
        if status == 429:
            raise _Transport(
                RATE_LIMITED, "HTTP 429", delivered=False, retry_after=_retry_after(retry_after)
            )
        try:
            doc = _loads(data)
        except ValueError:
            if status >= 500:
                raise _Transport(HTTP_5XX, f"HTTP {status}", delivered=True) from None
            if status >= 400:
                raise RpcPermanentError(f"HTTP {status} from {endpoint.label}") from None
            raise _Transport(MALFORMED, "reply is not JSON", delivered=True) from None
        if status >= 500 and not _is_rpc_error(doc):
            raise _Transport(HTTP_5XX, f"HTTP {status}", delivered=True)
        if status >= 400 and status < 500 and not _is_rpc_reply(doc):
            raise RpcPermanentError(f"HTTP {status} from {endpoint.label}")
        return status, doc

    def _node_error(self, error: Any, status: int) -> NodeError:
        """Type a JSON-RPC error object; raise _Transport when it blames the server."""
        if not isinstance(error, dict):
            raise _Transport(MALFORMED, "error member is not an object", delivered=True)
        code = error.get("code")
        code = code if isinstance(code, int) else None
        message = error.get("message")
        message = message if isinstance(message, str) else ""
        kind = classify(message, code)
        if kind is NodeErrorKind.UNKNOWN:
            lowered = message.lower()
            if (
                code == _LIMIT_EXCEEDED
                or code == 429
                or any(w in lowered for w in _RATE_LIMIT_WORDS)
            ):
                raise _Transport(RATE_LIMITED, f"{message} ({code})", delivered=True)
            if code == _INTERNAL_ERROR or status >= 500:
                raise _Transport(INTERNAL, f"{message} ({code})", delivered=True)
        self.stats.errors_by_kind[kind.value] += 1
        return node_error(code, message, error.get("data"))

    def _single(self, rid: int, doc: Any) -> Any:
        if not isinstance(doc, dict) or doc.get("id") != rid:
            if isinstance(doc, dict) and doc.get("id") is None and "error" in doc:
                raise self._node_error(doc["error"], 200)  # refused before reading the id
            raise _Transport(MALFORMED, "reply does not answer the request", delivered=True)
        if "error" in doc and doc["error"] is not None:
            raise self._node_error(doc["error"], 200)
        if "result" not in doc:
            raise _Transport(MALFORMED, "reply has neither result nor error", delivered=True)
        return doc["result"]

    async def _roundtrip(
        self,
        body: bytes,
        ncalls: int,
        what: str,
        retries: int,
        read: bool,
        interpret: Callable[[int, Any], T],
        hashes: Sequence[TxHash] = (),
        attempts: _Attempts | None = None,
    ) -> T:
        """POST ``body`` with failover; retry transport failures; return ``interpret``'s value."""
        while True:
            now = time.monotonic()
            endpoint = self._pick(now)
            try:
                status, doc = await self._post(endpoint, body, ncalls)
                value = interpret(status, doc)
            except _Transport as failure:
                self._penalise(endpoint, failure, now)
                attempts = attempts or _Attempts()  # only failures pay for bookkeeping
                await self._before_retry(what, endpoint, failure, attempts, retries, read, hashes)
                continue
            except NodeError:
                endpoint.bad_until = 0.0  # it answered: the request, not the node, is at fault
                raise
            endpoint.bad_until = 0.0
            return value

    def _penalise(self, endpoint: _Endpoint, failure: _Transport, now: float) -> None:
        self.stats.errors_by_kind[failure.kind] += 1
        pause = failure.retry_after if failure.retry_after is not None else self.cooldown
        endpoint.bad_until = time.monotonic() + pause if pause > 0 else now

    async def _before_retry(
        self,
        what: str,
        endpoint: _Endpoint,
        failure: _Transport,
        attempts: _Attempts,
        retries: int,
        read: bool,
        hashes: Sequence[TxHash],
    ) -> None:
        """Sleep before the next attempt, or raise when no attempt is left."""
        attempts.failures += 1
        attempts.last = failure
        attempts.delivered = attempts.delivered or failure.delivered
        wait = self._backoff(attempts.used + 1)
        nxt = self._pick(time.monotonic())
        if nxt is not endpoint and nxt.bad_until <= time.monotonic():
            wait = 0.0  # a healthy endpoint is ready: fail over at once
        elif failure.retry_after is not None:
            wait = max(wait, failure.retry_after)
        give_up = (
            attempts.used >= retries
            or (not read and failure.delivered)
            or (failure.retry_after is not None and wait > self.retry_after_max)
        )
        if give_up:
            raise self._exhausted(what, endpoint, attempts, hashes)
        attempts.used += 1
        self.stats.retries += 1
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s to %s failed (%s: %s); retry %d/%d in %.3fs",
                what,
                endpoint.label,
                failure.kind,
                failure.detail,
                attempts.used,
                retries,
                wait,
            )
        if wait > 0:
            await self._sleep(wait)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": half fixed, half seeded-random."""
        ceiling = min(self.backoff_max, self.backoff_base * (1 << min(attempt - 1, 30)))
        return ceiling / 2 + self._rng.random() * ceiling / 2

    def _exhausted(
        self, what: str, endpoint: _Endpoint, attempts: _Attempts, hashes: Sequence[TxHash]
    ) -> RpcTransientError:
        last = attempts.last
        assert last is not None
        message = (
            f"{what} failed after {attempts.failures} attempt(s); last: {last.kind} from "
            f"{endpoint.label}: {last.detail}"
        )
        if hashes and attempts.delivered:
            return BroadcastUnknown(message, hashes)
        if last.kind == RATE_LIMITED:
            return RateLimited(message, last.retry_after)
        return RpcTransientError(message)

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
        attempts = _Attempts()
        what = f"batch of {n} ({calls[0][0]}…)"
        while True:
            first = self._ids(len(pending))
            body = b"".join(
                (
                    b"[",
                    b",".join(
                        _request_bytes(first + k, calls[i][0], calls[i][1])
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
                self._batch_replies,
                hashes,
                attempts,
            )
            again: list[int] = []
            transient: _Transport | None = None
            for k, i in enumerate(pending):
                reply = replies.get(first + k)
                try:
                    if reply is None:
                        raise _Transport(MALFORMED, "no reply for this item", delivered=True)
                    error = reply.get("error")
                    if error is not None:
                        out[i] = self._node_error(error, 200)
                    elif "result" in reply:
                        out[i] = reply["result"]
                    else:
                        raise _Transport(
                            MALFORMED, "item has neither result nor error", delivered=True
                        )
                except _Transport as failure:
                    self.stats.errors_by_kind[failure.kind] += 1
                    transient = failure
                    again.append(i)
            if not again:
                return out
            assert transient is not None
            pending = again
            endpoint = self._pick(time.monotonic())
            item_hashes = [hashes[i] for i in again] if hashes else ()
            try:
                await self._before_retry(
                    what, endpoint, transient, attempts, retries, read, item_hashes
                )
            except RpcTransientError as exc:
                for i in again:
                    out[i] = exc
                return out

    def _batch_replies(self, status: int, doc: Any) -> dict[Any, dict[str, Any]]:
        if isinstance(doc, dict):
            # The whole batch was refused (too large, rate limited, unparsable...).
            if "error" in doc:
                raise self._node_error(doc["error"], status)
            raise _Transport(MALFORMED, "batch reply is not a list", delivered=True)
        if not isinstance(doc, list):
            raise _Transport(MALFORMED, "batch reply is not a list", delivered=True)
        return {item.get("id"): item for item in doc if isinstance(item, dict)}


def _request_bytes(rid: int, method: str, params: Sequence[Any] | None) -> bytes:
    # Compact separators, no dict per call: the request is a short formatted string.
    if not params:
        args = "[]"
    else:
        args = _dumps(params if isinstance(params, list | tuple) else list(params))
    return f'{{"jsonrpc":"2.0","id":{rid},"method":{_dumps(method)},"params":{args}}}'.encode()


def _is_rpc_reply(doc: Any) -> bool:
    if isinstance(doc, list):
        return all(isinstance(item, dict) and "jsonrpc" in item for item in doc) and bool(doc)
    return isinstance(doc, dict) and "jsonrpc" in doc and ("result" in doc or "error" in doc)


def _is_rpc_error(doc: Any) -> bool:
    """A JSON-RPC error whose message names a request problem (a 5xx that is really a 200)."""
    if isinstance(doc, list):
        return _is_rpc_reply(doc)
    if not (isinstance(doc, dict) and isinstance(doc.get("error"), dict)):
        return False
    message = doc["error"].get("message")
    return isinstance(message, str) and classify(message) is not NodeErrorKind.UNKNOWN


def _check_hash(result: Any, expected: TxHash) -> TxHash:
    try:
        got = TxHash(result)
    except InvalidIdentifier:
        raise RpcPermanentError(f"node answered a send with {result!r}, not a hash") from None
    if got != expected:
        raise RpcPermanentError(f"node returned hash {got} for a transaction hashing to {expected}")
    return got


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
