"""`chainops cex ...` against the simulator fixture from the pytest plugin."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from chainops.cli.main import app
from chainops.devnet.exchange.background import BackgroundSimulator

runner = CliRunner()


def _cli(sim: BackgroundSimulator, env: dict[str, str], *args: str) -> object:
    result = runner.invoke(app, ["cex", *args], env=env | {"CHAINOPS_CEX_URL": sim.url})
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_cex_commands(exchange_simulator: BackgroundSimulator, tmp_path: Path) -> None:
    account = exchange_simulator.create_account({"USDT": "5000", "ETH": "1"})
    env = {
        "CHAINOPS_CEX_API_KEY": account.api_key,
        "CHAINOPS_CEX_API_SECRET": account.secret,
        "CHAINOPS_HOME": str(tmp_path),
    }
    balances = _cli(exchange_simulator, env, "balance", "--json")
    assert isinstance(balances, dict)
    assert Decimal(balances["USDT"]["free"]) == 5000 and Decimal(balances["ETH"]["free"]) == 1
    placed = _cli(
        exchange_simulator,
        env,
        "order",
        "place",
        "ETH-USDT",
        "buy",
        "0.01",
        "--price",
        "1999.90",
        "--json",
        "--yes",
    )
    assert isinstance(placed, dict) and placed["state"] == "OPEN"
    listed = _cli(exchange_simulator, env, "orders", "ETH-USDT", "--json")
    assert isinstance(listed, list) and [o["client_id"] for o in listed] == [placed["client_id"]]
    canceled = _cli(exchange_simulator, env, "order", "cancel", placed["client_id"], "--json", "-y")
    assert isinstance(canceled, dict) and canceled["state"] == "CANCELED"
    filled = _cli(
        exchange_simulator,
        env,
        "order",
        "place",
        "ETH-USDT",
        "buy",
        "0.01",
        "--type",
        "market",
        "--json",
        "--yes",
    )
    assert isinstance(filled, dict) and filled["state"] == "FILLED"
    book = _cli(exchange_simulator, env, "book", "ETH-USDT", "--depth", "3", "--json")
    assert isinstance(book, dict) and len(book["bids"]) == 3 and Decimal(book["mid"]) > 0


def test_cex_errors_exit_nonzero(exchange_simulator: BackgroundSimulator, tmp_path: Path) -> None:
    account = exchange_simulator.create_account({"USDT": "5000"})
    env = {
        "CHAINOPS_CEX_URL": exchange_simulator.url,
        "CHAINOPS_CEX_API_KEY": account.api_key,
        "CHAINOPS_CEX_API_SECRET": account.secret,
        "CHAINOPS_HOME": str(tmp_path),
    }
    place = ["cex", "order", "place", "ETH-USDT", "buy", "0.01", "--price", "1999.905", "-y"]
    result = runner.invoke(app, place, env=env)
    assert result.exit_code == 1 and "tick" in result.output
    result = runner.invoke(app, ["cex", "balance"], env=env | {"CHAINOPS_CEX_API_SECRET": "0" * 64})
    assert result.exit_code == 6 and "Signature" in result.output


def test_cex_serve_runs_a_paper_venue(tmp_path: Path) -> None:
    import subprocess
    import sys

    command = [sys.executable, "-m", "chainops.cli.main", "cex", "serve", "--port", "0",
               "--fund", "USDT=123"]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        info = json.loads(server.stdout.readline())
        env = {
            "CHAINOPS_CEX_URL": info["url"],
            "CHAINOPS_CEX_API_KEY": info["api_key"],
            "CHAINOPS_CEX_API_SECRET": info["api_secret"],
        }
        result = runner.invoke(app, ["cex", "balance", "--json"], env=env)
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["USDT"]["free"] == "123"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_cex_serve_makes_several_funded_accounts_that_trade(tmp_path: Path) -> None:
    import subprocess
    import sys

    command = [sys.executable, "-m", "chainops.cli.main", "cex", "serve", "--port", "0",
               "--accounts", "3"]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        info = json.loads(server.stdout.readline())
        assert len({a["api_key"] for a in info["accounts"]}) == 3
        assert info["api_key"] == info["accounts"][0]["api_key"]
        outputs = []
        for n, (side, price) in enumerate((("sell", "2000.20"), ("buy", "2000.20"))):
            keys = info["accounts"][n]
            env = {
                "CHAINOPS_CEX_URL": info["url"],
                "CHAINOPS_CEX_API_KEY": keys["api_key"],
                "CHAINOPS_CEX_API_SECRET": keys["api_secret"],
            }
            journal = str(tmp_path / f"journal{n}.db")
            args = ["cex", "order", "place", "ETH-USDT", side, "0.5", "--price", price,
                    "--journal", journal, "--json", "--yes"]  # fmt: skip
            result = runner.invoke(app, args, env=env)
            assert result.exit_code == 0, result.output
            outputs.append(json.loads(result.stdout))
        assert outputs[1]["state"] == "FILLED"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_cex_commands_sign_with_an_ed25519_key_file(
    exchange_simulator: BackgroundSimulator, tmp_path: Path
) -> None:
    account = exchange_simulator.create_account({"USDT": "5000"}, key_type="ed25519")
    assert account.private_key is not None
    pem = tmp_path / "binance-ed25519.pem"
    pem.write_text(account.private_key)
    env = {"CHAINOPS_CEX_API_KEY": account.api_key, "CHAINOPS_HOME": str(tmp_path)}
    by_file = _cli(exchange_simulator, env, "balance", "--private-key", str(pem), "--json")
    assert isinstance(by_file, dict) and Decimal(by_file["USDT"]["free"]) == 5000
    by_env = env | {"CHAINOPS_CEX_PRIVATE_KEY": account.private_key}
    placed = _cli(
        exchange_simulator, by_env, "order", "place", "ETH-USDT", "buy", "0.01",
        "--price", "1999.90", "--json", "--yes",
    )  # fmt: skip
    assert isinstance(placed, dict) and placed["state"] == "OPEN"
    canceled = _cli(
        exchange_simulator, by_env, "order", "cancel", placed["client_id"], "--json", "-y"
    )
    assert isinstance(canceled, dict) and canceled["state"] == "CANCELED"


def test_cex_key_input_is_checked_before_anything_is_sent(
    exchange_simulator: BackgroundSimulator, tmp_path: Path
) -> None:
    account = exchange_simulator.create_account({"USDT": "5000"}, key_type="ed25519")
    pem = tmp_path / "key.pem"
    pem.write_text(account.private_key or "")
    env = {
        "CHAINOPS_CEX_URL": exchange_simulator.url,
        "CHAINOPS_CEX_API_KEY": account.api_key,
        "CHAINOPS_HOME": str(tmp_path),
    }
    neither = runner.invoke(app, ["cex", "balance"], env=env)
    assert neither.exit_code != 0 and "--private-key" in neither.output
    both = runner.invoke(
        app, ["cex", "balance", "--api-secret", "x" * 64, "--private-key", str(pem)], env=env
    )
    assert both.exit_code != 0 and "not both" in both.output
    missing = runner.invoke(
        app, ["cex", "balance", "--private-key", str(tmp_path / "no.pem")], env=env
    )
    assert missing.exit_code != 0 and "names no file" in missing.output
    pasted = runner.invoke(app, ["cex", "balance", "--private-key", "MC4CAQAwBQYDK2Vw"], env=env)
    assert pasted.exit_code != 0 and "MC4CAQ" not in pasted.output  # key text never echoed
    assert len(missing.output.strip().splitlines()) == 1  # one line, no traceback


def test_cex_serve_with_ed25519_accounts_and_without_order_limits(tmp_path: Path) -> None:
    import subprocess
    import sys

    command = [sys.executable, "-m", "chainops.cli.main", "cex", "serve", "--port", "0",
               "--key-type", "ed25519", "--no-order-limits"]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        info = json.loads(server.stdout.readline())
        assert "PRIVATE KEY" in info["private_key"] and "api_secret" not in info
        env = {
            "CHAINOPS_CEX_URL": info["url"],
            "CHAINOPS_CEX_API_KEY": info["api_key"],
            "CHAINOPS_CEX_PRIVATE_KEY": info["private_key"],
            "CHAINOPS_HOME": str(tmp_path),
        }
        result = runner.invoke(app, ["cex", "balance", "--json"], env=env)
        assert result.exit_code == 0, result.output  # the CLI signs with the PEM it printed
        asyncio.run(_place_many(info, 101))  # past Binance's 100 in 10 s: none refused here
    finally:
        server.terminate()
        server.wait(timeout=10)


async def _place_many(info: dict[str, str], n: int) -> None:
    from chainops.operators.exchanges import BinanceSpot

    cex = BinanceSpot.connect(
        info["api_key"], private_key=info["private_key"], base_url=info["url"],
        stream_url=info["stream_url"], ws_api_url=info["ws_api_url"], user_stream=False,
    )  # fmt: skip
    async with cex:
        for i in range(n):
            order = await cex.place("ETH-USDT", "BUY", "LIMIT", Decimal("0.01"), Decimal(1800 + i))
            assert order.state.name == "OPEN"
