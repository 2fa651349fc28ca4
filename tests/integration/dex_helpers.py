"""Shared helpers of the DEX tests: an operator per account and raw reads through Anvil."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from eth_abi.abi import decode, encode
from eth_utils.crypto import keccak

from chainops.devnet.world import World
from chainops.operators.base import OperatorFactory
from chainops.operators.dapps import DexContext
from chainops.operators.evm import EvmOperator


@asynccontextmanager
async def dex_context(world: World, index: int = 3) -> AsyncIterator[DexContext]:
    evm = OperatorFactory.create(
        "devnet",
        cache=False,
        rpc_url=world.rpc_url,
        private_key=world.book.accounts[index].private_key,
    )
    assert isinstance(evm, EvmOperator)
    async with evm:
        yield DexContext(evm, world.book)


def eth_call(
    world: World, to: str, signature: str, types: list[str], args: list[Any], out: list[str]
) -> tuple[Any, ...]:
    """A synchronous eth_call with plain eth_abi encoding (independent of our code)."""
    data = keccak(text=signature)[:4] + encode(types, args)
    raw = world.anvil.rpc("eth_call", [{"to": to, "data": "0x" + data.hex()}, "latest"])
    return tuple(decode(out, bytes.fromhex(raw[2:])))


def balance(world: World, token: str, owner: str) -> int:
    address = world.book.token(token).address
    return int(eth_call(world, address, "balanceOf(address)", ["address"], [owner], ["uint256"])[0])


class Counter:
    """Counts the reads our operator sends (wraps its batcher)."""

    def __init__(self, ctx: DexContext) -> None:
        self.calls = 0
        batcher = ctx.evm.batcher
        call, many = batcher.call, batcher.call_many

        async def counted(method: str, params: list[Any]) -> Any:
            self.calls += 1
            return await call(method, params)

        async def counted_many(calls: list[tuple[str, list[Any]]]) -> list[Any]:
            self.calls += len(calls)
            return await many(calls)

        batcher.call = counted  # type: ignore[method-assign]
        batcher.call_many = counted_many  # type: ignore[method-assign]
