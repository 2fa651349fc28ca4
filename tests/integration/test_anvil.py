"""The Anvil process manager: ports, readiness, mining modes, snapshots, shutdown."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from chainops.core.errors import ConfigurationError, DevnetError
from chainops.devnet.anvil import Anvil, AnvilConfig

pytestmark = pytest.mark.integration

SENDER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
RECEIVER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="module")
def node() -> Anvil:
    with Anvil(AnvilConfig(chain_id=31337)) as anvil:
        yield anvil


def send(anvil: Anvil) -> str:
    return str(
        anvil.rpc("eth_sendTransaction", [{"from": SENDER, "to": RECEIVER, "value": hex(1)}])
    )


def test_starts_on_a_free_loopback_port_with_the_chain_id(node: Anvil) -> None:
    assert node.running
    assert node.port != 8545
    assert node.url.startswith("http://127.0.0.1:")
    assert node.chain_id() == 31337


def test_missing_binary_is_a_clear_configuration_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CHAINOPS_ANVIL", str(tmp_path / "no-such-anvil"))
    with pytest.raises(ConfigurationError, match="not an executable"):
        Anvil().start()
    monkeypatch.delenv("CHAINOPS_ANVIL")
    monkeypatch.setenv("CHAINOPS_TOOLS_DIR", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))  # no anvil, and no npm to fetch it with
    with pytest.raises(ConfigurationError, match="npm was not found"):
        Anvil().start()


def test_a_taken_port_fails_clearly(node: Anvil) -> None:
    with pytest.raises(DevnetError, match="did not start"):
        Anvil(AnvilConfig(port=node.port, startup_timeout=5)).start()


def test_manual_then_auto_mining(node: Anvil) -> None:
    with node.isolated():
        node.set_mining("manual")
        start = node.block_number()
        tx_hash = send(node)
        time.sleep(0.2)
        assert node.block_number() == start
        assert node.rpc("eth_getTransactionReceipt", [tx_hash]) is None
        node.mine()
        assert node.block_number() == start + 1
        assert node.rpc("eth_getTransactionReceipt", [tx_hash])["status"] == "0x1"
        node.set_mining("auto")
        send(node)
        deadline = time.monotonic() + 5  # automine lands a moment after the send returns
        while node.block_number() < start + 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert node.block_number() == start + 2


def test_interval_mining_produces_blocks_on_its_own(node: Anvil) -> None:
    with node.isolated():
        node.set_mining(1.0)
        start = node.block_number()
        deadline = time.monotonic() + 5
        while node.block_number() < start + 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert node.block_number() >= start + 2
        node.set_mining("auto")


def test_snapshot_revert_undoes_changes_and_is_consumed(node: Anvil) -> None:
    before = int(node.rpc("eth_getBalance", [RECEIVER, "latest"]), 16)
    snap = node.snapshot()
    node.set_balance(RECEIVER, 1)
    node.mine(3)
    node.revert(snap)
    assert int(node.rpc("eth_getBalance", [RECEIVER, "latest"]), 16) == before
    with pytest.raises(DevnetError, match="unknown or used snapshot"):
        node.revert(snap)


def test_rpc_errors_are_devnet_errors(node: Anvil) -> None:
    with pytest.raises(DevnetError, match="eth_noSuchMethod"):
        node.rpc("eth_noSuchMethod")


def test_fork_copies_state_and_stop_frees_the_port(node: Anvil) -> None:
    node.set_balance(RECEIVER, 424242)
    fork = node.fork()
    port = fork.port
    try:
        assert int(fork.rpc("eth_getBalance", [RECEIVER, "latest"]), 16) == 424242
        assert fork.chain_id() == node.chain_id()
    finally:
        fork.stop()
    assert not fork.running
    assert port_is_free(port)
    fork.stop()  # stopping twice is harmless


def test_manual_mining_from_the_config() -> None:
    with Anvil(AnvilConfig(mining="manual")) as anvil:
        send(anvil)
        assert anvil.block_number() == 0
        anvil.mine(2)
        assert anvil.block_number() == 2
