"""Transaction methods: send (with the validator's preflight), simulate, statuses, history.

``sendTransaction`` answers as a validator does: a signature it already
processed is ``AlreadyProcessed`` in preflight, a bad signature is ``-32003``,
a failed simulation is ``-32002`` with the runtime's words and the logs; with
``skipPreflight`` the signature comes back whatever then becomes of the bytes.
"""

from __future__ import annotations

from typing import Any

from solders.message import from_bytes_versioned
from solders.transaction import VersionedTransaction

from chainops.devnet.solana import capture, params
from chainops.devnet.solana.clock import Commitment
from chainops.devnet.solana.dispatch import Handler, MethodGroup, with_context
from chainops.devnet.solana.encodings import encode_account
from chainops.devnet.solana.faults import (
    SIGNATURE_VERIFICATION_FAILURE,
    RpcFault,
    invalid_params,
    preflight_failure,
)
from chainops.devnet.solana.localchain import LocalChain
from chainops.devnet.solana.parsed_accounts import MintDecimals
from chainops.devnet.solana.records import Landed, SimulationResult
from chainops.devnet.solana.transaction_json import TRANSACTION_ENCODINGS, encode_landed
from chainops.operators.solana.checks import U64_MAX
from chainops.operators.solana.programs import MEMO_PROGRAM_ID

__all__ = ["TransactionMethods"]

_MAX_STATUSES = 256
_MAX_SIGNATURES_FOR_ADDRESS = 1000


def _max_version(cfg: dict[str, Any]) -> int | None:
    value = cfg.get("maxSupportedTransactionVersion")
    if value is not None and not isinstance(value, int):
        raise invalid_params("Invalid params: maxSupportedTransactionVersion must be a number")
    return value


def _memo(landed: Landed) -> str | None:
    """The memos of a transaction as the validator lists them: ``[len] text; ...``."""
    if not landed.raw:
        return None
    message = VersionedTransaction.from_bytes(landed.raw).message
    memos = []
    for ix in message.instructions:
        if message.account_keys[ix.program_id_index] == MEMO_PROGRAM_ID:
            text = bytes(ix.data).decode(errors="replace")
            memos.append(f"[{len(text)}] {text}")
    return "; ".join(memos) if memos else None


class TransactionMethods(MethodGroup):
    """sendTransaction, simulateTransaction, getSignatureStatuses, getTransaction, history."""

    def __init__(self, chain: LocalChain, decimals_of: MintDecimals) -> None:
        super().__init__(chain)
        self.decimals_of = decimals_of

    def handlers(self) -> dict[str, Handler]:
        return {
            "sendTransaction": self.send,
            "simulateTransaction": self.simulate,
            "getSignatureStatuses": self.statuses,
            "getTransaction": self.transaction,
            "getSignaturesForAddress": self.signatures_for_address,
            "getFeeForMessage": self.fee_for_message,
            "requestAirdrop": self.airdrop,
        }

    async def send(self, p: list[Any]) -> Any:
        raw = params.decode_transaction(p)
        cfg = params.config(p, 1)
        # Preflight reads at preflightCommitment; without preflight the node's newest bank.
        skip = bool(cfg.get("skipPreflight", False))
        preflight = "processed" if skip else cfg.get("preflightCommitment")
        self.read_level({**cfg, "commitment": preflight})
        tx = VersionedTransaction.from_bytes(raw)
        signature = str(tx.signatures[0])
        if not skip:
            if not all(tx.verify_with_results()):
                raise RpcFault(
                    SIGNATURE_VERIFICATION_FAILURE, "Transaction signature verification failure"
                )
            if self.chain.transaction(signature) is not None:
                raise preflight_failure("AlreadyProcessed", [], 0)
            result = self.chain.simulate(raw)
            if result.err is not None:
                raise preflight_failure(result.err, list(result.logs), result.units_consumed)
        self.chain.send(raw)
        return signature

    async def simulate(self, p: list[Any]) -> Any:
        raw = params.decode_transaction(p)
        cfg = params.config(p, 1)
        sig_verify = bool(cfg.get("sigVerify", False))
        replace = bool(cfg.get("replaceRecentBlockhash", False))
        if replace and sig_verify:
            raise invalid_params("sigVerify may not be used with replaceRecentBlockhash")
        level = self.read_level(cfg)
        result = self.chain.simulate(raw, sig_verify=sig_verify, replace_blockhash=replace)
        replacement = None
        if result.replacement is not None:
            replacement = {
                "blockhash": result.replacement[0],
                "lastValidBlockHeight": result.replacement[1],
            }
        return with_context(
            self.chain.slot_at(level),
            {
                "err": result.err,
                "logs": list(result.logs),
                "accounts": self._simulated_accounts(cfg.get("accounts"), result),
                "unitsConsumed": result.units_consumed,
                "returnData": None,
                "innerInstructions": (
                    list(result.inner_instructions) if cfg.get("innerInstructions") else None
                ),
                "replacementBlockhash": replacement,
            },
        )

    def _simulated_accounts(self, wanted: Any, result: SimulationResult) -> Any:
        """The ``accounts`` the caller asked for, as the simulation left them."""
        if wanted is None:
            return None
        if not isinstance(wanted, dict) or not isinstance(wanted.get("addresses"), list):
            raise invalid_params("Invalid params: accounts must be {addresses, encoding}")
        encoding = wanted.get("encoding", "base64")
        if encoding == "base58":
            raise invalid_params("Invalid params: base58 encoding not supported")
        if result.post_accounts is None:
            return None  # a failed simulation reports no account states
        out: list[Any] = []
        for address in wanted["addresses"]:
            key = params.pubkey(address)
            found = result.post_accounts.get(key) or self.chain.account(key)
            if found is None or (found.lamports == 0 and not found.data):
                out.append(None)
            else:
                out.append(encode_account(key, found, encoding, self.decimals_of))
        return out

    async def statuses(self, p: list[Any]) -> Any:
        if not p or not isinstance(p[0], list):
            raise invalid_params("Invalid params: expected a list of signatures")
        if len(p[0]) > _MAX_STATUSES:
            raise invalid_params(f"Too many inputs provided; max {_MAX_STATUSES}")
        out: list[Any] = []
        for view in self.chain.statuses([str(s) for s in p[0]]):
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
        return with_context(self.chain.slot, out)

    def _visible(self, landed: Landed, level: Commitment) -> bool:
        return landed.slot <= self.chain.slot_at(level)

    async def transaction(self, p: list[Any]) -> Any:
        params.require(p, 1, "signature")
        raw_cfg = p[1] if len(p) > 1 else None
        cfg = {"encoding": raw_cfg} if isinstance(raw_cfg, str) else params.config(p, 1)
        level = params.commitment(cfg)
        if level is Commitment.PROCESSED:
            raise invalid_params("Method does not support commitment below `confirmed`")
        encoding = cfg.get("encoding", "json")
        if not isinstance(encoding, str) or encoding not in TRANSACTION_ENCODINGS:
            raise invalid_params(f"Invalid params: unsupported encoding {encoding}")
        max_version = _max_version(cfg)
        landed = self.chain.transaction(str(p[0]))
        if landed is None or not landed.raw or not self._visible(landed, level):
            return None
        body = encode_landed(landed, encoding, max_version)
        return {"slot": landed.slot, "blockTime": self.chain.clock.block_time(landed.slot), **body}

    async def signatures_for_address(self, p: list[Any]) -> Any:
        params.require(p, 1, "address")
        address = params.pubkey(p[0])
        cfg = params.config(p, 1)
        level = params.commitment(cfg)
        if level is Commitment.PROCESSED:
            raise invalid_params("Method does not support commitment below `confirmed`")
        limit = cfg.get("limit", _MAX_SIGNATURES_FOR_ADDRESS)
        if not isinstance(limit, int) or not 1 <= limit <= _MAX_SIGNATURES_FOR_ADDRESS:
            raise invalid_params(f"Invalid limit; max {_MAX_SIGNATURES_FOR_ADDRESS}")
        self.read_level(cfg)
        before, until = cfg.get("before"), cfg.get("until")
        found = [t for t in self.chain.signatures_for(address) if self._visible(t, level)]
        if before is not None:
            index = next((i for i, t in enumerate(found) if t.signature == before), None)
            found = [] if index is None else found[index + 1 :]
        if until is not None:
            index = next((i for i, t in enumerate(found) if t.signature == until), None)
            found = found if index is None else found[:index]
        out = []
        for landed in found[:limit]:
            view = self.chain.status(landed.signature)
            out.append(
                {
                    "signature": landed.signature,
                    "slot": landed.slot,
                    "err": landed.err,
                    "memo": _memo(landed),
                    "blockTime": self.chain.clock.block_time(landed.slot),
                    "confirmationStatus": None if view is None else view.commitment.value,
                }
            )
        return out

    async def fee_for_message(self, p: list[Any]) -> Any:
        params.require(p, 1, "message")
        cfg = params.config(p, 1)
        try:
            message = from_bytes_versioned(params.decode_bytes(p[0], "base64"))
        except RpcFault:
            raise
        except Exception:
            raise invalid_params("Invalid params: failed to deserialize the message") from None
        level = self.read_level(cfg)
        fee = None
        if self.chain.blockhash_valid(str(message.recent_blockhash)):
            fee = capture.message_fee(message)
        return with_context(self.chain.slot_at(level), fee)

    async def airdrop(self, p: list[Any]) -> Any:
        lamports = p[1] if len(p) > 1 else None
        if not isinstance(lamports, int) or isinstance(lamports, bool):
            raise invalid_params("Invalid params: expected pubkey and lamports")
        if not 0 < lamports <= U64_MAX:
            raise invalid_params(f"Invalid params: lamports must be within 1..{U64_MAX}")
        try:
            return self.chain.airdrop(params.pubkey(p[0]), p[1])
        except ValueError as exc:
            raise RpcFault(-32603, str(exc)) from None
