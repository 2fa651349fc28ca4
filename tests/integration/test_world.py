"""The devnet world: deployed contracts, mainnet-equal init code hashes, swaps, forks."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode
from eth_utils import keccak, to_checksum_address
from web3 import Web3

from chainops.devnet.anvil import Anvil, AnvilConfig
from chainops.devnet.artifacts import (
    UNISWAP_V2_PAIR_INIT_CODE_HASH,
    UNISWAP_V3_POOL_INIT_CODE_HASH,
    npm_artifact,
)
from chainops.devnet.world import World, _write_cache, world_cache_key

pytestmark = pytest.mark.integration
ABIS = Path(__file__).resolve().parents[2] / "chainops" / "abis"


def abi(name: str) -> Any:
    return json.loads((ABIS / f"{name}.json").read_text())


def web3(world: World) -> Web3:
    return Web3(Web3.HTTPProvider(world.rpc_url))


def create2(deployer: str, salt: bytes, init_code_hash: str) -> str:
    digest = keccak(
        b"\xff" + bytes.fromhex(deployer[2:]) + salt + bytes.fromhex(init_code_hash[2:])
    )
    return to_checksum_address(digest[12:])


def test_every_contract_and_token_has_code(devnet_world: World) -> None:
    w3 = web3(devnet_world)
    assert w3.eth.chain_id == devnet_world.chain_id == 31337
    addresses = list(devnet_world.book.contracts.values())
    addresses += [t.address for t in devnet_world.book.tokens.values()]
    addresses += [p.address for p in devnet_world.book.pools]
    for address in addresses:
        assert len(w3.eth.get_code(address)) > 0, address


def test_npm_artifacts_hash_to_mainnet_init_code() -> None:
    assert (
        keccak(hexstr=npm_artifact("UniswapV2Pair").bytecode).hex()
        == (UNISWAP_V2_PAIR_INIT_CODE_HASH[2:])
    )
    assert (
        keccak(hexstr=npm_artifact("UniswapV3Pool").bytecode).hex()
        == (UNISWAP_V3_POOL_INIT_CODE_HASH[2:])
    )


def test_pool_addresses_follow_mainnet_init_code_hashes(devnet_world: World) -> None:
    book = devnet_world.book
    v2_factory = book.contract("UniswapV2Factory")
    v3_factory = book.contract("UniswapV3Factory")
    v2 = [p for p in book.pools if p.dex == "uniswap-v2"]
    v3 = [p for p in book.pools if p.dex == "uniswap-v3"]
    assert len(v2) >= 5 and len({p.fee for p in v3}) >= 2
    for pool in v2:
        t0, t1 = book.token(pool.token0).address, book.token(pool.token1).address
        salt = keccak(bytes.fromhex(t0[2:]) + bytes.fromhex(t1[2:]))
        assert create2(v2_factory, salt, UNISWAP_V2_PAIR_INIT_CODE_HASH) == pool.address
    for pool in v3:
        t0, t1 = book.token(pool.token0).address, book.token(pool.token1).address
        salt = keccak(encode(["address", "address", "uint24"], [t0, t1, pool.fee]))
        assert create2(v3_factory, salt, UNISWAP_V3_POOL_INIT_CODE_HASH) == pool.address


def test_pools_are_priced_sensibly(devnet_world: World) -> None:
    w3 = web3(devnet_world)
    book = devnet_world.book
    pair = book.pool("uniswap-v2", "WETH", "USDC")
    r0, r1, _ = (
        w3.eth.contract(address=pair.address, abi=abi("UniswapV2Pair"))
        .functions.getReserves()
        .call()
    )
    weth, usdc = (r0, r1) if pair.token0 == "WETH" else (r1, r0)
    assert 1990 < (usdc / 10**6) / (weth / 10**18) < 2010
    pool = book.pool("uniswap-v3", "WETH", "USDC", 500)
    contract = w3.eth.contract(address=pool.address, abi=abi("UniswapV3Pool"))
    sqrt_price = contract.functions.slot0().call()[0]
    raw = (sqrt_price / 2**96) ** 2  # token1 raw per token0 raw
    usd = raw * 10**12 if pool.token0 == "WETH" else 10**12 / raw
    assert 1990 < usd < 2010
    assert contract.functions.liquidity().call() > 0


def test_accounts_are_funded_with_every_token(devnet_world: World) -> None:
    w3 = web3(devnet_world)
    erc20 = abi("ERC20")
    for account in devnet_world.book.accounts[1:]:
        assert w3.eth.get_transaction_count(account.address) == 0
        assert w3.eth.get_balance(account.address) >= 10**21
        for token in devnet_world.book.tokens.values():
            balance = (
                w3.eth.contract(address=token.address, abi=erc20)
                .functions.balanceOf(account.address)
                .call()
            )
            assert balance > 0, (token.symbol, account.address)


def _approve(w3: Web3, token: str, spender: str, sender: str, amount: int) -> None:
    contract = w3.eth.contract(address=token, abi=abi("ERC20"))
    w3.eth.wait_for_transaction_receipt(
        contract.functions.approve(spender, amount).transact({"from": sender})
    )


def test_v2_swap_through_router_matches_get_amounts_out(devnet: World) -> None:
    w3 = web3(devnet)
    book = devnet.book
    trader = book.accounts[1].address
    weth, usdc = book.token("WETH").address, book.token("USDC").address
    router = w3.eth.contract(
        address=book.contract("UniswapV2Router02"), abi=abi("UniswapV2Router02")
    )
    amount_in = 10**18
    expected = router.functions.getAmountsOut(amount_in, [weth, usdc]).call()[-1]
    _approve(w3, weth, router.address, trader, amount_in)
    token = w3.eth.contract(address=usdc, abi=abi("ERC20"))
    before = token.functions.balanceOf(trader).call()
    deadline = w3.eth.get_block("latest")["timestamp"] + 600
    tx = router.functions.swapExactTokensForTokens(
        amount_in, expected, [weth, usdc], trader, deadline
    ).transact({"from": trader})
    assert w3.eth.wait_for_transaction_receipt(tx)["status"] == 1
    assert token.functions.balanceOf(trader).call() - before == expected
    assert 1900 * 10**6 < expected < 2000 * 10**6


def test_v3_swap_through_router_matches_quoter(devnet: World) -> None:
    w3 = web3(devnet)
    book = devnet.book
    trader = book.accounts[2].address
    weth, usdc = book.token("WETH").address, book.token("USDC").address
    quoter = w3.eth.contract(address=book.contract("QuoterV2"), abi=abi("QuoterV2"))
    router = w3.eth.contract(address=book.contract("SwapRouter"), abi=abi("SwapRouter"))
    amount_in = 150 * 10**18  # large enough to cross the concentrated ranges' ticks
    weth_contract = w3.eth.contract(address=weth, abi=abi("WETH9"))
    wrap = weth_contract.functions.deposit().transact({"from": trader, "value": amount_in})
    w3.eth.wait_for_transaction_receipt(wrap)
    quoted, _, ticks_crossed, _ = quoter.functions.quoteExactInputSingle(
        (weth, usdc, amount_in, 500, 0)
    ).call()
    assert ticks_crossed >= 1
    _approve(w3, weth, router.address, trader, amount_in)
    token = w3.eth.contract(address=usdc, abi=abi("ERC20"))
    before = token.functions.balanceOf(trader).call()
    deadline = w3.eth.get_block("latest")["timestamp"] + 600
    tx = router.functions.exactInputSingle(
        (weth, usdc, 500, trader, deadline, amount_in, quoted, 0)
    ).transact({"from": trader})
    assert w3.eth.wait_for_transaction_receipt(tx)["status"] == 1
    assert token.functions.balanceOf(trader).call() - before == quoted


def test_fork_sees_the_same_state_and_diverges_alone(devnet_world: World) -> None:
    world_w3 = web3(devnet_world)
    fork = devnet_world.fork()
    try:
        fork_w3 = web3(fork)
        assert fork.rpc_url != devnet_world.rpc_url
        assert fork_w3.eth.chain_id == world_w3.eth.chain_id
        head = world_w3.eth.block_number
        assert fork_w3.eth.get_block(head)["hash"] == world_w3.eth.get_block(head)["hash"]
        for account in devnet_world.book.accounts:
            assert fork_w3.eth.get_balance(account.address) == world_w3.eth.get_balance(
                account.address
            )
        erc20 = abi("ERC20")
        for token in devnet_world.book.tokens.values():
            for account in devnet_world.book.accounts[:3]:
                args = (account.address,)
                on_world = world_w3.eth.contract(address=token.address, abi=erc20).functions
                on_fork = fork_w3.eth.contract(address=token.address, abi=erc20).functions
                assert on_world.balanceOf(*args).call() == on_fork.balanceOf(*args).call()
        receiver = devnet_world.book.accounts[9].address
        before = world_w3.eth.get_balance(receiver)
        tx = fork_w3.eth.send_transaction(
            {"from": devnet_world.book.accounts[8].address, "to": receiver, "value": 12345}
        )
        fork_w3.eth.wait_for_transaction_receipt(tx)
        assert fork_w3.eth.get_balance(receiver) == before + 12345
        assert world_w3.eth.get_balance(receiver) == before
    finally:
        fork.stop()
    assert not fork.anvil.running


def test_per_test_isolation_first(devnet: World) -> None:
    w3 = web3(devnet)
    target = devnet.book.accounts[7].address
    devnet.anvil.set_balance(target, 7)
    assert w3.eth.get_balance(target) == 7


def test_per_test_isolation_second(devnet: World) -> None:
    # Runs after the test above in the same module fork: its change must be gone.
    assert web3(devnet).eth.get_balance(devnet.book.accounts[7].address) > 7


def test_cold_deploy_gives_the_cached_addresses(devnet_world: World, tmp_path: Path) -> None:
    cold = World.start(cache_dir=tmp_path, use_cache=False)
    try:
        assert not cold.started_from_cache
        assert cold.book.to_dict() == devnet_world.book.to_dict()
    finally:
        cold.stop()


def test_a_world_loaded_from_an_hours_old_state_starts_at_the_current_time(
    devnet_world: World, tmp_path: Path
) -> None:
    hours_ago = int(time.time()) - 3 * 3600
    state = tmp_path / f"{world_cache_key(AnvilConfig())}.state.json"
    book = state.with_name(state.name.replace(".state.", ".book."))
    with Anvil(AnvilConfig(extra_args=("--timestamp", str(hours_ago)))) as old:
        # Code at the WETH9 address is what a cached world is checked for on load.
        old.rpc("anvil_setCode", [devnet_world.book.contract("WETH9"), "0x00"])
        old.rpc("evm_mine", [hours_ago + 1])
        assert old.head_timestamp() == hours_ago + 1
        _write_cache(old, devnet_world.book, tmp_path, state, book)
    loaded = World.start(cache_dir=tmp_path)
    try:
        assert loaded.started_from_cache
        w3 = web3(loaded)
        head = w3.eth.get_block("latest")
        assert abs(head["timestamp"] - time.time()) < 10
        # The state's own head is still there, one block down, hours old.
        assert w3.eth.get_block(head["number"] - 1)["timestamp"] == hours_ago + 1
    finally:
        loaded.stop()
