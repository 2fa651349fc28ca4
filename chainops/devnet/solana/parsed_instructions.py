"""The ``jsonParsed`` view of instructions: system, SPL Token / Token-2022, ATA and memo.

An instruction of another program, or one these parsers do not know, stays
partially decoded (``programId``, ``accounts``, base58 ``data``) as the validator
leaves it. Field names follow the validator's instruction parsers.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

from chainops.core.ids import b58encode
from chainops.devnet.solana.parsed_accounts import token_amount
from chainops.operators.solana.programs import (
    ATA_PROGRAM_ID,
    MEMO_PROGRAM_ID,
    SYSTEM_PROGRAM_ID,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
)

__all__ = ["parse_instruction"]

Parsed = dict[str, Any] | None
_SYSTEM = str(SYSTEM_PROGRAM_ID)
_TOKENS = {str(TOKEN_PROGRAM_ID): "spl-token", str(TOKEN_2022_PROGRAM_ID): "spl-token-2022"}
_ATA = str(ATA_PROGRAM_ID)
_MEMO = str(MEMO_PROGRAM_ID)


def _system(data: bytes, keys: Sequence[str]) -> Parsed:
    if len(data) < 4:
        return None
    (kind,) = struct.unpack_from("<I", data, 0)
    if kind == 0 and len(data) >= 52 and len(keys) >= 2:
        lamports, space = struct.unpack_from("<QQ", data, 4)
        owner = b58encode(data[20:52])
        info = {"source": keys[0], "newAccount": keys[1], "lamports": lamports, "space": space}
        return {"type": "createAccount", "info": {**info, "owner": owner}}
    if kind == 1 and len(data) >= 36 and keys:
        return {"type": "assign", "info": {"account": keys[0], "owner": b58encode(data[4:36])}}
    if kind == 2 and len(data) >= 12 and len(keys) >= 2:
        (lamports,) = struct.unpack_from("<Q", data, 4)
        return {
            "type": "transfer",
            "info": {"source": keys[0], "destination": keys[1], "lamports": lamports},
        }
    if kind == 8 and len(data) >= 12 and keys:
        (space,) = struct.unpack_from("<Q", data, 4)
        return {"type": "allocate", "info": {"account": keys[0], "space": space}}
    return None


def _amount(data: bytes) -> int:
    return int(struct.unpack_from("<Q", data, 1)[0])


def _authority(keys: Sequence[str], index: int, role: str) -> dict[str, Any]:
    """The signer of a token instruction: one authority, or a multisig and its signers."""
    rest = list(keys[index + 1 :])
    if rest:
        return {f"multisig{role.capitalize()}": keys[index], "signers": rest}
    return {role: keys[index]}


def _token(data: bytes, keys: Sequence[str]) -> Parsed:
    if not data:
        return None
    kind = data[0]
    n = len(keys)
    if kind in (0, 20) and len(data) >= 35 and n >= 1:
        info: dict[str, Any] = {
            "mint": keys[0],
            "decimals": data[1],
            "mintAuthority": b58encode(data[2:34]),
        }
        if data[34] == 1 and len(data) >= 67:
            info["freezeAuthority"] = b58encode(data[35:67])
        if kind == 0 and n >= 2:
            info["rentSysvar"] = keys[1]
        return {"type": "initializeMint" if kind == 0 else "initializeMint2", "info": info}
    if kind == 1 and n >= 4:
        info = {"account": keys[0], "mint": keys[1], "owner": keys[2], "rentSysvar": keys[3]}
        return {"type": "initializeAccount", "info": info}
    if kind in (16, 18) and len(data) >= 33 and n >= 2:
        info = {"account": keys[0], "mint": keys[1], "owner": b58encode(data[1:33])}
        if kind == 16 and n >= 3:
            info["rentSysvar"] = keys[2]
        return {"type": "initializeAccount2" if kind == 16 else "initializeAccount3", "info": info}
    if kind == 3 and len(data) >= 9 and n >= 3:
        info = {"source": keys[0], "destination": keys[1], "amount": str(_amount(data))}
        return {"type": "transfer", "info": {**info, **_authority(keys, 2, "authority")}}
    if kind == 4 and len(data) >= 9 and n >= 3:
        info = {"source": keys[0], "delegate": keys[1], "amount": str(_amount(data))}
        return {"type": "approve", "info": {**info, **_authority(keys, 2, "owner")}}
    if kind == 5 and n >= 2:
        return {"type": "revoke", "info": {"source": keys[0], **_authority(keys, 1, "owner")}}
    if kind == 7 and len(data) >= 9 and n >= 3:
        info = {"mint": keys[0], "account": keys[1], "amount": str(_amount(data))}
        return {"type": "mintTo", "info": {**info, **_authority(keys, 2, "mintAuthority")}}
    if kind == 8 and len(data) >= 9 and n >= 3:
        info = {"account": keys[0], "mint": keys[1], "amount": str(_amount(data))}
        return {"type": "burn", "info": {**info, **_authority(keys, 2, "authority")}}
    if kind == 9 and n >= 3:
        info = {"account": keys[0], "destination": keys[1]}
        return {"type": "closeAccount", "info": {**info, **_authority(keys, 2, "owner")}}
    if kind == 12 and len(data) >= 10 and n >= 4:
        info = {
            "source": keys[0],
            "mint": keys[1],
            "destination": keys[2],
            "tokenAmount": token_amount(_amount(data), data[9]),
        }
        return {"type": "transferChecked", "info": {**info, **_authority(keys, 3, "authority")}}
    if kind == 14 and len(data) >= 10 and n >= 3:
        info = {
            "mint": keys[0],
            "account": keys[1],
            "tokenAmount": token_amount(_amount(data), data[9]),
        }
        return {"type": "mintToChecked", "info": {**info, **_authority(keys, 2, "mintAuthority")}}
    if kind == 15 and len(data) >= 10 and n >= 3:
        info = {
            "account": keys[0],
            "mint": keys[1],
            "tokenAmount": token_amount(_amount(data), data[9]),
        }
        return {"type": "burnChecked", "info": {**info, **_authority(keys, 2, "authority")}}
    if kind == 17 and n >= 1:
        return {"type": "syncNative", "info": {"account": keys[0]}}
    if kind == 21 and n >= 1:
        return {"type": "getAccountDataSize", "info": {"mint": keys[0]}}
    if kind == 22 and n >= 1:
        return {"type": "initializeImmutableOwner", "info": {"account": keys[0]}}
    return None


def _ata(data: bytes, keys: Sequence[str]) -> Parsed:
    if len(keys) < 6 or (data and data[0] not in (0, 1)):
        return None
    info = {
        "source": keys[0],
        "account": keys[1],
        "wallet": keys[2],
        "mint": keys[3],
        "systemProgram": keys[4],
        "tokenProgram": keys[5],
    }
    return {"type": "createIdempotent" if data[:1] == b"\x01" else "create", "info": info}


_PARSERS: dict[str, tuple[str, Callable[[bytes, Sequence[str]], Parsed]]] = {
    _SYSTEM: ("system", _system),
    _ATA: ("spl-associated-token-account", _ata),
    **{program: (name, _token) for program, name in _TOKENS.items()},
}


def parse_instruction(
    program_id: str, keys: Sequence[str], data: bytes, stack_height: int | None
) -> dict[str, Any]:
    """One instruction as ``jsonParsed`` shows it."""
    if program_id == _MEMO:
        try:
            text: Any = data.decode()
        except UnicodeDecodeError:
            text = None
        if text is not None:
            return {
                "program": "spl-memo",
                "programId": program_id,
                "parsed": text,
                "stackHeight": stack_height,
            }
    known = _PARSERS.get(program_id)
    if known is not None:
        parsed = known[1](data, keys)
        if parsed is not None:
            return {
                "program": known[0],
                "programId": program_id,
                "parsed": parsed,
                "stackHeight": stack_height,
            }
    return {
        "programId": program_id,
        "accounts": list(keys),
        "data": b58encode(data),
        "stackHeight": stack_height,
    }
