"""`chainops swap --router SwapRouter02` against a fork of the devnet world."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chainops.cli.main import app
from chainops.devnet.world import World

pytestmark = pytest.mark.integration
runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINOPS_HOME", str(tmp_path))


def run(world: World, *args: str, ok: bool = True) -> Any:
    env = {"CHAINOPS_PRIVATE_KEY": world.book.accounts[8].private_key}
    result = runner.invoke(app, [*args, "--rpc-url", world.rpc_url, "--yes"], env=env)
    assert (result.exit_code == 0) is ok, result.output
    return result


def sent_to(world: World, tx_hash: str) -> str:
    return str(world.anvil.rpc("eth_getTransactionByHash", [tx_hash])["to"]).lower()


@pytest.mark.parametrize(
    "args",
    [
        ("1", "WETH", "USDC", "--fee", "500"),
        ("0.4", "USDC", "ETH", "--fee", "500", "--exact-out"),
        ("1000", "ETH", "DAI", "--via", "USDC", "--fee", "500,100", "--exact-out"),
    ],
)
def test_swap_through_router02(devnet: World, args: tuple[str, ...]) -> None:
    result = json.loads(run(devnet, "swap", *args, "--router", "SwapRouter02", "--json").stdout)
    order = result["order"]
    assert order["state"] == "FILLED" and len(order["fills"]) == 1
    assert sent_to(devnet, order["venue_id"]) == devnet.book.contract("SwapRouter02").lower()


def test_swap_default_router_on_the_devnet_is_swaprouter(devnet: World) -> None:
    result = json.loads(run(devnet, "swap", "1", "WETH", "USDC", "--fee", "500", "--json").stdout)
    assert (
        sent_to(devnet, result["order"]["venue_id"]) == devnet.book.contract("SwapRouter").lower()
    )


@pytest.mark.parametrize(
    "args",
    [
        ("1", "WETH", "USDC", "--router", "UniversalRouter"),
        ("1", "WETH", "USDC", "--dex", "v2", "--router", "SwapRouter02"),
    ],
)
def test_swap_bad_router_is_refused(devnet: World, args: tuple[str, ...]) -> None:
    result = run(devnet, "swap", *args, ok=False)
    assert "router" in result.output.lower()
