from __future__ import annotations

import dataclasses

import pytest

from chainops.core.errors import ConfigurationError
from chainops.core.platforms import (
    ChainKind,
    ChainPlatform,
    ExchangePlatform,
    get_chain,
    get_exchange,
    get_platform,
    platforms,
    register_platform,
)


@pytest.mark.parametrize(
    ("name", "chain_id", "symbol"),
    [
        ("ethereum", 1, "ETH"),
        ("arbitrum", 42161, "ETH"),
        ("base", 8453, "ETH"),
        ("optimism", 10, "ETH"),
        ("polygon", 137, "POL"),
        ("bsc", 56, "BNB"),
        ("anvil", 31337, "ETH"),
    ],
)
def test_well_known_evm_chains(name: str, chain_id: int, symbol: str) -> None:
    chain = get_chain(name)
    assert chain.name == name
    assert chain.kind is ChainKind.EVM and chain.is_evm
    assert chain.chain_id == chain_id
    assert chain.native_symbol == symbol and chain.native_decimals == 18
    assert get_platform(chain_id) is chain
    assert get_platform(str(chain_id)) is chain
    assert get_platform(name.upper()) is chain


def test_devnet_and_anvil_are_the_same_chain() -> None:
    assert get_platform("devnet") is get_platform("anvil") is get_platform(31337)
    devnet = get_chain("devnet")
    assert devnet.is_local and devnet.explorer_url is None
    assert devnet.tx_url("0x00") is None


def test_eip1559_flags() -> None:
    assert get_chain("ethereum").supports_eip1559
    assert get_chain("anvil").supports_eip1559
    assert not get_chain("bsc").supports_eip1559


def test_solana_clusters() -> None:
    main = get_chain("solana")
    assert main.kind is ChainKind.SOLANA and not main.is_evm
    assert main.chain_id == "mainnet-beta"
    assert main.native_symbol == "SOL" and main.native_decimals == 9
    assert get_chain("solana-mainnet") is main
    assert get_chain("solana-devnet").chain_id == "devnet"
    local = get_chain("solana-local")
    assert local.is_local and get_chain("solana-localnet") is local
    # "devnet" alone is the EVM devnet, never the Solana cluster
    assert get_chain("devnet").kind is ChainKind.EVM


def test_explorer_links() -> None:
    assert get_chain("base").tx_url("0xab") == "https://basescan.org/tx/0xab"
    assert get_chain("ethereum").address_url("0xcd") == "https://etherscan.io/address/0xcd"
    assert (
        get_chain("solana-devnet").tx_url("sig")
        == "https://explorer.solana.com/tx/sig?cluster=devnet"
    )
    assert get_chain("solana").address_url("key") == "https://explorer.solana.com/account/key"


def test_exchange() -> None:
    binance = get_exchange("binance")
    assert isinstance(binance, ExchangePlatform)
    assert str(binance) == "binance"
    with pytest.raises(ConfigurationError, match="not a chain"):
        get_chain("binance")
    with pytest.raises(ConfigurationError, match="not an exchange"):
        get_exchange("ethereum")


@pytest.mark.parametrize("key", ["nowhere", 999_999_999, "999999999", ""])
def test_unknown(key: str | int) -> None:
    with pytest.raises(ConfigurationError, match="unknown platform"):
        get_platform(key)


def test_bool_is_not_a_chain_id() -> None:
    with pytest.raises(ConfigurationError):
        get_platform(True)


def test_register_and_conflicts() -> None:
    chain = ChainPlatform(
        name="testchain-a",
        kind=ChainKind.EVM,
        chain_id=424242,
        native_symbol="TST",
        native_decimals=18,
        default_confirmations=2,
    )
    assert register_platform(chain, aliases=("tca",)) is chain
    assert get_platform("tca") is chain and get_platform(424242) is chain
    assert "testchain-a" in platforms() and "tca" not in platforms()
    # registering the same thing twice is harmless
    register_platform(chain)
    clash = dataclasses.replace(chain, name="testchain-b")
    with pytest.raises(ConfigurationError, match="chain id 424242"):
        register_platform(clash)
    renamed = dataclasses.replace(chain, native_symbol="XXX")
    with pytest.raises(ConfigurationError, match="already registered"):
        register_platform(renamed)
    register_platform(renamed, replace=True)
    assert get_chain(424242).native_symbol == "XXX"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "Bad Name", "kind": ChainKind.EVM, "chain_id": 5},
        {"name": "x", "kind": ChainKind.EVM, "chain_id": "5"},
        {"name": "x", "kind": ChainKind.EVM, "chain_id": 0},
        {"name": "x", "kind": ChainKind.EVM, "chain_id": True},
        {"name": "x", "kind": ChainKind.SOLANA, "chain_id": 5},
        {"name": "x", "kind": ChainKind.SOLANA, "chain_id": None, "supports_eip1559": True},
        {"name": "x", "kind": ChainKind.EVM, "chain_id": 5, "native_decimals": 300},
        {"name": "x", "kind": ChainKind.EVM, "chain_id": 5, "default_confirmations": -1},
    ],
)
def test_invalid_chain_definitions(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {"native_symbol": "X", "native_decimals": 18}
    with pytest.raises(ConfigurationError):
        ChainPlatform(**(base | kwargs))  # type: ignore[arg-type]


def test_platforms_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_chain("base").chain_id = 1  # type: ignore[misc]
