"""The EVM operator on forks of the devnet world: sends, nonces, reverts, waits, journal."""

from __future__ import annotations

import asyncio
import gc
import json
import time
import weakref
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from chainops.core.errors import (
    AuthenticationError,
    ConfigurationError,
    InsufficientFunds,
    InvalidAmount,
    InvalidIdentifier,
    Reverted,
    UnknownOutcome,
    ValidationError,
)
from chainops.core.events import TxEvent
from chainops.core.journal import SqliteJournal
from chainops.core.platforms import ChainKind, ChainPlatform, register_platform
from chainops.core.transaction import Transaction, TxState
from chainops.devnet.anvil import Anvil, AnvilConfig
from chainops.devnet.world import World
from chainops.operators.base import OperatorFactory
from chainops.operators.evm import EvmOperator, LocalSigner
from chainops.operators.evm.requests import TxRequest, build_request

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def abi(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((ROOT / "chainops/abis" / f"{name}.json").read_text())
    return data


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


def deploy_reverter(world: World) -> str:
    compiled = ROOT / "chainops" / "devnet" / "contracts"  # our test contracts, in the wheel
    artifact = json.loads((compiled / "Reverter.json").read_text())
    deployer = world.book.accounts[0].address
    tx = world.anvil.rpc(
        "eth_sendTransaction",
        [{"from": deployer, "data": artifact["bytecode"], "gas": hex(2_000_000)}],
    )
    for _ in range(200):  # automine lands a moment after the send returns
        receipt = world.anvil.rpc("eth_getTransactionReceipt", [tx])
        if receipt is not None:
            return str(receipt["contractAddress"])
        time.sleep(0.01)
    raise AssertionError("Reverter deployment was not mined")


async def test_wrap_eth_is_journalled_confirmed_and_published(
    devnet: World, tmp_path: Path
) -> None:
    journal_path = tmp_path / "journal.sqlite"
    async with operator(devnet, journal_path=journal_path) as evm:
        seen: list[str] = []
        evm.events.subscribe(TxEvent, lambda event: seen.append(type(event).__name__))
        weth = evm.contract(devnet.book.contracts["WETH9"], abi("WETH9"))
        before_weth = weth.decode_result(
            "balanceOf", await evm.call(weth.request("balanceOf", evm.owner))
        )
        before_eth = await evm.balance()
        tx = await evm.send(weth.request("deposit", value=Decimal("1.5")))
        assert tx.state is TxState.BROADCAST
        assert tx.nonce == 0 and tx.venue_id == tx.hash
        await tx.wait()
        assert tx.state in (TxState.CONFIRMED, TxState.FINALIZED)
        assert tx.receipt is not None and tx.receipt.status == 1
        after_weth = weth.decode_result(
            "balanceOf", await evm.call(weth.request("balanceOf", evm.owner))
        )
        assert after_weth - before_weth == 15 * 10**17
        assert tx.fee is not None
        assert (
            tx.fee.amount == Decimal(tx.receipt.gas_used * tx.receipt.effective_gas_price) / 10**18
        )
        assert await evm.balance() == before_eth - Decimal("1.5") - tx.fee.amount
        assert seen.index("TxSigned") < seen.index("TxBroadcast") < seen.index("TxConfirmed")
        second = await evm.send_and_wait(
            to=weth.address, value=Decimal("0.1"), data=weth.encode("deposit")
        )
        assert second.nonce == 1
    reopened = SqliteJournal(journal_path)
    stored = reopened.load(tx.client_id)
    assert isinstance(stored, Transaction)
    assert stored.state is tx.state
    assert stored.attempts[0].raw == tx.attempts[0].raw
    reopened.close()


async def test_bad_input_is_refused_before_anything_is_sent(devnet: World, tmp_path: Path) -> None:
    async with operator(devnet, index=4) as evm:
        nonce = await evm.nonce()
        weth = evm.contract(devnet.book.contracts["WETH9"], abi("WETH9"))
        with pytest.raises(ValidationError, match="float"):
            await evm.send(to=weth.address, value=1.5)
        with pytest.raises(InvalidAmount):
            await evm.send(to=weth.address, value=Decimal("-1"))
        with pytest.raises(InvalidAmount):
            await evm.send(to=weth.address, value=Decimal("1e-19"))
        with pytest.raises(InvalidIdentifier):
            await evm.send(to="0x1234", value=Decimal(1))
        with pytest.raises(InvalidIdentifier):  # right length, wrong checksum case
            await evm.send(to="0x70997970c51812dc3A010C7d01b50e0d17dc79C8", value=Decimal(1))
        with pytest.raises(ValidationError, match="block gas limit"):
            await evm.send(to=weth.address, gas_limit=10**12)
        with pytest.raises(InsufficientFunds):
            await evm.send(weth.request("deposit", value=Decimal(10**9)))
        with pytest.raises(ValidationError, match="no function"):
            weth.request("mint", evm.owner, 1)
        with pytest.raises(ValidationError, match="bad arguments"):
            weth.request("transfer", "not-an-address", 1)
        with pytest.raises(Reverted):  # withdrawing WETH the account does not hold
            await evm.send(weth.request("withdraw", 10**30))
        assert await evm.nonce() == nonce
        assert evm.journal.non_terminal() == []
    with pytest.raises(AuthenticationError):
        keystore = tmp_path / "key.json"
        keystore.write_text(json.dumps(Account.encrypt(devnet.book.accounts[4].private_key, "pw")))
        OperatorFactory.create(
            "devnet", cache=False, rpc_url=devnet.rpc_url, keystore=str(keystore), password="wrong"
        )
    with pytest.raises(ConfigurationError, match="CHAINOPS_PRIVATE_KEY"):
        OperatorFactory.create("devnet", cache=False, rpc_url=devnet.rpc_url)


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
        await evm.send(to=devnet.book.accounts[1].address, value=Decimal(1))


async def test_closed_operator_reads_nothing_and_opens_no_session(devnet: World) -> None:
    evm = operator(devnet, index=6)
    async with evm:
        assert await evm.balance() > 0
    other = devnet.book.accounts[1].address
    for read in (evm.balance, evm.nonce, lambda: evm.call(build_request(None, to=other))):
        with pytest.raises(ConfigurationError, match="closed"):
            await read()
    assert evm.rpc._session is None  # nothing left open for the garbage collector to warn of


async def test_reverts_are_decoded_in_simulation_and_on_chain(devnet: World) -> None:
    address = deploy_reverter(devnet)
    async with operator(devnet, index=5) as evm:
        reverter = evm.contract(address, abi("Reverter"))
        nonce = await evm.nonce()
        with pytest.raises(Reverted) as info:
            await evm.send(reverter.request("revertWithReason", "no way"))
        assert info.value.reason == "no way"
        with pytest.raises(Reverted, match="InsufficientThing"):
            await evm.send(reverter.request("revertWithCustomError", 1, 2))
        with pytest.raises(Reverted, match="0x12"):
            await evm.send(reverter.request("panicDivide", 1, 0))
        assert await evm.nonce() == nonce  # a simulated revert never reaches the node
        with pytest.raises(Reverted):  # an explicit gas limit does not skip the simulation
            await evm.send(reverter.request("revertWithReason", "x", gas_limit=100_000))
        assert await evm.nonce() == nonce
        ok = await evm.send_and_wait(reverter.request("succeed", 7))
        assert ok.receipt is not None and ok.receipt.status == 1


async def test_mined_revert_is_reverted_with_reason(devnet: World) -> None:
    """A call that passes simulation but reverts when mined, because the state moved."""
    weth_address = devnet.book.contracts["WETH9"]
    thief = devnet.book.accounts[0].address
    async with operator(devnet, index=7) as evm:
        weth = evm.contract(weth_address, abi("WETH9"))
        held = weth.decode_result("balanceOf", await evm.call(weth.request("balanceOf", evm.owner)))
        await evm.send_and_wait(weth.request("approve", thief, held))
        devnet.anvil.set_mining("manual")
        try:
            ours = await evm.send(weth.request("withdraw", held))  # simulates fine now
            # Another account empties our balance first: a higher tip orders it ahead.
            steal = weth.encode("transferFrom", evm.owner, thief, held)
            devnet.anvil.rpc(
                "eth_sendTransaction",
                [
                    {
                        "from": thief,
                        "to": weth_address,
                        "data": "0x" + steal.hex(),
                        "gas": hex(100_000),
                        "maxPriorityFeePerGas": hex(100 * 10**9),
                        "maxFeePerGas": hex(200 * 10**9),
                    }
                ],
            )
            devnet.anvil.mine()
            with pytest.raises(Reverted):
                await ours.wait(timeout=10)
            assert ours.state is TxState.REVERTED
            assert ours.receipt is not None and ours.receipt.status == 0
            assert ours.receipt.revert_reason is not None
            assert ours.fee is not None and ours.fee.amount > 0
        finally:
            devnet.anvil.set_mining("auto")


async def test_confirmation_depth_and_timeout_under_automine(devnet: World) -> None:
    async with operator(devnet, index=8, track_finality=False) as evm:
        tx = await evm.send(to=devnet.book.accounts[1].address, value=Decimal("0.01"))
        await tx.wait()
        with pytest.raises(UnknownOutcome, match="1 of 3 confirmations"):
            await tx.wait(confirmations=3, timeout=0.5)
        devnet.anvil.mine(2)
        await tx.wait(confirmations=3, timeout=10)
        assert tx.confirmations >= 3


async def test_finality_is_reached_with_the_finalized_tag(devnet: World) -> None:
    async with operator(devnet, index=9) as evm:
        tx = await evm.send(to=devnet.book.accounts[1].address, value=Decimal("0.01"))
        devnet.anvil.mine(3)  # one slot per epoch: finalized trails the head by two blocks
        async with asyncio.timeout(10):
            await tx._wait_for(lambda t: t.state is TxState.FINALIZED)


async def test_concurrent_sends_get_contiguous_nonces_and_all_confirm(devnet: World) -> None:
    n = 500  # through the default in-flight window of 16: back-pressure, not a pile-up
    async with operator(devnet, index=2, track_finality=False) as evm:
        start = await evm.nonce()
        to = devnet.book.accounts[1].address
        txs = await asyncio.gather(*(evm.send(to=to, value=Decimal("0.001")) for _ in range(n)))
        await asyncio.gather(*(tx.wait() for tx in txs))
        assert sorted(tx.nonce for tx in txs) == list(range(start, start + n))
        assert all(tx.state is TxState.CONFIRMED for tx in txs)
        assert await evm.nonce() == start + n
        assert len({tx.hash for tx in txs}) == n


async def test_two_operators_sharing_a_journal_do_not_collide(
    devnet: World, tmp_path: Path
) -> None:
    path = tmp_path / "shared.sqlite"
    to = devnet.book.accounts[1].address
    one = operator(devnet, index=6, journal_path=path, track_finality=False)
    two = operator(devnet, index=6, journal_path=path, track_finality=False)
    async with one, two:
        start = await one.nonce()
        sends = [op.send(to=to, value=Decimal("0.001")) for _ in range(25) for op in (one, two)]
        txs = await asyncio.gather(*sends)
        await asyncio.gather(*(tx.wait() for tx in txs))
        assert sorted(tx.nonce for tx in txs) == list(range(start, start + 50))


def test_signer_sources_and_secrecy(
    devnet_world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = devnet_world.book.accounts[1].private_key
    signer = LocalSigner.from_key(key)
    assert key[2:] not in repr(signer) and key[2:] not in str(signer)
    monkeypatch.setenv("CHAINOPS_PRIVATE_KEY", key)
    assert LocalSigner.from_env().address == signer.address
    with pytest.raises(ValidationError) as info:
        LocalSigner.from_key("0x" + "zz" * 32)
    assert "zz" not in str(info.value)
    request = TxRequest(to=signer.address)
    assert request.gas_limit is None


async def test_legacy_chain_gets_gas_price_transactions() -> None:
    """A chain without EIP-1559 (Anvil on the Berlin rules) is priced with gasPrice."""
    legacy = ChainPlatform(
        name="legacy-devnet",
        kind=ChainKind.EVM,
        chain_id=31338,
        native_symbol="ETH",
        native_decimals=18,
        default_confirmations=1,
        supports_eip1559=False,
        is_local=True,
    )
    register_platform(legacy, replace=True)
    with Anvil(AnvilConfig(chain_id=31338, hardfork="berlin")) as node:
        key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
        evm = OperatorFactory.create(
            "legacy-devnet", cache=False, rpc_url=node.url, private_key=key, track_finality=False
        )
        assert isinstance(evm, EvmOperator)
        async with evm:
            tx = await evm.send_and_wait(
                to="0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", value=Decimal("0.5")
            )
        assert tx.fee_params is not None and tx.fee_params.gas_price is not None
        assert not tx.fee_params.is_eip1559
        mined = node.rpc("eth_getTransactionByHash", [str(tx.hash)])
        assert mined["type"] == "0x0"


async def test_contract_handle_decodes_struct_outputs(devnet: World) -> None:
    """QuoterV2 returns several values; positions() of the NFT manager returns a struct-like
    tuple: both come back decoded."""
    async with operator(devnet, index=8) as evm:
        quoter = evm.contract(devnet.book.contracts["QuoterV2"], abi("QuoterV2"))
        weth, usdc = devnet.book.token("WETH").address, devnet.book.token("USDC").address
        raw = await evm.call(quoter.request("quoteExactInputSingle", (weth, usdc, 10**18, 500, 0)))
        amount_out, _, ticks, gas = quoter.decode_result("quoteExactInputSingle", raw)
        assert 1900 * 10**6 < amount_out < 2100 * 10**6 and ticks >= 0 and gas > 0
        npm = evm.contract(
            devnet.book.contracts["NonfungiblePositionManager"], abi("NonfungiblePositionManager")
        )
        position = npm.decode_result("positions", await evm.call(npm.request("positions", 1)))
        assert len(position) == 12 and position[4] in (500, 3000, 100, 10000)


async def test_connect_by_url_is_a_started_operator_closed_on_exit(
    devnet: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHAINOPS_NETWORK", raising=False)
    key = devnet.book.accounts[4].private_key
    wallet = LocalSigner.from_key(key)
    config = tmp_path / "config.toml"
    config.write_text("")  # empty: built-in defaults only
    async with EvmOperator.connect(devnet.rpc_url, wallet=wallet, config=config) as evm:
        assert type(evm) is EvmOperator and evm.started
        assert evm.owner == devnet.book.accounts[4].address
        tx = await evm.send(to=devnet.book.accounts[1].address, value=Decimal("0.01"))
        assert await tx.wait() is tx and tx.state is TxState.CONFIRMED
    assert evm.closed


async def test_connect_by_name_reads_the_configured_network(
    devnet: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHAINOPS_RPC_URL", raising=False)
    monkeypatch.setenv("CHAINOPS_PRIVATE_KEY", devnet.book.accounts[4].private_key)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[networks.devnet]\nrpc_urls = ["{devnet.rpc_url}"]\nconfirmations = 2\n'
        '[networks.devnet.fee]\nmax_fee_gwei = "500"\n'
    )
    async with EvmOperator.connect("devnet", config=config, max_in_flight=4) as evm:
        assert evm.monitor.confirmations == 2
        assert evm.config.max_fee_cap_wei == 500 * 10**9 and evm.config.max_in_flight == 4
        assert evm.owner == devnet.book.accounts[4].address  # the key from the environment


async def test_connect_refuses_unknown_networks_before_connecting(tmp_path: Path) -> None:
    wallet = LocalSigner.from_key("0x" + "11" * 32)
    config = tmp_path / "c.toml"
    config.write_text("")
    with pytest.raises(ConfigurationError, match="unknown network 'nowhere'"):
        async with EvmOperator.connect("nowhere", wallet=wallet, config=config):
            raise AssertionError("unreachable")


async def test_confirmed_transactions_leave_the_operators_memory(devnet: World) -> None:
    async with operator(devnet, track_finality=False) as evm:
        to = devnet.book.accounts[8].address
        # A deadline and a live monitor entry each keep per-transaction state while pending.
        txs = [await evm.send(to=to, value=Decimal("0.001"), deadline=60) for _ in range(10)]
        for tx in txs:
            await tx.wait(timeout=30)
        refs = [weakref.ref(tx) for tx in txs]
        cid, tx_hash = str(txs[0].client_id), txs[0].hash
        del tx, txs
        await evm.commits.drain()
        for _ in range(200):  # a monitor turn under way still holds its list: let it end
            await asyncio.sleep(0.01)
            gc.collect()
            if all(r() is None for r in refs):
                break
        assert [r for r in refs if r() is not None] == []
        assert evm.watchdog.deadlines == {}
        stored = await evm.transaction(cid)
        assert stored is not None and stored.state is TxState.CONFIRMED
        assert stored.hash == tx_hash
        assert (await stored.wait(timeout=5)) is stored
