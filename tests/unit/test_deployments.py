"""Canonical deployments: well-formed data, token lookup, devnet registration."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from eth_utils import to_checksum_address

from chainops.core.addressbook import AddressBook, TokenEntry
from chainops.core.assets import Token
from chainops.core.errors import ConfigurationError
from chainops.core.platforms import get_chain
from chainops.deployments import (
    AmbiguousToken,
    UnknownToken,
    deployment,
    deployments,
    find_token,
    register_address_book,
)

CHAINS = ("ethereum", "arbitrum", "optimism", "base", "polygon", "bsc")
CONTRACTS = (
    "WETH9",
    "UniswapV2Factory",
    "UniswapV2Router02",
    "UniswapV3Factory",
    "SwapRouter02",
    "QuoterV2",
    "NonfungiblePositionManager",
)


@pytest.mark.parametrize("name", CHAINS)
def test_every_chain_has_the_canonical_set(name: str) -> None:
    dep = deployment(name)
    assert dep.chain_id == get_chain(name).chain_id
    for contract in CONTRACTS:
        address = str(dep.contract(contract))
        assert to_checksum_address(address) == address  # typos break the checksum
    for token in dep.tokens:
        assert to_checksum_address(str(token.address)) == str(token.address)
        assert token.platform == name
    symbols = {t.symbol for t in dep.tokens}
    assert {"USDC", "USDT"} & symbols
    assert str(dep.contract("WETH9")) in {str(t.address) for t in dep.tokens}


def test_lookup_by_symbol_alias_and_address() -> None:
    usdc = find_token("mainnet", "usdc")
    assert usdc.decimals == 6
    assert str(usdc.address) == "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
    assert find_token(1, str(usdc.address).lower()) == usdc
    assert find_token("bnb", "USDT").decimals == 18  # BSC's peg has 18 decimals
    assert deployment(8453).contract("UniswapV3Factory") != deployment(1).contract(
        "UniswapV3Factory"
    )


def test_unknown_token_and_network() -> None:
    with pytest.raises(UnknownToken, match=r"unknown token 'NOPE' on base \(known: .*USDC"):
        find_token("base", "NOPE")
    with pytest.raises(UnknownToken, match="no token at"):
        find_token("base", "0x000000000000000000000000000000000000dEaD")
    with pytest.raises(ConfigurationError, match="unknown platform"):
        find_token("atlantis", "USDC")
    with pytest.raises(ConfigurationError, match="no deployments are known for solana"):
        deployment("solana")


def test_ambiguous_symbol() -> None:
    dep = deployment("ethereum")
    other = Token("USDC", 6, "ethereum", "0x000000000000000000000000000000000000dEaD")
    with pytest.raises(AmbiguousToken, match=r"ambiguous.*pass the address"):
        dep.with_tokens(other).token("USDC")
    assert dep.with_tokens(other).token(str(other.address)) == other


def test_devnet_registers_its_own_book() -> None:
    book = AddressBook(
        chain_id=31337,
        contracts={"WETH9": "0x5FbDB2315678afecb367f032d93F642f64180aa3"},
        tokens={
            "TKN": TokenEntry("TKN", "Token", "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", 6, "x")
        },
    )
    register_address_book(book)
    assert find_token("devnet", "tkn").decimals == 6
    assert "anvil" in deployments()
    wrong = AddressBook(chain_id=1)
    with pytest.raises(ConfigurationError, match="chain id"):
        register_address_book(wrong)


def test_as_address_book_for_the_dapp_operators() -> None:
    book = deployment("arbitrum").address_book()
    assert book.chain_id == 42161
    assert book.token("weth").kind == "weth" and book.token("USDC").kind == "standard"
    assert book.contract("QuoterV2") == "0x61fFE014bA17989E743c5F6cB21bF9697530B21e"


def _uniswap_packages() -> dict[str, Any]:
    """The addresses Uniswap's own npm packages (sdk-core, smart-order-router) publish."""
    root = Path(__file__).resolve().parents[2]
    script = Path(__file__).with_name("uniswap_addresses.cjs")
    env = {**os.environ, "NODE_PATH": str(root / "tools" / "node_modules")}
    out = subprocess.run(
        ["node", str(script)], capture_output=True, text=True, check=True, env=env, timeout=120
    )
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def test_canonical_deployments_equal_uniswaps_own_packages() -> None:
    published = _uniswap_packages()
    assert set(published) == set(CHAINS)
    for name, theirs in published.items():
        dep = deployment(name)
        assert dep.chain_id == theirs["chain_id"]
        for contract, address in theirs["contracts"].items():
            assert str(dep.contract(contract)).lower() == address.lower(), (name, contract)
        # sdk-core's quoterAddress is the older V1 Quoter on most chains: never ours.
        if theirs["sdk_core_quoter"].lower() != str(dep.contract("QuoterV2")).lower():
            assert name in {"ethereum", "arbitrum", "optimism", "polygon"}
        by_address = {str(t.address).lower(): t for t in dep.tokens}
        for symbol, token in theirs["tokens"].items():
            ours = by_address.get(token["address"].lower())
            assert ours is not None, f"{name} lacks {symbol} at {token['address']}"
            assert ours.decimals == token["decimals"], (name, symbol)
            if symbol != theirs["wrapped_native"]:  # WMATIC is WPOL since the rename
                assert ours.symbol == symbol, (name, symbol)
        wrapped = by_address[theirs["contracts"]["WETH9"].lower()]
        assert str(dep.contract("WETH9")) == str(wrapped.address)
