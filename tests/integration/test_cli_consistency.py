"""One CLI: every command group asks the same way, fails the same way, prints the same way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from chainops.cli.main import app
from chainops.devnet.exchange.background import BackgroundSimulator
from chainops.devnet.solana import SolanaRpcServer
from chainops.devnet.world import World

pytestmark = pytest.mark.integration
runner = CliRunner()
DEAD_URL = "http://127.0.0.1:9"  # discard port: nothing listens


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("CHAINOPS_RPC_URL", "CHAINOPS_PRIVATE_KEY", "CHAINOPS_NETWORK", "CHAINOPS_WALLET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CHAINOPS_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("CHAINOPS_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path / "data"


def cli(*args: str, stdin: str | None = None, **env: str) -> Result:
    result = runner.invoke(app, list(args), input=stdin, env=env)
    assert "Traceback" not in result.output, result.output
    return result


def nonce(world: World, index: int) -> int:
    address = world.book.accounts[index].address
    return int(world.anvil.rpc("eth_getTransactionCount", [address, "latest"]), 16)


MINT = ("lp", "add", "WETH", "USDC", "--fee", "500", "--range", "1800:2200", "--amount0", "1")
MINT += ("--amount1", "2000")


def evm_acts(world: World) -> dict[str, list[str]]:
    to = world.book.accounts[4].address
    return {
        "send": ["send", "1", "--to", to],
        "swap": ["swap", "1", "WETH", "USDC", "--fee", "500"],
        "lp add": [*MINT],
        "token approve": ["token", "approve", "USDC", "SwapRouter", "5"],
        "weth wrap": ["weth", "wrap", "1"],
    }


def test_every_evm_action_shows_network_endpoint_account_and_no_means_exit_10(
    devnet: World,
) -> None:
    before = nonce(devnet, 1)
    for name, args in evm_acts(devnet).items():
        result = cli(*args, "--rpc-url", devnet.rpc_url, stdin="n\n")
        assert result.exit_code == 10, (name, result.output)
        for line in ("network", "endpoint", devnet.rpc_url, devnet.book.accounts[1].address):
            assert line in result.stderr, (name, result.stderr)
        assert "nothing sent" in result.stderr
    assert nonce(devnet, 1) == before  # development account 1 by default, and nothing sent


def test_cex_and_solana_actions_ask_too(
    exchange_simulator: BackgroundSimulator, solana_devnet: SolanaRpcServer, tmp_path: Path
) -> None:
    from chainops.operators.solana import SolanaSigner

    account = exchange_simulator.create_account({"USDT": "1000"})
    env = {"CHAINOPS_CEX_URL": exchange_simulator.url, "CHAINOPS_CEX_API_KEY": account.api_key,
           "CHAINOPS_CEX_API_SECRET": account.secret}  # fmt: skip
    placed = cli("cex", "order", "place", "ETH-USDT", "buy", "0.01", "--price", "1000",
                 stdin="n\n", **env)  # fmt: skip
    assert placed.exit_code == 10 and account.api_key[:6] in placed.stderr
    assert exchange_simulator.url in placed.stderr and "network" in placed.stderr
    canceled = cli("cex", "order", "cancel", "o-1", stdin="n\n", **env)
    assert canceled.exit_code == 10
    assert cli("cex", "orders", "--json", **env).stdout.strip() == "[]"

    signer = SolanaSigner.generate()
    solana_devnet.chain.airdrop(str(signer.pubkey), 10**9)
    keypair = signer.write_keypair_file(tmp_path / "id.json")
    to = str(SolanaSigner.generate().pubkey)
    sol = ["--rpc-url", solana_devnet.url, "--wallet", str(keypair)]
    declined = cli("sol", "transfer", to, "0.5", *sol, stdin="n\n")
    assert declined.exit_code == 10 and str(signer.pubkey) in declined.stderr
    assert "solana-local" in declined.stderr and solana_devnet.url in declined.stderr
    assert solana_devnet.chain.balance(to) == 0


def test_unreachable_endpoints_exit_3_with_a_hint(
    solana_devnet: SolanaRpcServer,
) -> None:
    for args in (
        ["token", "balance", "ETH"],
        ["swap", "1", "WETH", "USDC", "--yes"],
        ["send", "1", "--to", "0x" + "ab" * 20, "--yes"],
        ["lp", "list"],
    ):
        text = cli(*args, "--rpc-url", DEAD_URL)
        assert text.exit_code == 3, (args, text.output)
        assert "chainops devnet up" in text.stderr and DEAD_URL in text.stderr, text.stderr
        assert "ssl:default" not in text.output and "ClientConnector" not in text.output
        as_json = cli(*args, "--rpc-url", DEAD_URL, "--json")
        document = json.loads(as_json.stdout)
        assert document["exit_code"] == 3, document
    cex = cli("cex", "balance", "--url", DEAD_URL, "--api-key", "k", "--api-secret", "s")
    assert cex.exit_code == 3 and "chainops devnet up" in cex.stderr


def test_json_errors_are_json_on_stdout_everywhere(
    devnet: World, exchange_simulator: BackgroundSimulator, solana_devnet: SolanaRpcServer
) -> None:
    url = ["--rpc-url", devnet.rpc_url]
    account = exchange_simulator.create_account({"USDT": "1000"})
    cex = {"CHAINOPS_CEX_URL": exchange_simulator.url, "CHAINOPS_CEX_API_KEY": account.api_key,
           "CHAINOPS_CEX_API_SECRET": account.secret}  # fmt: skip
    pair, amount, config = "UnknownTradingPair", "InvalidAmount", "ConfigurationError"
    cases: list[tuple[list[str], dict[str, str], str]] = [
        (["swap", "1", "WETH", "NOPE", "--yes", *url], {}, "UnknownToken"),
        (["token", "balance", "NOPE", *url], {}, "UnknownToken"),
        (["lp", "collect", "abc", *url], {}, "ValidationError"),
        (["lp", "list", "--dex", "v4", *url], {}, "ValidationError"),
        (["weth", "wrap", "1,5", "--yes", *url], {}, "InvalidAmount"),
        (["send", "1", "--to", "0x12", "--yes", *url], {}, "InvalidIdentifier"),
        (["cex", "order", "place", "NOPE-USDT", "buy", "1", "--price", "1", "-y"], cex, pair),
        (["sol", "transfer", "x", "1e3", "--rpc-url", solana_devnet.url, "-y"], {}, amount),
        (["send", "1", "--to", "0x" + "ab" * 20, "--network", "nowhere"], {}, config),
    ]
    for args, env, error in cases:
        result = cli(*args, "--json", **env)
        document = json.loads(result.stdout)
        assert document["error"] == error, (args, document)
        assert result.exit_code == document["exit_code"] == 1, (args, document)


def test_unknown_network_message_is_not_eaten_as_markup(devnet: World) -> None:
    result = cli("send", "1", "--to", devnet.book.accounts[2].address, "--network", "atlantis")
    assert result.exit_code == 1
    assert "[networks.atlantis]" in result.stderr, result.stderr


def test_slippage_needs_its_unit(devnet: World) -> None:
    url = ["--rpc-url", devnet.rpc_url, "--yes", "--json"]
    for bare in ("5", "0.5"):
        refused = cli("swap", "1", "WETH", "USDC", "--slippage", bare, *url)
        message = json.loads(refused.stdout)["message"]
        assert refused.exit_code == 1 and "0.5%" in message and "50bps" in message
    too_much = json.loads(cli("swap", "1", "WETH", "USDC", "--slippage", "60%", *url).stdout)
    assert "--force" in too_much["message"]
    for text, bps in (("0.3%", 30), ("25bps", 25)):
        done = cli("swap", "1", "WETH", "USDC", "--fee", "500", "--slippage", text, *url)
        assert done.exit_code == 0, done.output
        assert json.loads(done.stdout)["quote"]["slippage_bps"] == bps


def test_version_flag_and_command() -> None:
    from chainops import __version__

    assert cli("--version").stdout.strip() == __version__
    assert cli("version").stdout.strip() == __version__


def test_amounts_and_times_print_plainly(devnet: World) -> None:
    url = ["--rpc-url", devnet.rpc_url]
    swap = json.loads(cli("swap", "1", "WETH", "USDC", "--fee", "500", "--yes", "--json", *url)
                      .stdout)  # fmt: skip
    quote: dict[str, Any] = swap["quote"]
    assert quote["deadline"].endswith("Z") and "T" in quote["deadline"]  # ISO, not Unix
    for key in ("mid_price", "execution_price"):
        digits = quote[key].replace(".", "")
        assert "E" not in quote[key] and len(digits) <= 12, quote
    cli(*MINT, "--yes", *url)
    table = cli("lp", "list", *url).stdout
    assert "['" not in table and "E-" not in table, table
    listed = json.loads(cli("lp", "list", "--json", *url).stdout)
    low, high = listed[0]["prices"]
    assert len(low.replace(".", "")) <= 8 and len(high.replace(".", "")) <= 8, listed


def test_lp_v2_list_and_collect_sends_nothing_when_nothing_is_owed(devnet: World) -> None:
    url = ["--rpc-url", devnet.rpc_url, "--json"]
    assert json.loads(cli("lp", "list", "--dex", "v2", *url).stdout) == []
    cli("lp", "add", "WETH", "DAI", "--dex", "v2", "--amount0", "1", "--amount1", "2500",
        "--yes", *url)  # fmt: skip
    pairs = json.loads(cli("lp", "list", "--dex", "v2", *url).stdout)
    assert [p["tokens"] for p in pairs] in (["WETH/DAI"], ["DAI/WETH"])
    assert pairs[0]["lp_balance"] > 0
    minted = json.loads(cli(*MINT, "--yes", *url).stdout)
    before = nonce(devnet, 1)
    result = cli("lp", "collect", str(minted["token_id"]), "--yes", *url)
    collected = json.loads(result.stdout)
    assert result.exit_code == 0 and collected["tx"] is None
    assert collected["collected0"] == collected["collected1"] == "0"
    assert nonce(devnet, 1) == before
