"""Which name means the chain's native coin in a DEX path: "ETH" only where the native
coin is ether; on Polygon "ETH" would otherwise sell POL while WETH is bridged ether."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chainops.deployments import UnknownToken, deployment
from chainops.operators.base import OperatorFactory
from chainops.operators.dapps import DexContext
from chainops.operators.evm import EvmOperator

KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # a public test key


@pytest.fixture
def context() -> Iterator[object]:
    def make(network: str) -> DexContext:
        evm = OperatorFactory.create(
            network, cache=False, rpc_url="http://127.0.0.1:9", private_key=KEY
        )  # never started: names resolve from the address book alone
        assert isinstance(evm, EvmOperator)
        return DexContext(evm, deployment(network).address_book())

    yield make


@pytest.mark.parametrize("network", ["ethereum", "arbitrum", "base", "optimism"])
def test_eth_is_the_native_coin_where_the_native_coin_is_ether(context, network: str) -> None:
    ctx = context(network)
    assert ctx.is_native("ETH") and ctx.is_native("eth")
    assert ctx.token("ETH").symbol == "WETH"


@pytest.mark.parametrize(
    ("network", "native", "wrapped"), [("polygon", "POL", "WPOL"), ("bsc", "BNB", "WBNB")]
)
def test_eth_is_not_the_native_coin_elsewhere(
    context, network: str, native: str, wrapped: str
) -> None:
    ctx = context(network)
    assert ctx.is_native(native) and ctx.token(native).symbol == wrapped
    assert not ctx.is_native("ETH")
    with pytest.raises(UnknownToken, match=f"native coin is {native}"):
        ctx.token("ETH")


def test_bridged_ether_keeps_its_own_name_on_polygon(context) -> None:
    ctx = context("polygon")
    weth = ctx.token("WETH")
    assert weth.symbol == "WETH" and not ctx.is_native("WETH")
    assert str(weth.address) == str(deployment("polygon").token("WETH").address)
