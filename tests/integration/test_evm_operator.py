"""The EVM operator on a fork of the devnet world: wrap ETH, journal first, typed errors."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from eth_utils.crypto import keccak

import chainops.operators.evm  # noqa: F401  (registers the EVM operator)
from chainops.core.errors import (
    ConfigurationError,
    InsufficientFunds,
    InvalidAmount,
    InvalidIdentifier,
    Rejected,
    ValidationError,
)
from chainops.core.events import TxEvent
from chainops.core.journal import SqliteJournal
from chainops.core.transactions import Transaction, TxState
from chainops.devnet.world import World
from chainops.operators.base import OperatorFactory
from chainops.operators.evm import EvmOperator, LocalSigner

pytestmark = pytest.mark.integration
DEPOSIT = "0x" + keccak(text="deposit()")[:4].hex()
WITHDRAW_SELECTOR = keccak(text="withdraw(uint256)")[:4]


def operator(world: World, index: int = 3, **options: Any) -> EvmOperator:
    op = OperatorFactory.create(
        "devnet",
        cache=False,
        rpc_url=world.rpc_url,
        private_key=world.book.accounts[index].private_key,
        **options,
    )
    assert isinstance(op, EvmOperator)
    return op


async def weth_balance(evm: EvmOperator, world: World) -> int:
    abi = json.loads((Path(__file__).resolve().parents[2] / "abis" / "WETH9.json").read_text())
    token = evm.w3.eth.contract(address=world.book.contracts["WETH9"], abi=abi)
    return int(await token.functions.balanceOf(evm.owner).call())


async def test_wrap_eth_is_journalled_and_confirmed(devnet: World, tmp_path: Path) -> None:
    journal_path = tmp_path / "journal.sqlite"
    async with operator(devnet, journal_path=journal_path) as evm:
        seen: list[str] = []
        evm.events.subscribe(TxEvent, lambda event: seen.append(type(event).__name__))
        before_weth = await weth_balance(evm, devnet)
        before_eth = await evm.balance()
        tx = await evm.send(devnet.book.contracts["WETH9"], value=Decimal("1.5"), data=DEPOSIT)
        assert tx.state is TxState.BROADCAST
        assert tx.nonce == 0 and tx.venue_id == tx.hash
        await evm.wait(tx)
        assert tx.state is TxState.CONFIRMED
        assert tx.receipt is not None and tx.receipt.status == 1
        assert await weth_balance(evm, devnet) - before_weth == 15 * 10**17
        assert tx.fee is not None and tx.fee.amount > 0
        assert (
            tx.fee.amount == Decimal(tx.receipt.gas_used * tx.receipt.effective_gas_price) / 10**18
        )
        assert await evm.balance() == before_eth - Decimal("1.5") - tx.fee.amount
        for name in ("TxCreated", "TxSigned", "TxBroadcast", "TxConfirmed"):
            assert name in seen, (name, seen)
        assert seen.index("TxSigned") < seen.index("TxBroadcast") < seen.index("TxConfirmed")
        second = await evm.send_and_wait(
            devnet.book.contracts["WETH9"], value=Decimal("0.1"), data=DEPOSIT
        )
        assert second.nonce == 1
    reopened = SqliteJournal(journal_path)
    stored = reopened.load(tx.client_id)
    assert isinstance(stored, Transaction)
    assert stored.state is TxState.CONFIRMED
    assert stored.attempts[0].raw == tx.attempts[0].raw
    assert stored.to_dict() == tx.to_dict()
    reopened.close()


async def test_bad_input_is_refused_before_anything_is_sent(devnet: World) -> None:
    async with operator(devnet, index=4) as evm:
        nonce = await evm.nonce()
        weth = devnet.book.contracts["WETH9"]
        with pytest.raises(ValidationError, match="float"):
            await evm.send(weth, value=1.5, data=DEPOSIT)  # type: ignore[arg-type]
        with pytest.raises(InvalidAmount):
            await evm.send(weth, value=Decimal("-1"), data=DEPOSIT)
        with pytest.raises(InvalidAmount):
            await evm.send(weth, value=Decimal("1e-19"), data=DEPOSIT)
        with pytest.raises(InvalidIdentifier):
            await evm.send("0x1234", value=Decimal(1))
        with pytest.raises(InsufficientFunds):
            await evm.send(weth, value=Decimal(10**9), data=DEPOSIT)
        # withdrawing WETH the account does not have reverts in simulation: nothing is sent
        withdraw = "0x" + (WITHDRAW_SELECTOR + (10**30).to_bytes(32, "big")).hex()
        with pytest.raises(Rejected, match="would fail"):
            await evm.send(weth, data=withdraw)
        assert await evm.nonce() == nonce
        assert evm.journal.non_terminal() == []


async def test_wrong_chain_id_refuses_to_start(devnet: World) -> None:
    op = OperatorFactory.create(
        "ethereum",
        cache=False,
        rpc_url=devnet.rpc_url,
        private_key=devnet.book.accounts[5].private_key,
    )
    with pytest.raises(ConfigurationError, match="chain 31337"):
        await op.start()


async def test_closed_operator_refuses_new_sends(devnet: World) -> None:
    evm = operator(devnet, index=6)
    async with evm:
        pass
    with pytest.raises(ConfigurationError, match="closed"):
        await evm.send(devnet.book.contracts["WETH9"], value=Decimal(1), data=DEPOSIT)


def test_signer_hides_the_key(devnet_world: World) -> None:
    key = devnet_world.book.accounts[1].private_key
    signer = LocalSigner.from_key(key)
    assert key[2:] not in repr(signer) and key[2:] not in str(signer)
    with pytest.raises(ValidationError) as info:
        LocalSigner.from_key("0x" + "zz" * 32)
    assert "zz" not in str(info.value)
    with pytest.raises(ValidationError, match="chain id"):
        signer.sign({"to": signer.address, "value": 0, "gas": 21000, "nonce": 0, "gasPrice": 1})
