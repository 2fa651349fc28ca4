"""Bad input to the EVM operator on a devnet fork: a typed error before anything is
reserved, signed, journalled or sent, and the account keeps working afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from chainops.abis import load_abi
from chainops.core.errors import ValidationError
from chainops.core.transaction import Transaction, TxState
from chainops.devnet.rpc_proxy import RpcProxy
from chainops.devnet.world import World
from chainops.operators.base import OperatorFactory
from chainops.operators.evm import EvmOperator
from chainops.operators.evm.node_errors import Underpriced

pytestmark = pytest.mark.integration
SMALL = Decimal("0.001")


@contextlib.asynccontextmanager
async def watched(world: World, index: int = 4) -> AsyncIterator[tuple[EvmOperator, RpcProxy]]:
    """An operator whose node traffic is counted by a proxy."""
    async with RpcProxy(world.rpc_url) as proxy:
        op = OperatorFactory.create(
            "devnet",
            cache=False,
            rpc_url=proxy.url,
            private_key=world.book.accounts[index].private_key,
        )
        assert isinstance(op, EvmOperator)
        async with op:
            yield op, proxy


async def footprint(evm: EvmOperator, proxy: RpcProxy) -> tuple[int, int, int]:
    """(node nonce, journalled operations, raw transactions sent)."""
    count = await evm.nonce()
    return count, len(evm.journal.list_operations()), proxy.calls["eth_sendRawTransaction"]


async def still_sends(evm: EvmOperator, world: World, nonce: int) -> None:
    """The account is not stranded: the next send takes ``nonce`` and confirms."""
    tx = await asyncio.wait_for(evm.send(to=world.book.accounts[2].address, value=SMALL), 20)
    assert tx.nonce == nonce
    await tx.wait(timeout=20)
    assert tx.state is TxState.CONFIRMED


@pytest.mark.parametrize("deadline", ["soon", True, math.nan, math.inf, 0, -1])
async def test_bad_deadline_is_refused_before_a_nonce_is_taken(
    devnet: World, deadline: Any
) -> None:
    async with watched(devnet) as (evm, proxy):
        before = await footprint(evm, proxy)
        with pytest.raises(ValidationError, match=r"^deadline must be "):
            await asyncio.wait_for(
                evm.send(to=devnet.book.accounts[2].address, value=SMALL, deadline=deadline), 20
            )
        assert await footprint(evm, proxy) == before
        assert not evm.nonces.in_flight
        await still_sends(evm, devnet, before[0])
        good = await evm.send(to=devnet.book.accounts[2].address, value=SMALL, deadline=60)
        await good.wait(timeout=20)


async def test_failure_after_reservation_releases_the_nonce(
    devnet: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with watched(devnet) as (evm, proxy):
        before = await footprint(evm, proxy)
        signer = evm.pipeline.signer

        class Broken:
            address = signer.address

            def sign(self, fields: dict[str, Any]) -> Any:
                raise RuntimeError("signing device unplugged")

        monkeypatch.setattr(evm.pipeline, "signer", Broken())
        with pytest.raises(RuntimeError, match="unplugged"):
            await evm.send(to=devnet.book.accounts[2].address, value=SMALL)
        monkeypatch.setattr(evm.pipeline, "signer", signer)
        assert await footprint(evm, proxy) == before
        assert not evm.nonces.in_flight
        await still_sends(evm, devnet, before[0])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"priority": "ULTRA"}, "priority must be one of SLOW, NORMAL, FAST, got 'ULTRA'"),
        ({"priority": None}, "priority must be one of SLOW, NORMAL, FAST, got None"),
        ({"foo": 1}, r"unknown request field\(s\) foo; accepted: to, value, data"),
        ({"gas_price": 0}, r"gas_price 0 wei is below the current base fee of anvil \(\d+ wei\)"),
        (
            {"max_fee_per_gas": 1, "max_priority_fee_per_gas": 0},
            r"max_fee_per_gas 1 wei is below the current base fee",
        ),
    ],
)
async def test_bad_send_option_is_refused_before_sending(
    devnet: World, fields: dict[str, Any], message: str
) -> None:
    async with watched(devnet) as (evm, proxy):
        before = await footprint(evm, proxy)
        with pytest.raises(ValidationError, match=message):
            await evm.send(to=devnet.book.accounts[2].address, value=Decimal(1), **fields)
        assert await footprint(evm, proxy) == before
        await still_sends(evm, devnet, before[0])


async def test_a_low_fee_cap_is_the_public_nodes_call(devnet: World) -> None:
    """Off a local chain a cap below the base fee goes to the node, which decides."""
    async with watched(devnet) as (evm, _):
        evm.chain = dataclasses.replace(evm.chain, is_local=False)  # as a public chain is
        low = {"max_fee_per_gas": 1, "max_priority_fee_per_gas": 0}
        with pytest.raises(Underpriced):  # Anvil's own refusal, not ours
            await evm.send(to=devnet.book.accounts[2].address, value=Decimal(1), **low)


async def test_send_and_wait_checks_its_wait_arguments_first(devnet: World) -> None:
    async with watched(devnet) as (evm, proxy):
        before = await footprint(evm, proxy)
        friend = devnet.book.accounts[2].address
        with pytest.raises(ValidationError, match=r"^timeout must be "):
            await evm.send_and_wait(to=friend, value=SMALL, timeout="1")  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="confirmations must be a non-negative int"):
            await evm.send_and_wait(to=friend, value=SMALL, confirmations=-1)
        assert await footprint(evm, proxy) == before


async def test_replacing_another_accounts_transaction_is_refused(devnet: World) -> None:
    friend = devnet.book.accounts[2].address
    async with watched(devnet, index=4) as (evm, proxy), watched(devnet, index=5) as (other, _):
        devnet.anvil.set_mining("manual")
        try:
            foreign = await other.send(to=friend, value=SMALL)
            before = await footprint(evm, proxy)
            for verb in (evm.speed_up, evm.cancel):
                with pytest.raises(
                    ValidationError,
                    match=r"is not a transaction of this operator's account: it is sent from "
                    + other.owner,
                ):
                    await verb(foreign)
            assert await footprint(evm, proxy) == before
            assert len(foreign.attempts) == 1
            pool = devnet.anvil.rpc("txpool_content", [])
            senders = {s.lower() for s in pool["pending"]}
            assert evm.owner.lower() not in senders
        finally:
            devnet.anvil.set_mining("auto")
            devnet.anvil.mine()
        await foreign.wait(timeout=20)


async def test_replacing_a_transaction_this_operator_does_not_follow_is_refused(
    devnet: World,
) -> None:
    friend = devnet.book.accounts[2].address
    async with watched(devnet, index=4) as (evm, proxy), watched(devnet, index=4) as (twin, _):
        devnet.anvil.set_mining("manual")
        try:
            theirs = await twin.send(to=friend, value=SMALL)  # same account, other operator
            before = await footprint(evm, proxy)
            for verb in (evm.speed_up, evm.cancel):
                with pytest.raises(ValidationError, match="that it follows"):
                    await verb(theirs)
            assert await footprint(evm, proxy) == before
            assert len(theirs.attempts) == 1
        finally:
            devnet.anvil.set_mining("auto")
            devnet.anvil.mine()
        await theirs.wait(timeout=20)


async def test_speed_up_with_bad_fees_or_priority_is_refused(devnet: World) -> None:
    async with watched(devnet) as (evm, proxy):
        devnet.anvil.set_mining("manual")
        try:
            tx = await evm.send(to=devnet.book.accounts[2].address, value=SMALL)
            before = await footprint(evm, proxy)
            with pytest.raises(ValidationError, match="fees must be FeeParams or None, got str"):
                await evm.speed_up(tx, fees="x")  # type: ignore[arg-type]
            with pytest.raises(ValidationError, match="fees must be FeeParams or None, got int"):
                await evm.cancel(tx, fees=5)  # type: ignore[arg-type]
            with pytest.raises(ValidationError, match="priority must be one of SLOW"):
                await evm.speed_up(tx, priority="X")  # type: ignore[arg-type]
            assert await footprint(evm, proxy) == before
            assert len(tx.attempts) == 1
            # the journal's copy of our own pending transaction is accepted
            stored = evm.journal.load(str(tx.client_id), Transaction)
            assert stored is not None and stored is not tx
            attempt = await evm.speed_up(stored)
            assert (
                len(tx.attempts) == 2 and tx.attempts[-1].hash == attempt.hash
            )  # the followed one
        finally:
            devnet.anvil.set_mining("auto")
            devnet.anvil.mine()
        await tx.wait(timeout=20)


@pytest.mark.parametrize("timeout", ["1", math.nan, math.inf, -1, True])
async def test_bad_wait_timeout_pending_or_confirmed(devnet: World, timeout: Any) -> None:
    async with watched(devnet) as (evm, _):
        friend = devnet.book.accounts[2].address
        done = await evm.send_and_wait(to=friend, value=SMALL)
        devnet.anvil.set_mining("manual")
        try:
            pending = await evm.send(to=friend, value=SMALL)
            for tx in (pending, done):
                with pytest.raises(ValidationError, match=r"^timeout must be "):
                    await asyncio.wait_for(tx.wait(timeout=timeout), 5)
        finally:
            devnet.anvil.set_mining("auto")
            devnet.anvil.mine()
        await pending.wait(timeout=20)


async def test_contract_abi_and_argument_errors(devnet: World) -> None:
    weth_address = devnet.book.token("WETH").address
    friend = devnet.book.accounts[2].address
    async with watched(devnet) as (evm, proxy):
        before = await footprint(evm, proxy)
        with pytest.raises(ValidationError, match=r"ABI entry 0 of .* is not a named function"):
            evm.contract(weth_address, [{"junk": 1}])
        with pytest.raises(ValidationError, match="must be a list of ABI entries"):
            evm.contract(weth_address, "notalist")  # type: ignore[arg-type]
        weth = evm.contract(weth_address, load_abi("WETH9"))
        cases = [
            ((friend,), r"wrong number of arguments for transfer: expected 2"),
            ((friend, -1), r"argument 1 \(wad\) of transfer\(address,uint256\) .* uint256: -1"),
            ((friend, 1.5), r"argument 1 \(wad\) .* not a valid uint256: 1.5"),
            (("bob", 1), r"argument 0 \(dst\) .* not a valid address: 'bob'"),
        ]
        for args, message in cases:
            with pytest.raises(ValidationError, match=message):
                await evm.send(weth.request("transfer", *args))
        assert await footprint(evm, proxy) == before


async def test_call_block_is_checked_locally(devnet: World) -> None:
    async with watched(devnet) as (evm, proxy):
        weth = evm.contract(devnet.book.token("WETH").address, load_abi("WETH9"))
        request = weth.request("balanceOf", evm.owner)
        for bad in ("nonsense", -1, True, "0xzz", 1.0):
            with pytest.raises(ValidationError, match="block must be an int >= 0, one of latest"):
                await evm.call(request, block=bad)  # type: ignore[arg-type]
        assert proxy.calls["eth_call"] == 0
        latest = devnet.anvil.rpc("eth_getBlockByNumber", ["latest", False])
        expected = await evm.call(request)
        for good in ("latest", "safe", int(latest["number"], 16), latest["number"], latest["hash"]):
            assert await evm.call(request, block=good) == expected
