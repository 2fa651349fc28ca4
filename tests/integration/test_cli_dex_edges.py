"""Edges of the token, weth and send commands: exit codes as documented, bad input refused
before the confirmation prompt, and revoking an allowance."""

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
ACCOUNT = 7


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINOPS_HOME", str(tmp_path))  # journals stay out of the user's home


def run(world: World, *args: str) -> Any:
    key = world.book.accounts[ACCOUNT].private_key
    return runner.invoke(
        app, [*args, "--rpc-url", world.rpc_url], env={"CHAINOPS_PRIVATE_KEY": key}
    )


def nonce(world: World) -> int:
    address = world.book.accounts[ACCOUNT].address
    return int(world.anvil.rpc("eth_getTransactionCount", [address, "latest"]), 16)


def test_sending_more_tokens_than_held_is_bad_input_and_sends_nothing(devnet: World) -> None:
    to = devnet.book.accounts[8].address
    before = nonce(devnet)
    result = run(devnet, "send", "1000000000", "USDC", "--to", to, "--yes", "--json")
    assert result.exit_code == 1, result.output  # as for the native asset: nothing was sent
    error = json.loads(result.stdout)
    assert error["error"] == "InsufficientFunds"
    assert "cannot send 1000000000 USDC" in error["message"]
    assert nonce(devnet) == before


def test_approve_zero_revokes_an_allowance(devnet: World) -> None:
    approved = run(devnet, "token", "approve", "USDT", "SwapRouter", "3", "--yes", "--json")
    assert approved.exit_code == 0, approved.output
    assert json.loads(approved.stdout)["allowance"] == "3"
    revoked = run(devnet, "token", "approve", "USDT", "SwapRouter", "0", "--yes", "--json")
    assert revoked.exit_code == 0, revoked.output
    assert json.loads(revoked.stdout)["allowance"] == "0"
    left = run(devnet, "token", "allowance", "USDT", "SwapRouter", "--json")
    assert json.loads(left.stdout)["allowance"] == "0"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("token", "approve", "USDC", "SwapRouter", "5", "--unlimited"), "not both"),
        (("token", "approve", "USDC", "SwapRouter", "0.0000001"), "more decimals than USDC"),
        (("token", "approve", "USDC", "NotAContract", "5"), "neither an address nor a contract"),
        (("weth", "wrap", "0.0000000000000000001"), "more decimals than WETH"),
        (("send", "1", "--to", "0x" + "0" * 40), "zero address"),
        (("send", "1", "USDC", "--to", "0x" + "0" * 40), "zero address"),
    ],
)
def test_bad_input_is_refused_before_asking(
    devnet: World, args: tuple[str, ...], message: str
) -> None:
    result = run(devnet, *args, "--json")  # no --yes, stdin closed: a prompt would exit 10
    assert result.exit_code == 1, result.output
    assert message in json.loads(result.stdout)["message"]


@pytest.mark.parametrize("command", ["remove", "collect"])
def test_another_accounts_position_is_refused_before_asking(devnet: World, command: str) -> None:
    foreign = "1"  # minted by the devnet's deployer
    result = run(devnet, "lp", command, foreign, "--json")  # no --yes, stdin closed
    assert result.exit_code == 1, result.output
    assert "belongs to" in json.loads(result.stdout)["message"]
