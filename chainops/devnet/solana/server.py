"""A loopback Solana JSON-RPC server backed by :class:`LocalChain` (LiteSVM with slots).

It speaks the methods the RPC transport (solana-py's ``AsyncClient``) uses, in
the cluster's own JSON shapes: ``getLatestBlockhash`` (with
``lastValidBlockHeight``), ``sendTransaction`` (preflight on or off),
``simulateTransaction``, ``getSignatureStatuses``, ``getTransaction``,
``getBalance``, ``getAccountInfo``, ``getTokenAccountBalance``,
``requestAirdrop``, ``getRecentPrioritizationFees``, ``getBlockHeight``,
``getSlot``, ``getGenesisHash``, ``getMinimumBalanceForRentExemption``,
``getVersion``, ``getHealth``; plus two fault switches, also reachable from
Python on ``server.chain``:

* ``chainops_dropNext [count]``: the next ``count`` transactions are accepted
  and silently lost (as a leader may lose them);
* ``chainops_advanceBlocks [n]``: produce ``n`` blocks now (expire blockhashes,
  reach finality) without waiting ``n`` slot times.

Run it in the current event loop (``await server.start()``) or in a thread of
its own (``SolanaRpcServer(...).start_in_thread()``), which is what the CLI and
the pytest fixture do.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

from aiohttp import web
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from chainops.core.assets import from_raw
from chainops.core.errors import DevnetError
from chainops.core.ids import b58decode, b58encode
from chainops.devnet.solana.localchain import Commitment, LocalChain, SendOutcome
from chainops.operators.solana.messages import rebuild_with_blockhash
from chainops.operators.solana.spl import parse_mint, parse_token_account

__all__ = ["RpcFault", "SolanaRpcServer"]

API_VERSION = "2.2.0"
_U64_MAX = 2**64 - 1  # rentEpoch of rent-exempt accounts


class RpcFault(Exception):
    """A JSON-RPC error reply."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


Handler = Callable[[list[Any]], Awaitable[Any]]


def _config(params: list[Any], index: int) -> dict[str, Any]:
    value = params[index] if len(params) > index else None
    return value if isinstance(value, dict) else {}


def _pubkey(value: Any) -> str:
    try:
        return str(Pubkey.from_string(value))
    except (ValueError, TypeError):
        raise RpcFault(-32602, f"Invalid param: Invalid pubkey {value!r}") from None


def _decode_tx(params: list[Any]) -> bytes:
    if not params or not isinstance(params[0], str):
        raise RpcFault(-32602, "Invalid params: missing transaction")
    encoding = _config(params, 1).get("encoding", "base58")
    try:
        if encoding == "base64":
            raw = base64.b64decode(params[0], validate=True)
        elif encoding == "base58":
            raw = b58decode(params[0])
        else:
            raise RpcFault(-32602, f"Invalid params: unsupported encoding {encoding}")
        VersionedTransaction.from_bytes(raw)
    except RpcFault:
        raise
    except Exception:
        raise RpcFault(-32602, "Invalid params: failed to deserialize transaction") from None
    return raw


class SolanaRpcServer:
    """JSON-RPC over HTTP on loopback, in front of one :class:`LocalChain`."""

    def __init__(
        self,
        chain: LocalChain | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        slot_time: float | None = 0.4,
    ) -> None:
        self.chain = chain if chain is not None else LocalChain(slot_time=slot_time)
        self.host, self.port = host, port
        self.requests: dict[str, int] = {}  # calls per method (tests count round trips)
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._methods: dict[str, Handler] = {
            "getHealth": self._health,
            "getVersion": self._version,
            "getGenesisHash": self._genesis_hash,
            "getSlot": self._slot,
            "getBlockHeight": self._block_height,
            "getLatestBlockhash": self._latest_blockhash,
            "isBlockhashValid": self._is_blockhash_valid,
            "sendTransaction": self._send_transaction,
            "simulateTransaction": self._simulate_transaction,
            "getSignatureStatuses": self._signature_statuses,
            "getTransaction": self._get_transaction,
            "getBalance": self._balance,
            "getAccountInfo": self._account_info,
            "getTokenAccountBalance": self._token_account_balance,
            "requestAirdrop": self._airdrop,
            "getRecentPrioritizationFees": self._prioritization_fees,
            "getMinimumBalanceForRentExemption": self._rent_exemption,
            "chainops_dropNext": self._drop_next,
            "chainops_advanceBlocks": self._advance_blocks,
        }

    # -- lifecycle ---------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> Self:
        """Serve from the running event loop."""
        app = web.Application(client_max_size=16 * 2**20)
        app.router.add_post("/", self._http)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start_in_thread(self) -> Self:
        """Serve from an event loop in a daemon thread; returns once the port is bound."""
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
            reply: Any = self._error(None, -32700, "Parse error")
        else:
            if isinstance(body, list):
                reply = (
                    [await self._one(item) for item in body]
                    if body
                    else self._error(None, -32600, "Invalid request")
                )
            else:
                reply = await self._one(body)
        return web.Response(text=json.dumps(reply), content_type="application/json")

    @staticmethod
    def _error(ident: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
        error: dict[str, Any] = {"code": code, "message": message}
        if data is not None:
            error["data"] = data
        return {"jsonrpc": "2.0", "error": error, "id": ident}

    async def _one(self, call: Any) -> dict[str, Any]:
        if not isinstance(call, dict) or not isinstance(call.get("method"), str):
            return self._error(None, -32600, "Invalid request")
        ident = call.get("id")
        method = call["method"]
        handler = self._methods.get(method)
        if handler is None:
            return self._error(ident, -32601, "Method not found")
        self.requests[method] = self.requests.get(method, 0) + 1
        params = call.get("params") or []
        if not isinstance(params, list):
            return self._error(ident, -32602, "Invalid params")
        try:
            result = await handler(params)
        except RpcFault as fault:
            return self._error(ident, fault.code, fault.message, fault.data)
        except Exception as exc:  # a server bug must still answer in JSON-RPC
            return self._error(ident, -32603, f"Internal error: {exc}")
        return {"jsonrpc": "2.0", "result": result, "id": ident}

    def _context(self) -> dict[str, Any]:
        return {"slot": self.chain.slot, "apiVersion": API_VERSION}

    def _with_context(self, value: Any) -> dict[str, Any]:
        return {"context": self._context(), "value": value}

    # -- methods -----------------------------------------------------------

    async def _health(self, params: list[Any]) -> Any:
        return "ok"

    async def _version(self, params: list[Any]) -> Any:
        return {"solana-core": f"{API_VERSION}-chainops-litesvm", "feature-set": 0}

    async def _genesis_hash(self, params: list[Any]) -> Any:
        return self.chain.genesis_hash

    def _commitment(self, params: list[Any], index: int) -> Commitment:
        value = _config(params, index).get("commitment", "finalized")
        try:
            return Commitment(value)
        except ValueError:
            raise RpcFault(-32602, f"Invalid params: unknown commitment {value!r}") from None

    async def _slot(self, params: list[Any]) -> Any:
        return self.chain.block_height(self._commitment(params, 0))

    async def _block_height(self, params: list[Any]) -> Any:
        return self.chain.block_height(self._commitment(params, 0))

    async def _latest_blockhash(self, params: list[Any]) -> Any:
        blockhash, last_valid = self.chain.latest_blockhash()
        return self._with_context({"blockhash": blockhash, "lastValidBlockHeight": last_valid})

    async def _is_blockhash_valid(self, params: list[Any]) -> Any:
        return self._with_context(bool(params) and self.chain.blockhash_valid(str(params[0])))

    async def _send_transaction(self, params: list[Any]) -> Any:
        raw = _decode_tx(params)
        config = _config(params, 1)
        if not config.get("skipPreflight", False):
            result = self.chain.simulate(raw, sig_verify=True)
            if result.err is not None:
                raise RpcFault(
                    -32002,
                    f"Transaction simulation failed: {result.err}",
                    {
                        "err": result.err,
                        "logs": list(result.logs),
                        "accounts": None,
                        "unitsConsumed": result.units_consumed,
                        "returnData": None,
                    },
                )
        signature, outcome = self.chain.send(raw)
        if outcome is SendOutcome.REJECTED:
            raise RpcFault(-32003, "Transaction signature verification failure")
        return signature

    async def _simulate_transaction(self, params: list[Any]) -> Any:
        raw = _decode_tx(params)
        config = _config(params, 1)
        sig_verify = bool(config.get("sigVerify", False))
        replacement = None
        if config.get("replaceRecentBlockhash"):
            if sig_verify:
                raise RpcFault(-32602, "sigVerify may not be used with replaceRecentBlockhash")
            blockhash, last_valid = self.chain.latest_blockhash()
            message = rebuild_with_blockhash(raw, blockhash)
            count = raw[0]
            raw = raw[: 1 + 64 * count] + bytes(message)
            replacement = {"blockhash": blockhash, "lastValidBlockHeight": last_valid}
        result = self.chain.simulate(raw, sig_verify=sig_verify)
        return self._with_context(
            {
                "err": result.err,
                "logs": list(result.logs),
                "accounts": None,
                "unitsConsumed": result.units_consumed,
                "returnData": None,
                "innerInstructions": None,
                "replacementBlockhash": replacement,
            }
        )

    async def _signature_statuses(self, params: list[Any]) -> Any:
        if not params or not isinstance(params[0], list):
            raise RpcFault(-32602, "Invalid params: expected a list of signatures")
        if len(params[0]) > 256:
            raise RpcFault(-32602, "Too many inputs provided; max 256")
        out: list[Any] = []
        for view in self.chain.statuses([str(s) for s in params[0]]):
            if view is None:
                out.append(None)
                continue
            out.append(
                {
                    "slot": view.slot,
                    "confirmations": view.confirmations,
                    "err": view.err,
                    "status": {"Ok": None} if view.err is None else {"Err": view.err},
                    "confirmationStatus": view.commitment.value,
                }
            )
        return self._with_context(out)

    async def _get_transaction(self, params: list[Any]) -> Any:
        if not params:
            raise RpcFault(-32602, "Invalid params: missing signature")
        landed = self.chain.transaction(str(params[0]))
        if landed is None or not landed.raw:
            return None
        level = self._commitment(params, 1)
        view = self.chain.status(landed.signature)
        if level is Commitment.PROCESSED:
            raise RpcFault(-32602, "Invalid params: processed commitment is not supported")
        if view is None or (level is Commitment.FINALIZED and view.commitment != "finalized"):
            return None
        if level is Commitment.CONFIRMED and view.commitment == "processed":
            return None
        tx = VersionedTransaction.from_bytes(landed.raw)
        keys = len(tx.message.account_keys)
        return {
            "slot": landed.slot,
            "blockTime": None,
            "version": "legacy",
            "transaction": [base64.b64encode(landed.raw).decode(), "base64"],
            "meta": {
                "err": landed.err,
                "status": {"Ok": None} if landed.err is None else {"Err": landed.err},
                "fee": landed.fee,
                "preBalances": [0] * keys,
                "postBalances": [0] * keys,
                "innerInstructions": [],
                "logMessages": list(landed.logs),
                "preTokenBalances": [],
                "postTokenBalances": [],
                "rewards": [],
                "loadedAddresses": {"writable": [], "readonly": []},
                "computeUnitsConsumed": landed.units_consumed,
            },
        }

    async def _balance(self, params: list[Any]) -> Any:
        if not params:
            raise RpcFault(-32602, "Invalid params: missing pubkey")
        return self._with_context(self.chain.balance(_pubkey(params[0])))

    async def _account_info(self, params: list[Any]) -> Any:
        if not params:
            raise RpcFault(-32602, "Invalid params: missing pubkey")
        encoding = _config(params, 1).get("encoding", "base58")
        account = self.chain.account(_pubkey(params[0]))
        if account is None:
            return self._with_context(None)
        data = bytes(account.data)
        if encoding == "base64":
            encoded: Any = [base64.b64encode(data).decode(), "base64"]
        elif encoding in ("base58", "binary"):
            encoded = [b58encode(data), "base58"] if encoding == "base58" else b58encode(data)
        else:
            raise RpcFault(-32602, f"Invalid params: unsupported encoding {encoding}")
        return self._with_context(
            {
                "data": encoded,
                "executable": account.executable,
                "lamports": account.lamports,
                "owner": str(account.owner),
                "rentEpoch": _U64_MAX,
                "space": len(data),
            }
        )

    async def _token_account_balance(self, params: list[Any]) -> Any:
        if not params:
            raise RpcFault(-32602, "Invalid params: missing pubkey")
        key = _pubkey(params[0])
        account = self.chain.account(key)
        info = None
        if account is not None:
            info = parse_token_account(Pubkey.from_string(key), account.owner, bytes(account.data))
        if info is None:
            raise RpcFault(-32602, "Invalid param: could not find account")
        mint_account = self.chain.account(str(info.mint))
        mint = None
        if mint_account is not None:
            mint = parse_mint(info.mint, mint_account.owner, bytes(mint_account.data))
        if mint is None:
            raise RpcFault(-32602, "Invalid param: could not find mint")
        amount = info.amount
        text = str(from_raw(amount, mint.decimals))
        return self._with_context(
            {
                "amount": str(amount),
                "decimals": mint.decimals,
                "uiAmount": float(text),  # the API's (lossy) float, from the exact text
                "uiAmountString": text,
            }
        )

    async def _airdrop(self, params: list[Any]) -> Any:
        if len(params) < 2 or not isinstance(params[1], int) or params[1] <= 0:
            raise RpcFault(-32602, "Invalid params: expected pubkey and lamports")
        try:
            return self.chain.airdrop(_pubkey(params[0]), params[1])
        except ValueError as exc:
            raise RpcFault(-32603, str(exc)) from None

    async def _prioritization_fees(self, params: list[Any]) -> Any:
        accounts = params[0] if params and isinstance(params[0], list) else []
        if len(accounts) > 128:
            raise RpcFault(-32602, "Too many inputs provided; max 128")
        keys = [_pubkey(a) for a in accounts]
        return [
            {"slot": slot, "prioritizationFee": fee}
            for slot, fee in self.chain.prioritization_fees(keys)
        ]

    async def _rent_exemption(self, params: list[Any]) -> Any:
        if not params or not isinstance(params[0], int) or params[0] < 0:
            raise RpcFault(-32602, "Invalid params: expected a data size")
        return self.chain.minimum_balance_for_rent_exemption(params[0])

    async def _drop_next(self, params: list[Any]) -> Any:
        count = params[0] if params and isinstance(params[0], int) else 1
        self.chain.drop_next(count)
        return count

    async def _advance_blocks(self, params: list[Any]) -> Any:
        blocks = params[0] if params and isinstance(params[0], int) else 1
        return self.chain.advance(blocks)
