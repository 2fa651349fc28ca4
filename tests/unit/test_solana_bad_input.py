"""Bad input to the SolanaOperator: a typed error; nothing signed, sent or journalled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

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
