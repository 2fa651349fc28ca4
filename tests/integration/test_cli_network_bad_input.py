"""Bad input to the network commands: typed errors, documented exit codes, nothing sent.

The cases run as concurrent subprocesses (each is a fresh ``chainops`` process).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from net_cli_helpers import Cli

from chainops.devnet.world import World
from chainops.wallets import WalletStore

pytestmark = pytest.mark.integration
PASSWORD = "right password"
API_KEY = "AbCdEf0123456789SecretKey"


def nonce(world: World, address: str) -> int:
    return int(world.anvil.rpc("eth_getTransactionCount", [address, "latest"]), 16)


def test_bad_input(devnet: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sender = devnet.book.accounts[6]
    to = devnet.book.accounts[7].address
    url = devnet.rpc_url
    monkeypatch.setenv("CHAINOPS_SCRYPT_N", "1024")
    homes: dict[str, Cli] = {}

    def cli(name: str, config: str = "") -> Cli:
        home = tmp_path / name
        home.mkdir()
        made = Cli(home)
        made.config.write_text(config)
        homes[name] = made
        return made

    WalletStore(tmp_path / "wallet" / "data" / "wallets").import_key(
        "w", sender.private_key, PASSWORD
    )
    key = {"CHAINOPS_PRIVATE_KEY": sender.private_key}
    send = ("send", "1", "--to", to, "--yes", "--json")
    cases: dict[str, tuple[Cli, tuple[str, ...], dict[str, str], int, str]] = {
        "unknown network": (cli("a"), (*send, "--network", "atlantis"), key, 1, "unknown network"),
        "unreachable rpc": (
            cli("b"),
            (*send, "--rpc-url", "http://127.0.0.1:9"),
            key,
            3,
            "cannot reach network 'devnet'",
        ),
        "chain id differs": (
            cli("c", f'[networks.mainnet-fork]\nchain_id = 1\nrpc_urls = ["{url}"]\n'),
            (*send, "--network", "mainnet-fork"),
            key,
            1,
            "is chain 31337",
        ),
        "wrong password": (
            Cli(tmp_path / "wallet"),
            (*send, "--rpc-url", url, "--wallet", "w"),
            {"CHAINOPS_WALLET_PASSWORD": "wrong password"},
            6,
            "wrong password",
        ),
        "missing wallet": (
            cli("d"),
            (*send, "--rpc-url", url, "--wallet", "ghost"),
            {},
            1,
            "no wallet 'ghost'",
        ),
        "no account": (
            cli("e"),
            (*send, "--network", "ethereum", "--rpc-url", url),
            {},
            1,
            "no account for ethereum",
        ),
        "malformed toml": (
            cli("f", 'network = "devnet\n'),
            (*send, "--rpc-url", url),
            key,
            1,
            "not valid TOML",
        ),
        "unknown key": (
            cli("g", "[networks.devnet]\nrpc = 'x'\n"),
            ("config", "show", "--json"),
            {},
            1,
            "networks.devnet.rpc",
        ),
        "unknown token": (
            cli("h"),
            ("send", "1", "NOPE", "--to", to, "--rpc-url", url, "--yes", "--json"),
            key,
            1,
            "unknown token 'NOPE'",
        ),
        "comma amount": (
            cli("i"),
            ("send", "1,5", "--to", to, "--rpc-url", url, "--yes", "--json"),
            key,
            1,
            "not a plain decimal",
        ),
        "exponent amount": (
            cli("j"),
            ("send", "1e-30", "--to", to, "--rpc-url", url, "--yes", "--json"),
            key,
            1,
            "not a plain decimal",
        ),
        "too precise for the token": (
            cli("k"),
            ("send", "0.0000001", "USDC", "--to", to, "--rpc-url", url, "--yes", "--json"),
            key,
            1,
            "more than 6 decimal places",
        ),
        "bad recipient": (
            cli("l"),
            ("send", "1", "--to", "0x1234", "--rpc-url", url, "--yes", "--json"),
            key,
            1,
            "address",
        ),
        "unknown transaction": (cli("m"), ("tx", "status", "tx-nope", "--json"), {}, 1, "tx-nope"),
    }
    before = nonce(devnet, sender.address)

    def run(case: tuple[Cli, tuple[str, ...], dict[str, str], int, str]) -> dict[str, Any]:
        home, args, env, code, _ = case
        proc = home.run(*args, code=code, **env)
        document: dict[str, Any] = json.loads(proc.stdout)
        return document

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(cases, pool.map(run, cases.values()), strict=True))
    for name, (_, _, _, code, text) in cases.items():
        assert results[name]["exit_code"] == code, name
        assert text in results[name]["message"], (name, results[name])
    assert results["wrong password"]["error"] == "AuthenticationError"
    assert results["comma amount"]["error"] == "InvalidAmount"
    assert nonce(devnet, sender.address) == before  # nothing was sent


def test_config_show_masks_secrets(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    cli.config.write_text(
        'network = "base"\n[networks.base]\n'
        f'rpc_urls = ["https://base.example/v2/{API_KEY}", "https://u:pw123456@b.example/?key=k"]\n'
    )
    proc = cli.run("config", "show", "--json")
    assert API_KEY not in proc.stdout and "pw123456" not in proc.stdout
    shown = json.loads(proc.stdout)
    assert shown["resolved"]["rpc_urls"][0] == "https://base.example/v2/***"
    assert shown["resolved"]["chain_id"] == 8453
    flagged = cli.json("config", "show", "--network", "arbitrum", "--rpc-url", "http://127.0.0.1:1")
    assert flagged["resolved"]["chain"] == "arbitrum"
    assert flagged["resolved"]["rpc_urls"] == ["http://127.0.0.1:1"]
    readable = cli.run("config", "show").stdout
    assert API_KEY not in readable and "base" in readable


def test_export_key_needs_confirmation(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    env = {"CHAINOPS_WALLET_PASSWORD": PASSWORD}
    created = cli.json("wallet", "new", "fresh", **env)
    refused = cli.run("wallet", "export-key", "fresh", code=10, stdin="n\n", **env)
    assert "0x" not in refused.stdout
    shown = cli.run("wallet", "export-key", "fresh", stdin="y\n", **env).stdout.strip()
    from eth_account import Account

    assert Account.from_key(shown).address == created["address"]
    wrong = {"CHAINOPS_WALLET_PASSWORD": "nope nope"}
    cli.run("wallet", "export-key", "fresh", "--yes", code=6, **wrong)
    cli.run("wallet", "new", "fresh", code=1, **env)  # never overwritten
