"""A landed transaction as ``getTransaction`` and ``getBlock`` show it, in every encoding.

``json`` gives the compiled message, ``jsonParsed`` the account keys with their
roles and the instructions parsed where a parser knows the program,
``base64``/``base58`` the wire bytes; ``meta`` carries the pre/post lamport and
token balances, fee, logs, inner instructions, loaded addresses and compute units.
"""

from __future__ import annotations

from typing import Any

from solders.message import MessageV0
from solders.transaction import VersionedTransaction

from chainops.core.ids import b58decode, b58encode
from chainops.devnet.solana.encodings import encode_bytes
from chainops.devnet.solana.faults import UNSUPPORTED_TRANSACTION_VERSION, RpcFault, invalid_params
from chainops.devnet.solana.parsed_accounts import token_amount
from chainops.devnet.solana.parsed_instructions import parse_instruction
from chainops.devnet.solana.records import Landed, TokenBalance

__all__ = ["TRANSACTION_ENCODINGS", "encode_landed", "transaction_version"]

TRANSACTION_ENCODINGS = frozenset({"json", "jsonParsed", "base64", "base58", "binary"})


def transaction_version(tx: VersionedTransaction) -> int | str:
    return 0 if isinstance(tx.message, MessageV0) else "legacy"


def _check_version(tx: VersionedTransaction, max_version: int | None) -> Any:
    version = transaction_version(tx)
    if version == "legacy":
        return "legacy" if max_version is not None else None
    if max_version is None or max_version < 0:
        raise RpcFault(
            UNSUPPORTED_TRANSACTION_VERSION,
            f"Transaction version ({version}) is not supported by the requesting client. "
            "Please try the request again with the following configuration parameter: "
            '"maxSupportedTransactionVersion": 0',
        )
    return version


def _token_balances(entries: tuple[TokenBalance, ...]) -> list[dict[str, Any]]:
    return [
        {
            "accountIndex": e.account_index,
            "mint": e.mint,
            "owner": e.owner,
            "programId": e.program,
            "uiTokenAmount": token_amount(e.amount, e.decimals),
        }
        for e in entries
    ]


def _lookups(tx: VersionedTransaction) -> list[dict[str, Any]] | None:
    message = tx.message
    if not isinstance(message, MessageV0):
        return None
    return [
        {
            "accountKey": str(lookup.account_key),
            "writableIndexes": list(bytes(lookup.writable_indexes)),
            "readonlyIndexes": list(bytes(lookup.readonly_indexes)),
        }
        for lookup in message.address_table_lookups
    ]


def _raw_message(tx: VersionedTransaction) -> dict[str, Any]:
    message = tx.message
    header = message.header
    out: dict[str, Any] = {
        "header": {
            "numRequiredSignatures": header.num_required_signatures,
            "numReadonlySignedAccounts": header.num_readonly_signed_accounts,
            "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts,
        },
        "accountKeys": [str(k) for k in message.account_keys],
        "recentBlockhash": str(message.recent_blockhash),
        "instructions": [
            {
                "programIdIndex": ix.program_id_index,
                "accounts": list(bytes(ix.accounts)),
                "data": b58encode(bytes(ix.data)),
                "stackHeight": None,
            }
            for ix in message.instructions
        ],
    }
    lookups = _lookups(tx)
    if lookups is not None:
        out["addressTableLookups"] = lookups
    return out


def _parsed_message(tx: VersionedTransaction, landed: Landed) -> dict[str, Any]:
    message = tx.message
    signers = message.header.num_required_signatures
    static = len(message.account_keys)
    keys = list(landed.keys) or [str(k) for k in message.account_keys]
    out: dict[str, Any] = {
        "accountKeys": [
            {
                "pubkey": key,
                "writable": key in landed.writable,
                "signer": i < signers,
                "source": "transaction" if i < static else "lookupTable",
            }
            for i, key in enumerate(keys)
        ],
        "recentBlockhash": str(message.recent_blockhash),
        "instructions": [
            parse_instruction(
                keys[ix.program_id_index],
                [keys[a] for a in bytes(ix.accounts)],
                bytes(ix.data),
                None,
            )
            for ix in message.instructions
        ],
    }
    lookups = _lookups(tx)
    if lookups is not None:
        out["addressTableLookups"] = lookups
    return out


def _parsed_inner(landed: Landed) -> list[Any]:
    keys = landed.keys
    return [
        {
            "index": group["index"],
            "instructions": [
                parse_instruction(
                    keys[ix["programIdIndex"]],
                    [keys[a] for a in ix["accounts"]],
                    b58decode(ix["data"]),
                    ix["stackHeight"],
                )
                for ix in group["instructions"]
            ],
        }
        for group in landed.inner_instructions
    ]


def _meta(landed: Landed, parsed: bool) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "err": landed.err,
        "status": {"Ok": None} if landed.err is None else {"Err": landed.err},
        "fee": landed.fee,
        "preBalances": list(landed.pre_balances),
        "postBalances": list(landed.post_balances),
        "innerInstructions": _parsed_inner(landed) if parsed else list(landed.inner_instructions),
        "logMessages": list(landed.logs),
        "preTokenBalances": _token_balances(landed.pre_token_balances),
        "postTokenBalances": _token_balances(landed.post_token_balances),
        "rewards": [],
        "computeUnitsConsumed": landed.units_consumed,
    }
    if not parsed:  # jsonParsed lists loaded keys in accountKeys instead
        meta["loadedAddresses"] = {
            "writable": list(landed.loaded_writable),
            "readonly": list(landed.loaded_readonly),
        }
    return meta


def encode_landed(
    landed: Landed, encoding: str, max_version: int | None, *, with_meta: bool = True
) -> dict[str, Any]:
    """``{"transaction", "meta"[, "version"]}`` of a landed transaction in ``encoding``."""
    if not isinstance(encoding, str) or encoding not in TRANSACTION_ENCODINGS:
        raise invalid_params(f"Invalid params: unsupported encoding {encoding}")
    tx = VersionedTransaction.from_bytes(landed.raw)
    version = _check_version(tx, max_version)
    transaction: Any
    if encoding == "json":
        transaction = {"signatures": [str(s) for s in tx.signatures], "message": _raw_message(tx)}
    elif encoding == "jsonParsed":
        transaction = {
            "signatures": [str(s) for s in tx.signatures],
            "message": _parsed_message(tx, landed),
        }
    else:
        transaction = encode_bytes(landed.raw, encoding)
    out: dict[str, Any] = {"transaction": transaction}
    if with_meta:
        out["meta"] = _meta(landed, encoding == "jsonParsed")
    if version is not None:
        out["version"] = version
    return out
