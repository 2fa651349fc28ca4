"""The transport over any Solana JSON-RPC endpoint, through solana-py's ``AsyncClient``.

Sends go out with ``skipPreflight`` (the operator has just simulated) and
``maxRetries=0`` (the node must not re-send on its own schedule: ours re-sends
the same bytes and knows when to stop). Reads are retried with a short backoff
on transport errors; a send is never retried here (the monitor's schedule is
the only retry, so a send cannot multiply).

Errors the runtime reports (``err``) come back in their JSON form, identical to
the in-process transport's, by reading the parsed responses' own JSON.

The hot path (simulations and sends made during one event-loop turn, signature
statuses, block height) goes out as plain JSON-RPC, simulations and sends as one
batch array per turn: 500 concurrent transfers cost a handful of HTTP requests,
not a thousand. A node that answers a batch with anything but an array gets
single calls from then on (through ``AsyncClient``, like every other method).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import httpx2
from solana.exceptions import SolanaRpcException
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed, Finalized, Processed
from solana.rpc.core import RPCException
from solana.rpc.models import TxOpts
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from chainops.config.networks import mask_url
from chainops.core.errors import (
    ConfigurationError,
    RpcError,
    RpcPermanentError,
    RpcTransientError,
)
from chainops.operators.solana.transport import (
    AccountData,
    Blockhash,
    CommitmentLevel,
    LandedDetails,
    SignatureStatus,
    Simulation,
    SolanaTransport,
)
from chainops.operators.turnqueue import TurnQueue

__all__ = ["RpcTransport"]

T = TypeVar("T")
_COMMITMENTS = {"processed": Processed, "confirmed": Confirmed, "finalized": Finalized}
_SEND_OPTS = TxOpts(skip_preflight=True, skip_confirmation=True, max_retries=0)
READ_ATTEMPTS = 3  # a read that fails three times in ~0.35 s is a real outage, not a blip
# Public RPC providers cap batch arrays (often at 100-250 calls); 100 stays under all we know.
BATCH_SIZE = 100
_SIMULATE_CONFIG = {
    "encoding": "base64",
    "sigVerify": False,
    "commitment": "processed",
    "replaceRecentBlockhash": False,
}
_SEND_CONFIG = {"encoding": "base64", "skipPreflight": True, "maxRetries": 0}
_TRANSPORT_ERRORS = (httpx2.HTTPError, OSError, ValueError)


def _message(exc: RPCException) -> str:
    arg = exc.args[0] if exc.args else exc
    text = getattr(arg, "message", None)
    return str(text if text is not None else arg)


def _value(resp: Any) -> Any:
    """The ``result.value`` (or ``result``) of a parsed response, as plain JSON."""
    result = json.loads(resp.to_json())["result"]
    return result["value"] if isinstance(result, dict) and "value" in result else result


class RpcTransport(SolanaTransport):
    """A :class:`SolanaTransport` over solana-py's ``AsyncClient``."""

    name = "rpc"

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        client: AsyncClient | None = None,
        batch_size: int = BATCH_SIZE,
    ):
        self.url = url
        self.where = mask_url(url)  # for messages: an API key in the URL is never shown
        # http2 off: plain-HTTP nodes (and our loopback server) speak HTTP/1.1.
        self.client = client or AsyncClient(url, timeout=timeout, http2=False)
        self._http = httpx2.AsyncClient(timeout=timeout, http2=False)
        self.batching = batch_size > 1
        size = max(1, batch_size)
        self._simulations = TurnQueue(self._simulate_batch, size)
        self._sends = TurnQueue(self._send_batch, size)
        self._ids = itertools.count(1)
        self.http_requests = 0
        self._closed = False

    # -- plain JSON-RPC for the hot path ------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:  # else httpx's RuntimeError, untyped
            raise ConfigurationError(f"{self.where}: this transport is closed (so is its operator)")

    async def _post(self, body: Any) -> Any:
        self._check_open()
        self.http_requests += 1
        reply = await self._http.post(
            self.url, content=json.dumps(body), headers={"Content-Type": "application/json"}
        )
        if reply.status_code == 429 or reply.status_code >= 500:
            raise RpcTransientError(f"{self.where}: HTTP {reply.status_code}")
        return json.loads(reply.content)

    async def _batch(self, method: str, params: list[list[Any]]) -> list[Any]:
        """One batch array; one result or :class:`RpcError` per call, in order."""
        first = next(self._ids)
        self._ids = itertools.count(first + len(params))
        body = [
            {"jsonrpc": "2.0", "id": first + i, "method": method, "params": p}
            for i, p in enumerate(params)
        ]
        reply = await self._post(body)
        if not isinstance(reply, list):
            self.batching = False  # this node does not take batches: single calls from now on
            raise _NoBatch
        by_id = {item.get("id"): item for item in reply if isinstance(item, dict)}
        out: list[Any] = []
        for i in range(len(params)):
            item = by_id.get(first + i)
            if item is None:
                out.append(RpcTransientError(f"{self.where}: no reply to a batched {method}"))
            elif "error" in item:
                out.append(RpcPermanentError(f"{self.where}: {_error_text(item['error'])}"))
            else:
                out.append(item.get("result"))
        return out

    def _transient(self, exc: Exception) -> RpcTransientError:
        """A failure to reach the node, said once with the (masked) endpoint."""
        if isinstance(exc, RpcTransientError):
            return exc
        return RpcTransientError(f"{self.where}: {_failure(exc)}")

    async def _call(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC read, retried like every read."""
        delay = 0.05
        for attempt in range(READ_ATTEMPTS):
            try:
                reply = await self._post(
                    {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
                )
            except (RpcTransientError, *_TRANSPORT_ERRORS) as exc:
                if attempt == READ_ATTEMPTS - 1:
                    raise self._transient(exc) from None
                await asyncio.sleep(delay)
                delay *= 3
                continue
            if not isinstance(reply, dict):
                raise RpcPermanentError(f"{self.where}: malformed reply to {method}")
            if "error" in reply:
                raise RpcPermanentError(f"{self.where}: {_error_text(reply['error'])}")
            return reply.get("result")
        raise AssertionError("unreachable")

    async def _simulate_batch(self, raws: list[bytes]) -> list[Any]:
        params = [[base64.b64encode(raw).decode(), _SIMULATE_CONFIG] for raw in raws]
        delay = 0.05
        for attempt in range(READ_ATTEMPTS):
            try:
                results = await self._batch("simulateTransaction", params)
            except _NoBatch:
                return [await _outcome(self._simulate_one(raw)) for raw in raws]
            except (RpcTransientError, *_TRANSPORT_ERRORS) as exc:
                if attempt == READ_ATTEMPTS - 1:
                    return [self._transient(exc)] * len(raws)
                await asyncio.sleep(delay)
                delay *= 3
                continue
            return [r if isinstance(r, RpcError) else _simulation(r) for r in results]
        raise AssertionError("unreachable")

    async def _send_batch(self, raws: list[bytes]) -> list[Any]:
        params = [[base64.b64encode(raw).decode(), _SEND_CONFIG] for raw in raws]
        try:
            results = await self._batch("sendTransaction", params)
        except _NoBatch:
            return [await _outcome(self._send_one(raw)) for raw in raws]
        except RpcTransientError as exc:  # never retried here: the monitor re-sends
            return [exc] * len(raws)
        except _TRANSPORT_ERRORS as exc:
            return [self._transient(exc)] * len(raws)
        return [r if isinstance(r, RpcError) else None for r in results]

    async def _read(self, call: Callable[[], Awaitable[T]]) -> T:
        self._check_open()
        delay = 0.05
        for attempt in range(READ_ATTEMPTS):
            try:
                return await call()
            except RPCException as exc:
                raise RpcPermanentError(f"{self.where}: {_message(exc)}") from None
            except (SolanaRpcException, httpx2.HTTPError, OSError) as exc:
                if attempt == READ_ATTEMPTS - 1:
                    raise RpcTransientError(f"{self.where}: {_failure(exc)}") from None
                await asyncio.sleep(delay)
                delay *= 3
        raise AssertionError("unreachable")

    async def genesis_hash(self) -> str | None:
        resp = await self._read(self.client.get_genesis_hash)
        return str(resp.value)

    async def latest_blockhash(self) -> Blockhash:
        resp = await self._read(lambda: self.client.get_latest_blockhash(Confirmed))
        return Blockhash(str(resp.value.blockhash), resp.value.last_valid_block_height)

    async def block_height(self, commitment: CommitmentLevel = "confirmed") -> int:
        return int(await self._call("getBlockHeight", [{"commitment": commitment}]))

    async def simulate(self, raw: bytes) -> Simulation:
        if self.batching:
            result: Simulation = await self._simulations.put(raw)
            return result
        return await self._simulate_one(raw)

    async def _simulate_one(self, raw: bytes) -> Simulation:
        tx = VersionedTransaction.from_bytes(raw)
        resp = await self._read(
            lambda: self.client.simulate_transaction(tx, sig_verify=False, commitment=Processed)
        )
        return _simulation(json.loads(resp.to_json())["result"])

    async def send_raw(self, raw: bytes) -> None:
        if self.batching:
            await self._sends.put(raw)
        else:
            await self._send_one(raw)

    async def _send_one(self, raw: bytes) -> None:
        try:
            await self.client.send_raw_transaction(raw, opts=_SEND_OPTS)
        except RPCException as exc:
            raise RpcPermanentError(f"{self.where}: {_message(exc)}") from None
        except (SolanaRpcException, httpx2.HTTPError, OSError) as exc:
            raise RpcTransientError(f"{self.where}: {_failure(exc)}") from None

    async def signature_statuses(self, signatures: Sequence[str]) -> list[SignatureStatus | None]:
        result = await self._call("getSignatureStatuses", [list(signatures)])
        out: list[SignatureStatus | None] = []
        for item in result["value"]:
            if item is None:
                out.append(None)
                continue
            level: CommitmentLevel = item.get("confirmationStatus") or (
                "finalized" if item.get("confirmations") is None else "processed"
            )
            out.append(SignatureStatus(item["slot"], item.get("confirmations"), item["err"], level))
        return out

    async def landed_details(self, signature: str) -> LandedDetails | None:
        sig = Signature.from_string(signature)
        resp = await self._read(
            lambda: self.client.get_transaction(
                sig, encoding="base64", commitment=Confirmed, max_supported_transaction_version=0
            )
        )
        value = _value(resp)
        if value is None:
            return None
        meta = value.get("meta") or {}
        return LandedDetails(
            value["slot"],
            meta.get("err"),
            int(meta.get("fee") or 0),
            tuple(meta.get("logMessages") or ()),
            meta.get("computeUnitsConsumed"),
        )

    async def balance(self, pubkey: str) -> int:
        key = Pubkey.from_string(pubkey)
        resp = await self._read(lambda: self.client.get_balance(key, Processed))
        return int(resp.value)

    async def account(self, pubkey: str) -> AccountData | None:
        key = Pubkey.from_string(pubkey)
        resp = await self._read(
            lambda: self.client.get_account_info(key, Processed, encoding="base64")
        )
        found = resp.value
        if found is None:
            return None
        return AccountData(found.lamports, str(found.owner), bytes(found.data), found.executable)

    async def token_balance(self, token_account: str) -> int | None:
        key = Pubkey.from_string(token_account)
        try:
            resp = await self._read(lambda: self.client.get_token_account_balance(key, Processed))
        except RpcPermanentError as exc:
            if "could not find" in str(exc) or "not a Token account" in str(exc):
                return None
            raise
        return int(resp.value.amount)

    async def prioritization_fees(self, accounts: Sequence[str]) -> list[int]:
        keys = [Pubkey.from_string(a) for a in accounts]
        resp = await self._read(lambda: self.client.get_recent_prioritization_fees(keys))
        return [int(item.prioritization_fee) for item in resp.value]

    async def airdrop(self, pubkey: str, lamports: int) -> str:
        key = Pubkey.from_string(pubkey)
        resp = await self._read(lambda: self.client.request_airdrop(key, lamports, Confirmed))
        return str(resp.value)

    async def minimum_balance_for_rent_exemption(self, size: int) -> int:
        resp = await self._read(lambda: self.client.get_minimum_balance_for_rent_exemption(size))
        return int(resp.value)

    async def close(self) -> None:
        await self._simulations.drain()
        await self._sends.drain()  # queued before the close: they go out first
        self._closed = True
        await self._http.aclose()
        await self.client.close()


class _NoBatch(Exception):
    """The node answered a batch array with something else."""


def _failure(exc: BaseException) -> str:
    """A transport failure in words: solana-py wraps the HTTP client's error in a class name."""
    cause = exc.__cause__ if isinstance(exc, SolanaRpcException) else None
    found = cause if cause is not None else exc
    text = str(found)
    return f"{type(found).__name__}: {text}" if text else type(found).__name__


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message", error))
    return str(error)


def _simulation(result: Any) -> Simulation:
    value = result["value"] if isinstance(result, dict) and "value" in result else result
    return Simulation(value.get("err"), tuple(value.get("logs") or ()), value.get("unitsConsumed"))


async def _outcome(call: Awaitable[Any]) -> Any:
    """The result of ``call``, or the RpcError it raised (one batch item's answer)."""
    try:
        return await call
    except RpcError as exc:
        return exc
