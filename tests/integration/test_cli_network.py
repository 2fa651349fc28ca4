"""The network commands (config, wallet, send, tx, devnet fork) by subprocess on devnet forks."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from net_cli_helpers import Cli

from chainops.devnet.world import World

pytestmark = pytest.mark.integration
pytest_plugins = ["pytester"]
PASSWORD = "script password"


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def balance(world: World, address: str) -> int:
    return int(world.anvil.rpc("eth_getBalance", [address, "latest"]), 16)


def token_balance(world: World, token: str, holder: str) -> int:
    data = "0x70a08231" + holder[2:].lower().rjust(64, "0")
    return int(world.anvil.rpc("eth_call", [{"to": token, "data": data}, "latest"]), 16)


def test_script_session(devnet: World, cli: Cli) -> None:
    """What a deployment script does: import a key, check config, send, follow, list."""
    sender = devnet.book.accounts[3]
    recipient = devnet.book.accounts[4].address
    cli.config.write_text(
        f'network = "devnet"\nwallet = "ops"\n[networks.devnet]\nrpc_urls = ["{devnet.rpc_url}"]\n'
        '[networks.devnet.fee]\npriority = "FAST"\n'
    )
    env = {"CHAINOPS_WALLET_PASSWORD": PASSWORD}
    imported = cli.json("wallet", "import", "ops", CHAINOPS_PRIVATE_KEY=sender.private_key, **env)
    assert imported["address"] == sender.address
    assert cli.json("wallet", "list") == [imported]
    assert cli.run("wallet", "export-address", "ops").stdout.strip() == sender.address
    assert sender.private_key[2:] not in cli.run("wallet", "show", "ops").stdout

    shown = cli.json("config", "show")
    assert shown["wallet"] == "ops" and shown["resolved"]["chain_id"] == 31337
    assert shown["resolved"]["fee"]["priority"] == "FAST"

    before = balance(devnet, recipient)
    sent = cli.json("send", "1.25", "--to", recipient, "--yes", **env)
    assert sent["state"] == "CONFIRMED" and sent["sender"] == sender.address
    assert balance(devnet, recipient) - before == 1_250_000_000_000_000_000

    usdc = devnet.book.token("USDC")
    before_usdc = token_balance(devnet, usdc.address, recipient)
    paid = cli.json("send", "12.345678", "usdc", "--to", recipient, "--yes", **env)
    assert paid["to"] == usdc.address and paid["asset"] == "USDC"
    assert token_balance(devnet, usdc.address, recipient) - before_usdc == 12_345_678

    listed = cli.json("tx", "list", "--account", sender.address)
    assert [row["client_id"] for row in listed] == [paid["client_id"], sent["client_id"]]
    status = cli.json("tx", "status", sent["hash"])
    assert status["state"] == "CONFIRMED" and status["client_id"] == sent["client_id"]
    shouted = "0X" + sent["hash"][2:].upper()  # a hash as some explorers print it
    assert cli.json("tx", "status", shouted)["client_id"] == sent["client_id"]
    waited = cli.json("tx", "wait", sent["client_id"])
    assert waited["state"] == "CONFIRMED"
    assert cli.json("tx", "list", "--pending") == []


def test_send_asks_before_sending(devnet: World, cli: Cli) -> None:
    key = devnet.book.accounts[5].private_key
    recipient = devnet.book.accounts[6].address
    before = balance(devnet, recipient)
    proc = cli.run(
        "send", "1", "--to", recipient, "--rpc-url", devnet.rpc_url,
        code=10, stdin="n\n", CHAINOPS_PRIVATE_KEY=key,
    )  # fmt: skip
    assert "devnet (chain 31337)" in proc.stderr
    assert devnet.book.accounts[5].address in proc.stderr
    assert balance(devnet, recipient) == before


def test_same_send_through_devnet_and_a_config_only_network(devnet: World, cli: Cli) -> None:
    key = devnet.book.accounts[5].private_key
    recipient = devnet.book.accounts[6].address
    cli.config.write_text(
        f'[networks.myfork]\nchain_id = 31337\nrpc_urls = ["{devnet.rpc_url}"]\nconfirmations = 1\n'
    )
    before = balance(devnet, recipient)
    via_devnet = cli.json(
        "send", "0.5", "--to", recipient, "--network", "devnet", "--rpc-url", devnet.rpc_url,
        "--yes", CHAINOPS_PRIVATE_KEY=key,
    )  # fmt: skip
    via_config = cli.json(
        "send", "0.5", "--to", recipient, "--network", "myfork", "--yes",
        CHAINOPS_PRIVATE_KEY=key,
    )  # fmt: skip
    assert via_devnet["state"] == via_config["state"] == "CONFIRMED"
    assert via_config["nonce"] == via_devnet["nonce"] + 1
    assert balance(devnet, recipient) - before == 10**18


def test_speed_up_then_mined(devnet_fresh: World, cli: Cli) -> None:
    world = devnet_fresh
    key = world.book.accounts[2].private_key
    flags = ("--rpc-url", world.rpc_url)
    world.anvil.set_mining("manual")
    sent = cli.json(
        "send", "0.1", "--to", world.book.accounts[3].address, "--no-wait", "--yes", *flags,
        CHAINOPS_PRIVATE_KEY=key,
    )  # fmt: skip
    assert sent["state"] == "BROADCAST"
    pending = cli.json("tx", "status", sent["client_id"], *flags)
    assert pending["on_chain"]["mined"] is False
    assert [r["client_id"] for r in cli.json("tx", "list", "--pending")] == [sent["client_id"]]
    bumped = cli.json(
        "tx", "speed-up", sent["client_id"], "--yes", *flags, CHAINOPS_PRIVATE_KEY=key
    )
    assert bumped["new_attempt"] != sent["hash"] and len(bumped["attempts"]) == 2
    world.anvil.mine()
    done = cli.json("tx", "wait", sent["client_id"], *flags, CHAINOPS_PRIVATE_KEY=key)
    assert done["state"] == "CONFIRMED" and done["winner"] == 1
    assert done["hash"] == bumped["new_attempt"]


def test_cancel_then_wait_reports_failure(devnet_fresh: World, cli: Cli) -> None:
    world = devnet_fresh
    key = world.book.accounts[2].private_key
    flags = ("--rpc-url", world.rpc_url)
    world.anvil.set_mining("manual")
    sent = cli.json(
        "send", "0.1", "--to", world.book.accounts[3].address, "--no-wait", "--yes", *flags,
        CHAINOPS_PRIVATE_KEY=key,
    )  # fmt: skip
    canceled = cli.json("tx", "cancel", sent["hash"], "--yes", *flags, CHAINOPS_PRIVATE_KEY=key)
    assert canceled["attempts"][-1]["kind"] == "CANCEL"
    world.anvil.mine()
    failed = cli.json("tx", "wait", sent["client_id"], *flags, code=4, CHAINOPS_PRIVATE_KEY=key)
    assert failed["error"] == "Rejected"
    status = cli.json("tx", "status", sent["client_id"])
    assert status["attempts"][status["winner"]]["kind"] == "CANCEL"


def test_devnet_fork_command(devnet: World, cli: Cli) -> None:
    head = devnet.anvil.block_number()
    proc = subprocess.Popen(
        [sys.executable, "-m", "chainops.cli.main", "devnet", "fork", "--fork-url",
         devnet.rpc_url, "--block", str(head), "--json"],
        env=cli.base_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["chain_id"] == 31337 and info["block"] == head
        key = devnet.book.accounts[8].private_key
        recipient = devnet.book.accounts[9].address
        sent = cli.json(
            "send", "2", "--to", recipient, "--rpc-url", info["rpc_url"], "--yes",
            CHAINOPS_PRIVATE_KEY=key,
        )  # fmt: skip
        assert sent["state"] == "CONFIRMED"
        assert sent["block"] == head + 1  # on the fork, not on the upstream
        assert devnet.anvil.block_number() == head
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode == 0


def test_fork_of_the_configured_network(devnet: World, tmp_path: Path) -> None:
    from chainops.testing.forks import fork_configured_network

    head = devnet.anvil.block_number()
    devnet.anvil.mine(2)  # the pin is older than the upstream's head
    config = tmp_path / "config.toml"
    config.write_text(f'network = "devnet"\n[networks.devnet]\nfork_block = {head}\n')
    with fork_configured_network(devnet.rpc_url, config=config) as fork:
        assert fork.block == head
        assert fork.network.rpc_urls == (fork.rpc_url,)
        assert fork.network.chain.chain_id == 31337
    config.write_text('network = "ethereum"\n')
    from chainops.core.errors import ConfigurationError

    with (
        pytest.raises(ConfigurationError, match="serves chain 31337"),
        fork_configured_network(devnet.rpc_url, config=config),
    ):
        pass


def test_fixture_skips_without_upstream(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHAINOPS_FORK_URL", raising=False)
    pytester.makepyfile("def test_fork(configured_network_fork):\n    raise AssertionError\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(skipped=1)


def test_fixture_with_an_unreachable_upstream_fails_in_one_line(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # port 9 (discard) answers nothing: Anvil cannot fork it and says so
    monkeypatch.setenv("CHAINOPS_FORK_URL", "http://127.0.0.1:9")
    pytester.makepyfile("def test_fork(configured_network_fork):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    assert "Anvil exited during start-up" in out
    assert "Traceback" not in out and "chainops/testing/" not in out


def test_amount_decimal_kept_exact(devnet: World, cli: Cli) -> None:
    key = devnet.book.accounts[5].private_key
    recipient = devnet.book.accounts[7].address
    before = balance(devnet, recipient)
    sent = cli.json(
        "send", "0.000000000000000001", "--to", recipient, "--rpc-url", devnet.rpc_url, "--yes",
        CHAINOPS_PRIVATE_KEY=key,
    )  # fmt: skip
    assert Decimal(sent["amount"]) == Decimal("1e-18")
    assert balance(devnet, recipient) - before == 1


def test_failover_to_the_next_rpc_url(devnet: World, cli: Cli) -> None:
    key = devnet.book.accounts[5].private_key
    recipient = devnet.book.accounts[8].address
    cli.config.write_text(
        'network = "failover"\n[networks.failover]\nchain_id = 31337\n'
        f'rpc_urls = ["http://127.0.0.1:9", "{devnet.rpc_url}"]\n'
    )
    before = balance(devnet, recipient)
    sent = cli.json("send", "0.75", "--to", recipient, "--yes", CHAINOPS_PRIVATE_KEY=key)
    assert sent["state"] == "CONFIRMED"
    assert balance(devnet, recipient) - before == 750_000_000_000_000_000
