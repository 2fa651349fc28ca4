"""ERC-20 and WETH operators on a fork of the devnet world."""

from __future__ import annotations

from decimal import Decimal

import pytest
from dex_helpers import balance, dex_context

from chainops.core.errors import InsufficientFunds, InvalidAmount, Reverted, ValidationError
from chainops.devnet.world import World
from chainops.operators.dapps import Weth
from chainops.operators.dapps.erc20 import MAX_UINT256, Erc20, token_metadata

pytestmark = pytest.mark.integration


async def test_metadata_including_bytes32_symbol(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        for symbol in ("USDC", "WBTC", "MKR", "USDT", "FOT", "WETH"):
            address = devnet.book.token(symbol).address
            _, read_symbol, decimals = await token_metadata(ctx.evm, address)
            assert (read_symbol, decimals) == (symbol, devnet.book.token(symbol).decimals)
        mkr = await Erc20.at(ctx.evm, devnet.book.token("MKR").address)
        assert mkr.token.symbol == "MKR"


async def test_transfer_standard_no_bool_and_fee_on_transfer(devnet: World) -> None:
    async with dex_context(devnet, 3) as ctx:
        to = devnet.book.accounts[8].address
        for symbol, amount, received in (
            ("USDC", "12.5", 12_500_000),
            ("USDT", "7", 7_000_000),  # transfer() returns nothing
            ("FOT", "100", 99 * 10**18),  # 1 % burned on the way
        ):
            before = balance(devnet, symbol, to)
            tx = await Erc20(ctx.evm, ctx.token(symbol)).transfer(to, Decimal(amount))
            await tx.wait()
            assert balance(devnet, symbol, to) - before == received
        with pytest.raises(InsufficientFunds):
            await Erc20(ctx.evm, ctx.token("USDC")).transfer(to, Decimal(10**9))
        with pytest.raises(InvalidAmount):
            await Erc20(ctx.evm, ctx.token("USDC")).transfer(to, Decimal("0.0000001"))


async def test_approve_exact_by_default_and_ensure_is_idempotent(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        spender = devnet.book.contracts["SwapRouter"]
        usdt = Erc20(ctx.evm, ctx.token("USDT"))  # refuses changing a non-zero allowance
        await (await usdt.approve(spender, Decimal(5))).wait()
        assert await usdt.allowance(spender) == Decimal(5)
        assert await usdt.ensure_allowance(spender, Decimal(3)) is None
        nonce = await ctx.evm.nonce()
        assert await usdt.ensure_allowance(spender, Decimal(5)) is None
        assert await ctx.evm.nonce() == nonce  # nothing sent
        assert await usdt.ensure_allowance(spender, Decimal(8)) is not None
        assert await usdt.allowance(spender) == Decimal(8)
        await (await usdt.approve(spender, Decimal(0))).wait()
        await (await usdt.approve(spender, unlimited=True)).wait()
        assert await usdt.allowance_raw(spender) == MAX_UINT256
        with pytest.raises(ValidationError):
            await usdt.approve(spender)
        with pytest.raises(ValidationError):
            await usdt.approve(spender, Decimal(1), unlimited=True)


async def test_weth_wrap_unwrap_and_plain_eth_send_reverts(devnet: World) -> None:
    async with dex_context(devnet) as ctx:
        weth = Weth(ctx)
        before = await weth.balance()
        await (await weth.wrap(Decimal("2.5"))).wait()
        assert await weth.balance() == before + Decimal("2.5")
        await (await weth.unwrap(Decimal("1"))).wait()
        assert await weth.balance() == before + Decimal("1.5")
        with pytest.raises(Reverted):  # WETH9 from the V2 periphery has no payable fallback
            await ctx.evm.send(to=devnet.book.contracts["WETH9"], value=Decimal(1))
        with pytest.raises(InsufficientFunds):
            await weth.unwrap(Decimal(10**6))
        with pytest.raises(InsufficientFunds):
            await weth.wrap(Decimal(10**9))
        with pytest.raises(InvalidAmount):
            await weth.wrap(Decimal(0))
