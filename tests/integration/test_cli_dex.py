"""Every DEX command of the CLI against a fork of the devnet world."""

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
    monkeypatch.setenv("CHAINOPS_HOME", str(tmp_path))  # journals stay out of the user's home


def run(world: World, *args: str, ok: bool = True, stdin: str | None = None) -> Any:
    key = world.book.accounts[7].private_key
    result = runner.invoke(
        app, [*args, "--rpc-url", world.rpc_url], input=stdin, env={"CHAINOPS_PRIVATE_KEY": key}
    )
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code != 0, result.output
    return result


READS = {"balance", "allowance", "list"}


def as_json(world: World, *args: str) -> Any:
    confirm = () if args[1] in READS else ("--yes",)
    return json.loads(run(world, *args, "--json", *confirm).stdout)


def test_token_and_weth_commands(devnet: World) -> None:
    before = as_json(devnet, "token", "balance", "WETH")
    wrapped = as_json(devnet, "weth", "wrap", "1.5")
    assert float_free(wrapped["weth"]) == float_free(before["balance"]) + 15 / 10
    as_json(devnet, "weth", "unwrap", "0.5")
    assert as_json(devnet, "token", "balance", "WETH")["balance"] == str(
        float_free(before["balance"]) + 1
    )
    approved = as_json(devnet, "token", "approve", "USDC", "SwapRouter", "12.5")
    assert approved["allowance"] == "12.5"
    allowance = as_json(devnet, "token", "allowance", "USDC", "SwapRouter")
    assert allowance["allowance"] == "12.5"
    eth = as_json(devnet, "token", "balance", "ETH")
    assert float_free(eth["balance"]) > 0
    mkr = as_json(devnet, "token", "balance", "MKR")  # a bytes32-symbol token
    assert mkr["token"] == "MKR"


def float_free(text: str) -> Any:
    from decimal import Decimal

    value = Decimal(text)
    return value if value != value.to_integral_value() else int(value)


def test_swap_v2_v3_exact_out_and_json(devnet: World) -> None:
    v3 = as_json(devnet, "swap", "1", "WETH", "USDC", "--fee", "500", "--slippage", "0.3%")
    assert v3["order"]["state"] == "FILLED" and v3["quote"]["slippage_bps"] == 30
    v2 = as_json(devnet, "swap", "100", "USDC", "DAI", "--dex", "v2", "--via", "WETH")
    assert v2["order"]["state"] == "FILLED" and v2["quote"]["path"] == "USDC->WETH->DAI"
    out = as_json(devnet, "swap", "50", "DAI", "USDC", "--dex", "v2", "--exact-out")
    assert out["order"]["side"] == "BUY" and out["quote"]["amount_out"] == "50"


def test_swap_asks_before_sending_and_no_means_nothing_sent(devnet: World) -> None:
    declined = run(devnet, "swap", "1", "WETH", "USDC", stdin="n\n", ok=False)
    assert declined.exit_code == 10 and "nothing sent" in declined.output
    accepted = run(devnet, "swap", "1", "WETH", "USDC", stdin="y\n")
    assert "FILLED" in accepted.output


def test_swap_bad_inputs_fail_cleanly(devnet: World) -> None:
    for args in (
        ("swap", "0", "WETH", "USDC"),
        ("swap", "-1", "WETH", "USDC"),
        ("swap", "1", "WETH", "NOPE"),
        ("swap", "1.0000001", "USDC", "WETH"),
        ("swap", "1", "WETH", "USDC", "--slippage", "75%"),
        ("swap", "1", "WBTC", "USDC", "--fee", "500"),
        ("swap", "1", "WETH", "USDC", "--dex", "v4"),
        ("swap", "lots", "WETH", "USDC"),
        ("swap", "1", "WETH", "USDC", "--fee", "abc"),
        ("swap", "1", "WETH", "USDC", "--deadline", "0"),
        ("swap", "1000", "WBTC", "WETH", "--dex", "v2"),  # more than the account holds
    ):
        result = run(devnet, *args, "--yes", ok=False)
        assert "error" in result.output.lower()


def test_lp_add_list_collect_remove(devnet: World) -> None:
    added = as_json(
        devnet, "lp", "add", "WETH", "USDC", "--fee", "500", "--range", "1800:2200",
        "--amount0", "1", "--amount1", "2000",
    )  # fmt: skip
    token_id = str(added["token_id"])
    listed = as_json(devnet, "lp", "list")
    assert [p["token_id"] for p in listed] == [added["token_id"]] and listed[0]["in_range"]
    as_json(devnet, "swap", "10", "WETH", "USDC", "--fee", "500")
    collected = as_json(devnet, "lp", "collect", token_id)
    assert collected["collected0"] != "0" or collected["collected1"] != "0"
    closed = as_json(devnet, "lp", "remove", token_id)
    assert closed["closed"] is True
    assert as_json(devnet, "lp", "list") == []
    v2 = as_json(
        devnet, "lp", "add", "WETH", "DAI", "--dex", "v2", "--amount0", "1", "--amount1", "2500"
    )
    assert int(v2["lp_balance"]) > 0
    removed = as_json(devnet, "lp", "remove", "WETH/DAI", "--dex", "v2")
    assert removed["removed_lp"] == v2["lp_balance"]
    bad = run(devnet, "lp", "add", "WETH", "USDC", "--range", "2200:1800", "--amount0", "1",
              "--yes", ok=False)  # fmt: skip
    assert "error" in bad.output
