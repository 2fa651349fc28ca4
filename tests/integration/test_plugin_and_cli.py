"""The pytest plugin as a user's suite sees it, and the `chainops devnet` commands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from typer.testing import CliRunner
from web3 import Web3

from chainops.cli.main import app
from chainops.devnet.world import World

pytestmark = pytest.mark.integration
pytest_plugins = ["pytester"]

USER_SUITE = """
from web3 import Web3

def test_world(devnet_world):
    w3 = Web3(Web3.HTTPProvider(devnet_world.rpc_url))
    assert w3.eth.chain_id == 31337
    assert w3.eth.get_code(devnet_world.book.contract("QuoterV2"))

def test_isolated_change(devnet):
    devnet.anvil.set_balance(devnet.book.accounts[3].address, 1)

def test_change_is_gone(devnet, devnet_accounts):
    w3 = Web3(Web3.HTTPProvider(devnet.rpc_url))
    assert w3.eth.get_balance(devnet_accounts[2].address) > 1
    assert len(devnet_accounts) == 9

def test_fresh_fork_has_its_own_node(devnet_fresh, devnet_world):
    assert devnet_fresh.rpc_url != devnet_world.rpc_url
    devnet_fresh.anvil.set_mining("manual")

def test_fork_any_chain(anvil_fork, devnet_world):
    node = anvil_fork(devnet_world.rpc_url)
    assert node.chain_id() == 31337

def test_leaves_manual_mining_and_unmined_transactions(devnet, devnet_accounts):
    w3 = Web3(Web3.HTTPProvider(devnet.rpc_url))
    sender, to = devnet_accounts[4].address, devnet_accounts[5].address
    nonce = w3.eth.get_transaction_count(sender)
    w3.eth.send_transaction({"from": sender, "to": to, "value": 1, "nonce": nonce + 1})
    devnet.anvil.set_mining("manual")
    w3.eth.send_transaction({"from": to, "to": sender, "value": 1})

def test_starts_with_automine_and_an_empty_pool(devnet, devnet_accounts):
    assert devnet.anvil.rpc("txpool_status") == {"pending": "0x0", "queued": "0x0"}
    w3 = Web3(Web3.HTTPProvider(devnet.rpc_url))
    sender = devnet_accounts[4].address
    sent = w3.eth.send_transaction({"from": sender, "to": sender, "value": 0})
    assert w3.eth.wait_for_transaction_receipt(sent, timeout=5).status == 1
"""


def test_plugin_fixtures_work_in_a_users_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=7)


def test_cli_addresses_json_matches_the_world(devnet_world: World) -> None:
    result = CliRunner().invoke(app, ["devnet", "addresses", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == devnet_world.book.to_dict()


def test_cli_up_serves_the_world_and_stops_on_sigterm(devnet_world: World) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "chainops.cli.main", "devnet", "up", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "120"},
    )
    try:
        assert proc.stdout is not None
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("}"):
                break
        book = json.loads("".join(lines))
        assert book["contracts"] == devnet_world.book.contracts
        w3 = Web3(Web3.HTTPProvider(book["rpc_url"]))
        assert w3.eth.get_code(book["contracts"]["WETH9"])
        with urllib.request.urlopen(book["exchange"]["url"] + "/api/v3/ping", timeout=10) as r:
            assert r.status == 200  # the exchange simulator runs beside Anvil
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
