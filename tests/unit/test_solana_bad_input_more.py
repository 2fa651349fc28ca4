"""Bad numbers and instructions for the SolanaOperator: typed errors, nothing signed or sent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
from test_solana_bad_input import RECIPIENT, sent_nothing

from chainops.core.errors import InvalidAmount, ValidationError
from chainops.devnet.solana import LiteSvmTransport, LocalChain
from chainops.operators.solana import (
    InsufficientBalance,
    SolanaConfiguration,
    SolanaOperator,
    SolanaSigner,
    programs,
)

U64 = "18446744073709551615"


@pytest.fixture
async def setup() -> AsyncIterator[tuple[SolanaOperator, LocalChain, str]]:
    chain = LocalChain(slot_time=0.02)
    signer = SolanaSigner.generate()
    chain.airdrop(str(signer.pubkey), 10 * 10**9)
    op = SolanaOperator(
        SolanaConfiguration(platform="solana-local"), signer, LiteSvmTransport(chain)
    )
    async with op:
        mint, created = await op.create_mint(6)
        await created.wait()
        yield op, chain, mint


Call = Callable[[SolanaOperator, str], Awaitable[Any]]


def _ix(op: SolanaOperator) -> Any:
    return programs.transfer(op.signer.solders_pubkey, op.signer.solders_pubkey, 1)


CASES: list[tuple[str, Call, type[Exception], str]] = [
    (
        "lamports above u64",
        lambda op, _: op.transfer(RECIPIENT, Decimal(10**20)),
        InvalidAmount,
        rf"^amount is too large: 10{'0' * 28} raw units exceed a u64 \({U64}\)$",
    ),
    (
        "token units above u64",
        lambda op, mint: op.token_transfer(mint, RECIPIENT, Decimal(10**14)),
        InvalidAmount,
        "^amount is too large: ",
    ),
    (
        "compute unit price above u64",
        lambda op, _: op.transfer(RECIPIENT, Decimal("0.01"), compute_unit_price=10**30),
        ValidationError,
        rf"^compute_unit_price must be within 0\.\.{U64}, got 10{'0' * 29}$",
    ),
    (
        "float compute unit price",
        lambda op, _: op.transfer(RECIPIENT, Decimal("0.01"), compute_unit_price=1.5),
        ValidationError,
        r"^compute_unit_price must be an int, not float \(1\.5\)$",
    ),
    (
        "text compute unit price",
        lambda op, _: op.transfer(RECIPIENT, Decimal("0.01"), compute_unit_price="5"),
        ValidationError,
        r"^compute_unit_price must be an int, not str \('5'\)$",
    ),
    (
        "bool compute unit price",
        lambda op, _: op.transfer(RECIPIENT, Decimal("0.01"), compute_unit_price=True),
        ValidationError,
        "^compute_unit_price must be an int, not bool",
    ),
    (
        "mint zero tokens",
        lambda op, mint: op.mint_to(mint, RECIPIENT, 0),
        InvalidAmount,
        "^amount must be positive$",
    ),
    (
        "text decimals",
        lambda op, _: op.create_mint("6"),
        ValidationError,
        r"^decimals must be an int, not str \('6'\)$",
    ),
    (
        "float decimals",
        lambda op, _: op.create_mint(6.0),
        ValidationError,
        r"^decimals must be an int, not float \(6\.0\)$",
    ),
    (
        "bool decimals",
        lambda op, _: op.create_mint(True),
        ValidationError,
        "^decimals must be an int, not bool",
    ),
    (
        "decimals above u8",
        lambda op, _: op.create_mint(256),
        ValidationError,
        r"^decimals must be within 0\.\.255, got 256$",
    ),
    (
        "not an instruction",
        lambda op, _: op.send_instructions(["notix"]),
        ValidationError,
        "^instructions must be solders Instruction objects, not str$",
    ),
    (
        "instructions not a list",
        lambda op, _: op.send_instructions(_ix(op)),
        ValidationError,
        "^instructions must be a list of Instruction, not Instruction$",
    ),
    (
        "float compute unit limit",
        lambda op, _: op.send_instructions([_ix(op)], compute_unit_limit=1.5),
        ValidationError,
        "^compute_unit_limit must be an int, not float",
    ),
    (
        "value above u64",
        lambda op, _: op.send_instructions([_ix(op)], value=2**64),
        InvalidAmount,
        rf"^value must be within 0\.\.{U64}, got {2**64}$",
    ),
]


@pytest.mark.parametrize(("label", "call", "error", "message"), CASES, ids=[c[0] for c in CASES])
async def test_bad_numbers_are_refused_before_sending(
    setup: tuple[SolanaOperator, LocalChain, str],
    label: str,
    call: Call,
    error: type[Exception],
    message: str,
) -> None:
    op, chain, mint = setup
    before, journalled = sum(chain.received.values()), len(op.journal.list_operations())
    balance = await op.balance()
    with pytest.raises(error, match=message):
        await call(op, mint)
    sent_nothing(op, chain, before, journalled)
    assert await op.balance() == balance  # no fee paid either


async def test_the_largest_u64_compute_unit_price_passes_the_local_check(
    setup: tuple[SolanaOperator, LocalChain, str],
) -> None:
    op, chain, _ = setup
    before, journalled = sum(chain.received.values()), len(op.journal.list_operations())
    with pytest.raises(InsufficientBalance, match="InsufficientFundsForFee"):  # simulated
        await op.transfer(RECIPIENT, Decimal("0.01"), compute_unit_price=2**64 - 1)
    sent_nothing(op, chain, before, journalled)
