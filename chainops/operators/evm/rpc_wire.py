"""The JSON-RPC 2.0 wire format: request bytes, reply shapes, error objects typed.

A JSON-RPC error about the request itself becomes the classified
:class:`~.node_errors.NodeError`; one that blames the server (internal error,
limit exceeded, rate limited) is a :class:`TransportFailure`, retried by the client.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any, Final

import msgspec

from chainops.core.errors import InvalidIdentifier, RpcPermanentError
from chainops.core.ids import TxHash
from chainops.operators.evm.node_errors import NodeError, NodeErrorKind, classify, node_error
from chainops.operators.evm.rpc_endpoints import (
    INTERNAL,
    MALFORMED,
    RATE_LIMITED,
    TransportFailure,
)

dumps: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
# Ten times the stdlib's speed for text parameters (identifiers, str subclasses, as text).
_encode: Final = msgspec.json.Encoder(enc_hook=str).encode

# JSON-RPC codes that say "the server is struggling", not "your request is wrong".
_INTERNAL_ERROR = -32603
_LIMIT_EXCEEDED = -32005  # EIP-1474; hosted providers use it for rate limits
_RATE_LIMIT_WORDS = ("rate limit", "too many requests", "limit exceeded", "exceeded its")


def typed_error(error: Any, status: int, counts: Counter[str]) -> NodeError:
    """Type a JSON-RPC error object; raise TransportFailure when it blames the server."""
    if not isinstance(error, dict):
        raise TransportFailure(MALFORMED, "error member is not an object", delivered=True)
    code = error.get("code")
    code = code if isinstance(code, int) else None
    message = error.get("message")
    message = message if isinstance(message, str) else ""
    kind = classify(message, code)
    if kind is NodeErrorKind.UNKNOWN:
        lowered = message.lower()
        if code == _LIMIT_EXCEEDED or code == 429 or any(w in lowered for w in _RATE_LIMIT_WORDS):
            raise TransportFailure(RATE_LIMITED, f"{message} ({code})", delivered=True)
        if code == _INTERNAL_ERROR or status >= 500:
            raise TransportFailure(INTERNAL, f"{message} ({code})", delivered=True)
    counts[kind.value] += 1
    return node_error(code, message, error.get("data"))


def single_result(rid: int, doc: Any, counts: Counter[str]) -> Any:
    """The ``result`` of a reply to request ``rid``; a NodeError for an error reply."""
    if not isinstance(doc, dict) or doc.get("id") != rid:
        if isinstance(doc, dict) and doc.get("id") is None and "error" in doc:
            raise typed_error(doc["error"], 200, counts)  # refused before reading the id
        raise TransportFailure(MALFORMED, "reply does not answer the request", delivered=True)
    if "error" in doc and doc["error"] is not None:
        raise typed_error(doc["error"], 200, counts)
    if "result" not in doc:
        raise TransportFailure(MALFORMED, "reply has neither result nor error", delivered=True)
    return doc["result"]


def batch_replies(status: int, doc: Any, counts: Counter[str]) -> dict[Any, dict[str, Any]]:
    """A batch reply's items by id; a refusal of the whole batch raises."""
    if isinstance(doc, dict):
        # The whole batch was refused (too large, rate limited, unparsable...).
        if "error" in doc:
            raise typed_error(doc["error"], status, counts)
        raise TransportFailure(MALFORMED, "batch reply is not a list", delivered=True)
    if not isinstance(doc, list):
        raise TransportFailure(MALFORMED, "batch reply is not a list", delivered=True)
    return {item.get("id"): item for item in doc if isinstance(item, dict)}


def request_bytes(rid: int, method: str, params: Sequence[Any] | None) -> bytes:
    """One JSON-RPC request, compact: a short formatted string, no dict per call."""
    if not params:
        args = b"[]"
    else:
        listed = params if isinstance(params, list | tuple) else list(params)
        # Text parameters (hashes, raw transactions, addresses: the hot paths) go through
        # msgspec; anything else through json, which refuses what it cannot write (bytes,
        # Decimal) before anything is sent, where msgspec would write them its own way.
        if all(isinstance(param, str) for param in listed):
            args = _encode(listed)
        else:
            args = dumps(listed).encode()
    return b'{"jsonrpc":"2.0","id":%d,"method":%b,"params":%b}' % (rid, _encode(method), args)


def is_rpc_reply(doc: Any) -> bool:
    if isinstance(doc, list):
        return all(isinstance(item, dict) and "jsonrpc" in item for item in doc) and bool(doc)
    return isinstance(doc, dict) and "jsonrpc" in doc and ("result" in doc or "error" in doc)


def is_rpc_error(doc: Any) -> bool:
    """A JSON-RPC error whose message names a request problem (a 5xx that is really a 200)."""
    if isinstance(doc, list):
        return is_rpc_reply(doc)
    if not (isinstance(doc, dict) and isinstance(doc.get("error"), dict)):
        return False
    message = doc["error"].get("message")
    return isinstance(message, str) and classify(message) is not NodeErrorKind.UNKNOWN


def check_hash(result: Any, expected: TxHash) -> TxHash:
    """The node's answer to a send, which must be the hash the bytes hash to."""
    if result == expected:  # the usual answer, in the same lower-case text: nothing to parse
        return expected
    try:
        got = TxHash(result)
    except InvalidIdentifier:
        raise RpcPermanentError(f"node answered a send with {result!r}, not a hash") from None
    if got != expected:
        raise RpcPermanentError(f"node returned hash {got} for a transaction hashing to {expected}")
    return got


def describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
