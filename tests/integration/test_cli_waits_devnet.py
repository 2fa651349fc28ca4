"""Waiting (depth, timeout, Ctrl-C), `devnet up`'s accounts and exports, one data folder."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from net_cli_helpers import Cli

from chainops.devnet.exchange.accounts import PAPER_FUNDS
from chainops.devnet.exchange.background import BackgroundSimulator
from chainops.devnet.solana import SolanaRpcServer
from chainops.devnet.world import World

pytestmark = pytest.mark.integration


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def test_tx_wait_counts_confirmations_or_exits_5(devnet: World, cli: Cli) -> None:
    to = devnet.book.accounts[4].address
    sent = cli.json("send", "0.1", "--to", to, "--rpc-url", devnet.rpc_url, "--yes")
    assert sent["sender"] == devnet.book.accounts[1].address  # the local default account
    assert sent["confirmations"] == 1
    flags = ("--rpc-url", devnet.rpc_url, "--confirmations", "3")
    pending = cli.json("tx", "wait", sent["client_id"], *flags, "--timeout", "1", code=5)
    assert "1 of 3 confirmations" in pending["message"]
    devnet.anvil.mine(2)
    deep = cli.json("tx", "wait", sent["client_id"], *flags, "--timeout", "10")
    assert deep["confirmations"] >= 3 and deep["state"] == "CONFIRMED"


def test_ctrl_c_while_waiting_names_the_transaction_and_the_resume_command(
    devnet_fresh: World, cli: Cli
) -> None:
    world = devnet_fresh
    world.anvil.set_mining("manual")
    to = world.book.accounts[4].address
    proc = subprocess.Popen(
        [sys.executable, "-m", "chainops.cli.main", "send", "0.1", "--to", to,
         "--rpc-url", world.rpc_url, "--yes"],
        env=cli.base_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + 60
    while "waiting for" not in seen and time.monotonic() < deadline:
        seen += proc.stderr.readline()
    assert "waiting for" in seen, seen
    client_id = seen.split("waiting for ", 1)[1].split()[0]
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=60)
    assert proc.returncode == 130, rest
    assert client_id in rest and f"chainops tx wait {client_id}" in rest, rest
    assert "Traceback" not in rest
    world.anvil.mine()
    done = cli.json("tx", "wait", client_id, "--rpc-url", world.rpc_url)
    assert done["state"] == "CONFIRMED"


def test_every_journal_lives_in_chainops_home(
    devnet: World,
    exchange_simulator: BackgroundSimulator,
    solana_devnet: SolanaRpcServer,
    cli: Cli,
    tmp_path: Path,
) -> None:
    from chainops.operators.solana import SolanaSigner

    cli.json("send", "0.1", "--to", devnet.book.accounts[4].address, "--rpc-url", devnet.rpc_url,
             "--yes")  # fmt: skip
    account = exchange_simulator.create_account({"USDT": "1000"})
    cli.json("cex", "order", "place", "ETH-USDT", "buy", "0.01", "--price", "1000", "--yes",
             CHAINOPS_CEX_URL=exchange_simulator.url, CHAINOPS_CEX_API_KEY=account.api_key,
             CHAINOPS_CEX_API_SECRET=account.secret)  # fmt: skip
    signer = SolanaSigner.generate()
    solana_devnet.chain.airdrop(str(signer.pubkey), 10**9)
    keypair = signer.write_keypair_file(tmp_path / "id.json")
    cli.json("sol", "transfer", str(SolanaSigner.generate().pubkey), "0.1", "--rpc-url",
             solana_devnet.url, "--wallet", str(keypair), "--yes")  # fmt: skip
    data = cli.home / "data"
    assert {p.name for p in data.glob("*.sqlite")} == {
        "journal.sqlite", "cex-journal.sqlite", "solana-journal.sqlite"
    }  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_document(proc: subprocess.Popen[str]) -> dict[str, object]:
    assert proc.stdout is not None
    lines = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if line.startswith("}"):
            break
    document: dict[str, object] = json.loads("".join(lines))
    return document


def test_devnet_up_prints_accounts_keys_and_exports(cli: Cli) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "chainops.cli.main", "devnet", "up", "--port", str(port)],
        env=cli.base_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        text = ""
        deadline = time.monotonic() + 120
        while "export " not in text and time.monotonic() < deadline:
            text += proc.stdout.readline()
        export = next(line for line in text.splitlines() if line.startswith("export "))
        values = dict(item.split("=", 1) for item in export.removeprefix("export ").split())
        assert values["CHAINOPS_RPC_URL"] == f"http://127.0.0.1:{port}"
        book = World.address_book()
        assert book.accounts[1].address in text and book.accounts[1].private_key in text
        # the exported credentials reach a funded paper account
        balances = cli.json("cex", "balance", **values)
        for asset, amount in PAPER_FUNDS.items():
            assert Decimal(balances[asset]["free"]) == Decimal(amount) > 0
        # and the exported RPC URL is what every command then uses, with account 1
        shown = cli.json("token", "balance", "ETH", **values)
        assert shown["owner"] == book.accounts[1].address
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0


def test_devnet_up_says_when_its_default_port_is_taken(cli: Cli) -> None:
    from chainops.cli.devnet import RPC_PORT, port_free

    holder = socket.socket()
    if port_free(RPC_PORT):
        holder.bind(("127.0.0.1", RPC_PORT))
        holder.listen()
    proc = subprocess.Popen(
        [sys.executable, "-m", "chainops.cli.main", "devnet", "up", "--json", "--no-exchange"],
        env=cli.base_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        document = read_document(proc)
        assert not str(document["rpc_url"]).endswith(f":{RPC_PORT}")
        accounts = document["accounts"]
        assert isinstance(accounts, list) and len(accounts) == 10
        assert str(document["export"]).startswith("export CHAINOPS_RPC_URL=")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        holder.close()
    assert f"port {RPC_PORT} is taken" in err
