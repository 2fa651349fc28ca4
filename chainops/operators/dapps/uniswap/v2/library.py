"""Uniswap V2 pricing: the router library's integer formulas (0.3 % fee), exact to the wei."""

from __future__ import annotations

from collections.abc import Sequence

from eth_utils.crypto import keccak

from chainops.core.errors import ValidationError
from chainops.operators.dapps.errors import AmountOverflow, DustAmount, InsufficientLiquidity

FEE_NUMERATOR = 997  # 0.3 % LP fee: 997/1000 of the input is priced
FEE_DENOMINATOR = 1000
MAX_UINT112 = 2**112 - 1  # the pair stores reserves as uint112 and reverts OVERFLOW above
# keccak256 of the pair creation code: one value for every chain Uniswap V2 is deployed on.
PAIR_INIT_CODE_HASH = bytes.fromhex(
    "96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f"
)


def pair_for(factory: str, token_a: str, token_b: str) -> str:
    """The pair's address as the factory creates it (UniswapV2Library.pairFor)."""
    t0, t1 = sorted((token_a.lower(), token_b.lower()), key=lambda t: int(t, 16))
    salt = keccak(bytes.fromhex(t0[2:] + t1[2:]))
    return (
        "0x" + keccak(b"\xff" + bytes.fromhex(factory[2:]) + salt + PAIR_INIT_CODE_HASH)[12:].hex()
    )


def get_amount_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    """Output for ``amount_in`` against one pair's reserves (UniswapV2Library.getAmountOut)."""
    if amount_in <= 0:
        raise ValidationError("V2: input amount must be positive")
    if reserve_in <= 0 or reserve_out <= 0:
        raise ValidationError("V2: the pair has no liquidity")
    with_fee = amount_in * FEE_NUMERATOR
    return with_fee * reserve_out // (reserve_in * FEE_DENOMINATOR + with_fee)


def get_amount_in(amount_out: int, reserve_in: int, reserve_out: int) -> int:
    """Input needed for ``amount_out`` (UniswapV2Library.getAmountIn, rounds up by one)."""
    if amount_out <= 0:
        raise ValidationError("V2: output amount must be positive")
    if reserve_in <= 0 or reserve_out <= 0:
        raise ValidationError("V2: the pair has no liquidity")
    if amount_out >= reserve_out:
        raise InsufficientLiquidity(
            f"V2: the pair holds only {reserve_out} of the output token, {amount_out} asked",
            amount_in=MAX_UINT112 - reserve_in,
            amount_out=get_amount_out(MAX_UINT112 - reserve_in, reserve_in, reserve_out)
            if reserve_in < MAX_UINT112
            else 0,
        )
    numerator = reserve_in * amount_out * FEE_DENOMINATOR
    denominator = (reserve_out - amount_out) * FEE_NUMERATOR
    return numerator // denominator + 1


def check_balance(amount_in: int, reserve_in: int) -> None:
    """Refuse an input that would take the pair's balance past ``uint112`` (the swap
    would revert ``UniswapV2: OVERFLOW``)."""
    if reserve_in + amount_in > MAX_UINT112:
        raise AmountOverflow(
            f"V2: {amount_in} into a pair holding {reserve_in} exceeds what it can hold "
            f"(2**112 - 1); the swap would revert"
        )


def get_amounts_out(amount_in: int, reserves: Sequence[tuple[int, int]]) -> list[int]:
    """Amounts along a path; ``reserves`` are (reserve_in, reserve_out) per hop.

    Refuses inputs the pairs cannot hold and trades that round to nothing on some hop.
    """
    amounts = [amount_in]
    for reserve_in, reserve_out in reserves:
        check_balance(amounts[-1], reserve_in)
        out = get_amount_out(amounts[-1], reserve_in, reserve_out)
        if out <= 0:
            raise DustAmount(f"V2: {amounts[-1]} into a pair holding {reserve_in} buys nothing")
        amounts.append(out)
    return amounts


def get_amounts_in(amount_out: int, reserves: Sequence[tuple[int, int]]) -> list[int]:
    """Inputs along a path for ``amount_out`` at its end; same order as the path."""
    amounts = [amount_out]
    for reserve_in, reserve_out in reversed(reserves):
        needed = get_amount_in(amounts[0], reserve_in, reserve_out)
        check_balance(needed, reserve_in)
        amounts.insert(0, needed)
    return amounts


def quote(amount_a: int, reserve_a: int, reserve_b: int) -> int:
    """Equal-value amount of B for ``amount_a`` at the reserves' ratio (no fee)."""
    if amount_a <= 0:
        raise ValidationError("V2: amount must be positive")
    if reserve_a <= 0 or reserve_b <= 0:
        raise ValidationError("V2: the pair has no liquidity")
    return amount_a * reserve_b // reserve_a
