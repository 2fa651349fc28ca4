"""Bad input a first-time user meets: one typed line, the documented exit code, nothing sent.

No chain and no venue: every case fails (or is refused) before anything connects,
or talks to a port where nothing listens.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from chainops.cli.exitcodes import ExitCode, exit_code
from chainops.cli.fork import upstream_failure
from chainops.cli.main import app
from chainops.cli.runtime import plain_numbers
from chainops.cli.signed import MINUS, shield
from chainops.core.errors import InsufficientFunds, RpcError
from chainops.operators.exchanges.binance.rest import translate

TO = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
NOWHERE = "http://127.0.0.1:1"  # nothing listens on port 1
UNSET = ("PRIVATE_KEY", "RPC_URL", "CEX_URL", "CEX_API_KEY", "CEX_API_SECRET", "WALLET_PASSWORD")
CEX = ("--url", NOWHERE, "--api-key", "k" * 16, "--api-secret", "s" * 16)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in UNSET:
        monkeypatch.delenv(f"CHAINOPS_{name}", raising=False)
    monkeypatch.setenv("CHAINOPS_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("CHAINOPS_CONFIG", str(tmp_path / "config.toml"))


def run(*args: str, stdin: str | None = None) -> Result:
    result = CliRunner().invoke(app, list(args), input=stdin)
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def error(result: Result) -> dict[str, object]:
    document: dict[str, object] = json.loads(result.stdout)
    assert document["exit_code"] == result.exit_code
    return document


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


# -- 1. cex serve on a taken port ----------------------------------------------------------


def test_cex_serve_on_a_taken_port_is_one_line(taken_port: int) -> None:
    result = run("cex", "serve", "--port", str(taken_port))
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"error: port {taken_port} on 127.0.0.1 is already in use: pass --port 0 for a free "
        "port, or another --port"
    )


# -- 2. confirming without a terminal ------------------------------------------------------


def test_closed_stdin_asks_for_yes_as_json() -> None:
    result = run("send", "0.01", "--to", TO, "--json", stdin="")
    assert result.exit_code == ExitCode.DECLINED
    document = error(result)
    assert document["error"] == "ConfirmationRequired"
    assert "pass --yes" in str(document["message"])
    assert "Aborted" not in result.output and "[y/N]" not in result.output


def test_closed_stdin_asks_for_yes() -> None:
    result = run("send", "0.01", "--to", TO, stdin="")
    assert result.exit_code == ExitCode.DECLINED
    assert result.stdout == ""
    assert "error: no terminal to confirm on (stdin is closed): pass --yes" in result.stderr


def test_a_piped_no_declines() -> None:
    result = run("send", "0.01", "--to", TO, "--json", stdin="n\n")
    assert result.exit_code == ExitCode.DECLINED
    assert json.loads(result.stdout) == {"declined": True, "exit_code": 10}


def test_closed_stdin_at_the_password_prompt(tmp_path: Path) -> None:
    result = run("wallet", "new", "fresh", "--json", stdin="")
    assert result.exit_code == 1
    document = error(result)
    assert document["error"] == "ConfigurationError"
    assert "set CHAINOPS_WALLET_PASSWORD" in str(document["message"])


# -- 3. negative amounts -------------------------------------------------------------------

NEGATIVE = {
    "send": ("send", "-1", "--to", TO),
    "swap": ("swap", "-1", "WETH", "USDC"),
    "weth wrap": ("weth", "wrap", "-1"),
    "weth unwrap": ("weth", "unwrap", "-1"),
    "token approve": ("token", "approve", "USDC", "SwapRouter", "-1"),
    "cex order place": ("cex", "order", "place", "ETH-USDT", "buy", "-1", "--price", "1900", *CEX),
}


@pytest.mark.parametrize("args", NEGATIVE.values(), ids=NEGATIVE.keys())
def test_negative_amount_is_not_positive(args: tuple[str, ...]) -> None:
    result = run(*args, "--yes", "--json")
    assert result.exit_code == 1
    document = error(result)
    assert document == {
        "error": "InvalidAmount",
        "message": "amount must be positive, got '-1'",
        "exit_code": 1,
    }


def test_negative_lp_amounts() -> None:
    result = run("lp", "add", "WETH", "USDC", "--amount0", "-1", "--range", "1:2", "--yes")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: --amount0 must be positive, got '-1'"
    result = run("lp", "add", "WETH", "USDC", "--amount1", "1e3", "--range", "1:2", "--yes")
    assert result.exit_code == 1
    assert "--amount1 '1e3' is not a plain decimal number" in result.stderr


def test_negative_decimal_amount() -> None:
    result = run("send", "-0.5", "--to", TO, "--yes")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: amount must be positive, got '-0.5'"


def test_negative_price_is_not_positive() -> None:
    result = run("cex", "order", "place", "ETH-USDT", "buy", "1", "--price", "-5", *CEX, "--yes")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: price must be positive, got '-5'"


def test_unknown_options_stay_usage_errors() -> None:
    result = run("send", "1", "--yse", "--to", TO)
    assert result.exit_code == 2
    assert "No such option: --yse" in result.output


def test_shield_leaves_options_and_their_values_alone() -> None:
    values = {"--price", "--to", "-n"}
    assert shield(["-1", "--price", "-5", "-n", "-2", "-y"], values) == [
        f"{MINUS}1", "--price", "-5", "-n", "-2", "-y",
    ]  # fmt: skip
    assert shield(["1", "--", "-1"], values) == ["1", "--", "-1"]


# -- 4. exit codes -------------------------------------------------------------------------


def test_venue_refusals_are_failed_operations() -> None:
    short = translate(-2010, "Account has insufficient balance for requested action.")
    assert exit_code(short) is ExitCode.FAILED
    assert exit_code(translate(-2010, "Order would immediately match")) is ExitCode.FAILED
    assert exit_code(translate(-1100, "Illegal characters found in parameter")) is ExitCode.FAILED
    assert exit_code(translate(-2015, "Invalid API-key")) is ExitCode.AUTH
    assert exit_code(InsufficientFunds("balance check before sending")) is ExitCode.ERROR


def test_fork_of_an_unreachable_node_is_exit_3() -> None:
    result = run("devnet", "fork", "--fork-url", NOWHERE, "--json")
    assert result.exit_code == ExitCode.RPC
    assert error(result) == {
        "error": "RpcError",
        "message": f"cannot reach the node to fork at {NOWHERE} (connection refused): "
        "check --fork-url",
        "exit_code": 3,
    }


def test_anvil_fork_failures_name_the_upstream() -> None:
    anvil = (
        "Anvil did not start: Anvil exited during start-up:\nError: failed to get fork block "
        "number\n\nContext:\n- Error #0: error sending request for url (ws://x/)\n"
        "- Error #3: Connection refused (os error 111)"
    )
    failure = upstream_failure("ws://x/", anvil)
    assert isinstance(failure, RpcError)
    assert str(failure) == (
        "cannot reach the node to fork at ws://x/ (connection refused): check --fork-url"
    )
    assert "\n" not in str(upstream_failure("ws://x/", "Anvil did not start:\nbad flag"))


# -- 5. order checks come before the summary -----------------------------------------------


def test_order_side_is_a_choice() -> None:
    result = run("cex", "order", "place", "ETH-USDT", "hold", "0.01", "--price", "1900", *CEX)
    assert result.exit_code == 2
    assert "'hold' is not one of 'buy', 'sell'" in result.output
    assert "place" not in result.stderr.replace("order place", "")


def test_order_side_and_type_ignore_case() -> None:
    args = ("cex", "order", "place", "ETH-USDT", "BUY", "0.01", "--price", "1900", *CEX)
    result = run(*args, "--type", "LIMIT", "--yes")
    assert result.exit_code == ExitCode.RPC  # valid: it got as far as the (absent) venue
    assert "limit order: buy 0.01 ETH-USDT at 1900" in result.stderr


def test_limit_order_without_price_fails_before_the_summary() -> None:
    result = run("cex", "order", "place", "ETH-USDT", "buy", "0.01", *CEX, "--yes")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: a limit order needs --price (or use --type market)"


def test_market_order_with_price_fails_before_the_summary() -> None:
    args = ("cex", "order", "place", "ETH-USDT", "buy", "0.01", "--type", "market")
    result = run(*args, "--price", "1900", *CEX, "--yes")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: a market order takes no --price (or use --type limit)"


# -- 6. plain decimals ---------------------------------------------------------------------


def test_too_precise_amount_is_written_plainly() -> None:
    result = run("send", "0.0000000000000000001", "--to", TO, "--yes")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: amount 0.0000000000000000001 has more than 18 decimal places"
    )


def test_order_summary_is_written_plainly() -> None:
    args = ("cex", "order", "place", "ETH-USDT", "buy", "0.0000001", "--price", "1900.50")
    result = run(*args, *CEX, "--yes")
    assert result.exit_code == ExitCode.RPC
    assert "limit order: buy 0.0000001 ETH-USDT at 1900.50" in result.stderr


def test_error_messages_lose_their_exponents() -> None:
    assert plain_numbers("amount 1E-19 has more") == "amount 0.0000000000000000001 has more"
    assert plain_numbers("got 2.5E+3 and -1E-2") == "got 2500 and -0.01"
    assert plain_numbers("tx-1E-5a 0xAB1E-3 v1.0E-2") == "tx-1E-5a 0xAB1E-3 v1.0E-2"


# -- 7. public market data needs no key ----------------------------------------------------


def test_cex_book_needs_no_credentials() -> None:
    result = run("cex", "book", "ETH-USDT", "--url", NOWHERE, "--json")
    assert result.exit_code == ExitCode.RPC  # past option parsing: no "--api-key" missing
    assert "cannot reach the exchange at http://127.0.0.1:1" in str(error(result)["message"])


def test_signed_commands_still_need_credentials() -> None:
    result = run("cex", "balance", "--url", NOWHERE)
    assert result.exit_code == 2
    assert "Missing option '--api-key'" in result.output


def test_an_empty_api_key_is_a_clear_error() -> None:
    args = ("cex", "order", "place", "ETH-USDT", "buy", "0.01", "--price", "1900")
    result = run(*args, "--url", NOWHERE, "--api-key", "", "--api-secret", "s", "--yes")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: this command needs an API key and its secret or private key: pass --api-key "
        "and --api-secret (HMAC) or --private-key (Ed25519, RSA), or set CHAINOPS_CEX_API_KEY "
        "and CHAINOPS_CEX_API_SECRET or CHAINOPS_CEX_PRIVATE_KEY"
    )
    assert "place" not in result.stderr.replace("order place", "")


def test_closed_stdin_at_the_private_key_prompt() -> None:
    result = run("wallet", "import", "fresh", stdin="")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: no private key given: type it at the prompt, or set CHAINOPS_PRIVATE_KEY"
    )


@pytest.mark.parametrize("width", [80, 200])
def test_devnet_accounts_print_whole_keys_at_any_width(
    width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from rich.console import Console

    from chainops.cli import devnet
    from chainops.devnet.world import World

    accounts = [
        {"index": i, "address": a.address, "private_key": a.private_key}
        for i, a in enumerate(World.address_book().accounts)
    ]
    sink = io.StringIO()
    monkeypatch.setattr(devnet, "out", Console(file=sink, width=width, highlight=False))
    devnet._print_accounts(accounts)
    printed = sink.getvalue()
    assert "…" not in printed
    for account in accounts:
        assert account["address"] in printed and account["private_key"] in printed
    assert max(len(line) for line in printed.splitlines()) <= width
