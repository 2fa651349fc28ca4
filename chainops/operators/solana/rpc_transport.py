"""The transport over any Solana JSON-RPC endpoint, through solana-py's ``AsyncClient``.

Sends go out with ``skipPreflight`` (the operator has just simulated) and
``maxRetries=0`` (the node must not re-send on its own schedule: ours re-sends
the same bytes and knows when to stop). Reads are retried with a short backoff
on transport errors; a send is never retried here (the monitor's schedule is
the only retry, so a send cannot multiply).

Errors the runtime reports (``err``) come back in their JSON form, identical to
the in-process transport's, by reading the parsed responses' own JSON.
"""

from __future__ import annotations

import asyncio
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

from chainops.core.errors import RpcPermanentError, RpcTransientError
from chainops.operators.solana.transport import (
    AccountData,
    Blockhash,
    CommitmentLevel,
    LandedDetails,
    SignatureStatus,
    Simulation,
    SolanaTransport,
)

__all__ = ["RpcTransport"]

T = TypeVar("T")
_COMMITMENTS = {"processed": Processed, "confirmed": Confirmed, "finalized": Finalized}
_SEND_OPTS = TxOpts(skip_preflight=True, skip_confirmation=True, max_retries=0)
READ_ATTEMPTS = 3  # a read that fails three times in ~0.35 s is a real outage, not a blip


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

    def __init__(self, url: str, *, timeout: float = 10.0, client: AsyncClient | None = None):
        self.url = url
        # http2 off: plain-HTTP nodes (and our loopback server) speak HTTP/1.1.
        self.client = client or AsyncClient(url, timeout=timeout, http2=False)

    async def _read(self, call: Callable[[], Awaitable[T]]) -> T:
        delay = 0.05
        for attempt in range(READ_ATTEMPTS):
            try:
                return await call()
            except RPCException as exc:
                raise RpcPermanentError(f"{self.url}: {_message(exc)}") from None
            except (SolanaRpcException, httpx2.HTTPError, OSError) as exc:
                if attempt == READ_ATTEMPTS - 1:
                    raise RpcTransientError(f"{self.url}: {exc}") from None
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
        level = _COMMITMENTS[commitment]
        resp = await self._read(lambda: self.client.get_block_height(level))
        return int(resp.value)

    async def simulate(self, raw: bytes) -> Simulation:
        tx = VersionedTransaction.from_bytes(raw)
        resp = await self._read(
            lambda: self.client.simulate_transaction(tx, sig_verify=False, commitment=Processed)
        )
        value = _value(resp)
        return Simulation(
            value.get("err"), tuple(value.get("logs") or ()), value.get("unitsConsumed")
        )

    async def send_raw(self, raw: bytes) -> None:
        try:
            await self.client.send_raw_transaction(raw, opts=_SEND_OPTS)
        except RPCException as exc:
            raise RpcPermanentError(f"{self.url}: {_message(exc)}") from None
        except (SolanaRpcException, httpx2.HTTPError, OSError) as exc:
            raise RpcTransientError(f"{self.url}: {exc}") from None

    async def signature_statuses(self, signatures: Sequence[str]) -> list[SignatureStatus | None]:
        sigs = [Signature.from_string(s) for s in signatures]
        resp = await self._read(lambda: self.client.get_signature_statuses(sigs))
        out: list[SignatureStatus | None] = []
        for item in _value(resp):
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
        await self.client.close()
