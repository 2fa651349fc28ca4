"""Build, sign and take apart legacy Solana transactions as wire bytes.

Wire format: a short-vec count of signatures, the 64-byte signatures in the
order of the message's signer keys, then the message. The first signature is
the transaction's id (what ``getSignatureStatuses`` is asked about).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import msgspec
from solders.hash import Hash
from solders.instruction import Instruction
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from chainops.core.errors import ValidationError
from chainops.operators.solana.keys import SolanaSigner

__all__ = [
    "SignedMessage",
    "build_message",
    "program_ids",
    "rebuild_with_blockhash",
    "sign_message",
    "signature_count",
    "unsigned_bytes",
]

_ZERO_SIGNATURE = bytes(64)


class SignedMessage(msgspec.Struct, frozen=True, gc=False):
    raw: bytes
    signature: str  # base58 of the first signature: the transaction id


# A burst shares a few blockhashes (each message of a send is built twice): parsed once.
_blockhash = lru_cache(maxsize=64)(Hash.from_string)


def build_message(payer: Pubkey, instructions: Sequence[Instruction], blockhash: str) -> Message:
    """Compile instructions into a legacy message paid by ``payer``."""
    return Message.new_with_blockhash(list(instructions), payer, _blockhash(blockhash))


def _shortvec(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def sign_message(message: Message, signers: Sequence[SolanaSigner]) -> SignedMessage:
    """Sign with every required signer (each must be given); the payer signs first."""
    body = bytes(message)
    required = message.header.num_required_signatures
    by_key = {s.solders_pubkey: s for s in signers}
    signatures: list[bytes] = []
    first: Signature | None = None
    for key in message.account_keys[:required]:
        signer = by_key.get(key)
        if signer is None:
            raise ValidationError(f"the transaction needs a signature from {key}")
        signature = signer.sign_solders(body)
        if first is None:
            first = signature
        signatures.append(bytes(signature))
    assert first is not None
    return SignedMessage(_shortvec(required) + b"".join(signatures) + body, str(first))


def unsigned_bytes(message: Message) -> bytes:
    """Wire bytes with zeroed signatures: enough for a simulation that skips sigverify."""
    required = message.header.num_required_signatures
    return _shortvec(required) + _ZERO_SIGNATURE * required + bytes(message)


def signature_count(raw: bytes) -> int:
    """How many signatures a wire transaction carries (fees are charged per signature)."""
    return raw[0] if raw[0] < 0x80 else VersionedTransaction.from_bytes(raw).signatures.__len__()


def _message_of(raw: bytes) -> Message:
    message = VersionedTransaction.from_bytes(raw).message
    if not isinstance(message, Message):
        raise ValidationError("only legacy messages can be rebuilt")
    return message


def rebuild_with_blockhash(raw: bytes, blockhash: str) -> Message:
    """The same message as ``raw`` with a fresh blockhash (for a deliberate re-sign)."""
    old = _message_of(raw)
    header = old.header
    return Message.new_with_compiled_instructions(
        header.num_required_signatures,
        header.num_readonly_signed_accounts,
        header.num_readonly_unsigned_accounts,
        list(old.account_keys),
        Hash.from_string(blockhash),
        list(old.instructions),
    )


def program_ids(raw: bytes) -> list[str]:
    """The program of each instruction, in order (to explain an InstructionError)."""
    message = VersionedTransaction.from_bytes(raw).message
    keys = message.account_keys
    return [str(keys[ix.program_id_index]) for ix in message.instructions]
