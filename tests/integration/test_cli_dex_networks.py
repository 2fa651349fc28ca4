"""The same swap through `--network devnet` and through a network that only a config file
defines (pointing at the same fork): the DEX commands resolve networks like every other."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chainops.cli.main import app
from chainops.devnet.world import World

pytestmark = pytest.mark.integration


def swap(args: list[str], env: dict[str, str]) -> Any:
    result = CliRunner().invoke(
        app, ["swap", "1", "WETH", "USDC", "--fee", "500", "--yes", "--json", *args], env=env
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_same_swap_via_devnet_and_a_config_only_network(devnet: World, tmp_path: Path) -> None:
    key = devnet.book.accounts[6].private_key
    config = tmp_path / "config.toml"
    config.write_text(f'[networks.myfork]\nchain_id = 31337\nrpc_urls = ["{devnet.rpc_url}"]\n')
    env = {"CHAINOPS_CONFIG": str(config), "CHAINOPS_HOME": str(tmp_path / "home")}
    snapshot = devnet.anvil.snapshot()
    env["CHAINOPS_PRIVATE_KEY"] = key
    direct = swap(["--network", "devnet", "--rpc-url", devnet.rpc_url], env)
    devnet.anvil.revert(snapshot)  # the second swap starts from the very same state
    # a fresh journal: the first one would see the revert as a reorg and re-send its swap
    env["CHAINOPS_HOME"] = str(tmp_path / "home2")
    configured = swap(["--network", "myfork"], env)
    one, two = direct["order"], configured["order"]
    assert one["state"] == two["state"] == "FILLED"
    assert one["fills"] and two["fills"]
    amounts = [[(f["base_amount"], f["quote_amount"]) for f in o["fills"]] for o in (one, two)]
    assert amounts[0] == amounts[1]  # the same swap, to the wei, through either network
