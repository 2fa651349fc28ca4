"""The V3 path encoding: ``token | fee | token | ...`` (20 + 3 + 20 ... bytes).

Routers and QuoterV2 read multi-hop routes in this form; exact-output routes are
encoded from the output token back to the input.
"""

from __future__ import annotations

from collections.abc import Sequence

from chainops.core.assets import Token
from chainops.core.errors import ValidationError

ADDRESS_SIZE = 20
FEE_SIZE = 3


def encode_path(tokens: Sequence[Token], fees: Sequence[int]) -> bytes:
    """token (20 bytes) | fee (3 bytes) | token | ... as the router and quoter read it."""
    if len(tokens) != len(fees) + 1:
        raise ValidationError("a V3 path needs one fee per hop")
    out = bytes.fromhex(str(tokens[0].address)[2:])
    for fee, token in zip(fees, tokens[1:], strict=True):
        out += fee.to_bytes(FEE_SIZE, "big") + bytes.fromhex(str(token.address)[2:])
    return out


def decode_path(path: bytes) -> tuple[list[str], list[int]]:
    """(token addresses, fees) of an encoded path."""
    step = ADDRESS_SIZE + FEE_SIZE
    if len(path) < ADDRESS_SIZE or (len(path) - ADDRESS_SIZE) % step:
        raise ValidationError(f"a V3 path of {len(path)} bytes is malformed")
    tokens = ["0x" + path[0:ADDRESS_SIZE].hex()]
    fees: list[int] = []
    for start in range(ADDRESS_SIZE, len(path), step):
        fees.append(int.from_bytes(path[start : start + FEE_SIZE], "big"))
        tokens.append("0x" + path[start + FEE_SIZE : start + step].hex())
    return tokens, fees
