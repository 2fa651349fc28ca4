"""Bad input to the SolanaOperator: a typed error; nothing signed, sent or journalled."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest

from chainops.core.errors import (
    ConfigurationError,
    InsufficientFunds,
    InvalidAmount,
    InvalidIdentifier,
    ValidationError,
)
from chainops.devnet.solana import LiteSvmTransport, LocalChain
from chainops.operators.solana import (
    InsufficientBalance,
    SimulationFailed,
    SolanaConfiguration,
    SolanaOperator,
    SolanaSigner,
    TokenAccountMissing,
    programs,
)

RECIPIENT = str(SolanaSigner.generate().pubkey)


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
        await (await op.mint_to(mint, op.owner, Decimal("5"))).wait()
        yield op, chain, mint


def sent_nothing(op: SolanaOperator, chain: LocalChain, before: int, journalled: int) -> None:
    assert sum(chain.received.values()) == before
    assert len(op.journal.list_operations()) == journalled


@pytest.mark.parametrize("bad", ["not-a-key", "0x" + "ab" * 20, "1" * 50, ""])
async def test_invalid_pubkey(setup: tuple[SolanaOperator, LocalChain, str], bad: str) -> None:
    op, chain, mint = setup
    before, journalled = sum(chain.received.values()), len(op.journal.list_operations())
    with pytest.raises(InvalidIdentifier):
        await op.transfer(bad, Decimal("1"))
    with pytest.raises(ValidationError):
        await op.token_transfer(mint, bad, Decimal("1"))
    with pytest.raises(ValidationError):
        await op.token_transfer(bad, RECIPIENT, Decimal("1"))
    sent_nothing(op, chain, before, journalled)


@pytest.mark.parametrize("amount", ["1.0000001", "0.0000000001"])
async def test_more_decimals_than_the_mint(
    setup: tuple[SolanaOperator, LocalChain, str], amount: str
) -> None:
    op, chain, mint = setup
    before, journalled = sum(chain.received.values()), len(op.journal.list_operations())
    with pytest.raises(InvalidAmount, match="decimal places"):
        await op.token_transfer(mint, RECIPIENT, Decimal(amount))
    sent_nothing(op, chain, before, journalled)


async def test_more_decimals_than_sol(setup: tuple[SolanaOperator, LocalChain, str]) -> None:
    op, chain, _ = setup
    before, journalled = sum(chain.received.values()), len(op.journal.list_operations())
    with pytest.raises(InvalidAmount, match="decimal places"):
        await op.transfer(RECIPIENT, Decimal("0.0000000001"))  # 10 decimals; SOL has 9
    sent_nothing(op, chain, before, journalled)


@pytest.mark.parametrize("amount", [Decimal("-1"), "-0.5", -3])
async def test_negative_amount(
    setup: tuple[SolanaOperator, LocalChain, str], amount: Decimal | str | int
) -> None:
    op, chain, mint = setup
    before, journalled = sum(chain.received.values()), len(op.journal.list_operations())
    with pytest.raises(InvalidAmount, match="negative"):
        await op.transfer(RECIPIENT, amount)
    with pytest.raises(InvalidAmount, match="negative"):
        await op.token_transfer(mint, RECIPIENT, amount)
    sent_nothing(op, chain, before, journalled)


async def test_zero_and_float_amounts(setup: tuple[SolanaOperator, LocalChain, str]) -> None:
    op, chain, _ = setup
    before, journalled = sum(chain.received.values()), len(op.journal.list_operations())
    with pytest.raises(ValidationError, match="positive"):
        await op.transfer(RECIPIENT, Decimal("0"))
    with pytest.raises(InvalidAmount, match="float"):
        await op.transfer(RECIPIENT, 0.1)  # type: ignore[arg-type]
    sent_nothing(op, chain, before, journalled)


async def test_insufficient_lamports_caught_by_simulation(
    setup: tuple[SolanaOperator, LocalChain, str],
) -> None:
    op, chain, _ = setup
    before, journalled = sum(chain.received.values()), len(op.journal.list_operations())
    with pytest.raises(InsufficientBalance) as caught:
        await op.transfer(RECIPIENT, Decimal("50"))
    assert isinstance(caught.value, InsufficientFunds)
    assert isinstance(caught.value, SimulationFailed)
    assert any("insufficient lamports" in line for line in caught.value.logs)
    assert caught.value.err == {"InstructionError": [2, {"Custom": 1}]}
    sent_nothing(op, chain, before, journalled)


async def test_insufficient_tokens_caught_by_simulation(
    setup: tuple[SolanaOperator, LocalChain, str],
) -> None:
    op, chain, mint = setup
    before, journalled = sum(chain.received.values()), len(op.journal.list_operations())
    with pytest.raises(InsufficientBalance) as caught:
        await op.token_transfer(mint, RECIPIENT, Decimal("5.000001"))
    assert "insufficient funds" in str(caught.value)
    assert any("Program log" in line for line in caught.value.logs)
    sent_nothing(op, chain, before, journalled)


async def test_payer_without_lamports(setup: tuple[SolanaOperator, LocalChain, str]) -> None:
    _, chain, _ = setup
    empty = SolanaOperator(
        SolanaConfiguration(platform="solana-local"),
        SolanaSigner.generate(),
        LiteSvmTransport(chain),
    )
    before = sum(chain.received.values())
    async with empty:
        with pytest.raises(InsufficientBalance):
            await empty.transfer(RECIPIENT, Decimal("0.001"))
        assert empty.journal.list_operations() == []
    assert sum(chain.received.values()) == before


async def test_recipient_without_token_account_when_creation_disabled(
    setup: tuple[SolanaOperator, LocalChain, str],
) -> None:
    op, chain, mint = setup
    before, journalled = sum(chain.received.values()), len(op.journal.list_operations())
    with pytest.raises(TokenAccountMissing, match="no token account"):
        await op.token_transfer(mint, RECIPIENT, Decimal("1"), create_account=False)
    sent_nothing(op, chain, before, journalled)
    # With creation allowed (the default) the same transfer goes through.
    tx = await op.token_transfer(mint, RECIPIENT, Decimal("1"))
    await tx.wait()
    assert await op.token_balance(mint, RECIPIENT) == Decimal("1")
    # Now that the account exists, creation may be disabled.
    await (await op.token_transfer(mint, RECIPIENT, Decimal("1"), create_account=False)).wait()
    assert await op.token_balance(mint, RECIPIENT) == Decimal("2")


async def test_not_a_mint(setup: tuple[SolanaOperator, LocalChain, str]) -> None:
    op, chain, _ = setup
    before, journalled = sum(chain.received.values()), len(op.journal.list_operations())
    with pytest.raises(ValidationError, match="does not exist"):
        await op.token_transfer(RECIPIENT, RECIPIENT, Decimal("1"))
    with pytest.raises(ValidationError, match="not a token mint"):
        await op.token_transfer(op.owner, RECIPIENT, Decimal("1"))  # a wallet, not a mint
    sent_nothing(op, chain, before, journalled)


async def test_not_started_and_closed_operators_refuse() -> None:
    chain = LocalChain(slot_time=0.02)
    op = SolanaOperator(
        SolanaConfiguration(platform="solana-local"),
        SolanaSigner.generate(),
        LiteSvmTransport(chain),
    )
    with pytest.raises(ConfigurationError, match="not started"):
        await op.transfer(RECIPIENT, Decimal("1"))
    await op.start()
    await op.close()
    with pytest.raises(ConfigurationError, match="closed"):
        await op.transfer(RECIPIENT, Decimal("1"))
    assert sum(chain.received.values()) == 0


def test_wrong_platform_kind_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="not a Solana cluster"):
        SolanaOperator(
            SolanaConfiguration(platform="devnet"), SolanaSigner.generate(), LiteSvmTransport()
        )


# -- numbers and instructions ---------------------------------------------------------

U64 = "18446744073709551615"


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


async def test_an_empty_account_is_refused_not_read_as_our_own(
    setup: tuple[SolanaOperator, LocalChain, str],
) -> None:
    op, _, mint = setup
    with pytest.raises(InvalidIdentifier, match="empty"):
        await op.balance("")
    with pytest.raises(InvalidIdentifier, match="empty"):
        await op.token_balance(mint, "")
    with pytest.raises(InvalidIdentifier, match="empty"):
        op.token_account(await op.mint_info(mint), "")


async def test_wrong_types_for_the_mint_arguments_are_validation_errors(
    setup: tuple[SolanaOperator, LocalChain, str],
) -> None:
    op, chain, mint = setup
    before, journalled = sum(chain.received.values()), len(op.journal.list_operations())
    with pytest.raises(ValidationError, match=r"^mint must be a SolanaSigner"):
        await op.create_mint(6, mint="5" * 88)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="MintInfo of mint_info"):
        op.token_account(mint)  # type: ignore[arg-type]
    sent_nothing(op, chain, before, journalled)


async def test_a_sender_without_a_token_account_holds_none(
    setup: tuple[SolanaOperator, LocalChain, str],
) -> None:
    _, chain, mint = setup
    poor = SolanaSigner.generate()
    chain.airdrop(str(poor.pubkey), 10**9)
    other = SolanaOperator(
        SolanaConfiguration(platform="solana-local"), poor, LiteSvmTransport(chain)
    )
    before = sum(chain.received.values())
    async with other:
        with pytest.raises(InsufficientBalance, match="holds none of") as caught:
            await other.token_transfer(mint, RECIPIENT, Decimal("1"))
        assert isinstance(caught.value, InsufficientFunds) and caught.value.logs
        assert other.journal.list_operations() == []
    assert sum(chain.received.values()) == before
