"""Public data without keys, venue refusals' exit code, and reads about any --owner."""

from __future__ import annotations

from pathlib import Path

import pytest
from net_cli_helpers import Cli

from chainops.devnet.exchange.background import BackgroundSimulator
from chainops.devnet.world import World

pytestmark = pytest.mark.integration
OWNER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def test_cex_book_without_credentials(
    exchange_simulator: BackgroundSimulator, tmp_path: Path
) -> None:
    book = Cli(tmp_path).json("cex", "book", "ETH-USDT", "--url", exchange_simulator.url)
    assert book["pair"] == "ETH-USDT" and book["bids"] and book["asks"]


def test_cex_insufficient_balance_is_a_failed_order(
    exchange_simulator: BackgroundSimulator, tmp_path: Path
) -> None:
    account = exchange_simulator.create_account({"USDT": "100"})
    cli = Cli(tmp_path, {"CHAINOPS_CEX_URL": exchange_simulator.url,
                         "CHAINOPS_CEX_API_KEY": account.api_key,
                         "CHAINOPS_CEX_API_SECRET": account.secret})  # fmt: skip
    args = ("cex", "order", "place", "ETH-USDT", "buy", "1000", "--price", "1900", "--yes")
    refused = cli.json(*args, code=4)
    assert refused["error"] == "VenueInsufficientFunds"
    assert "(code -2010)" in refused["message"]
    bad_key = cli.json(*args, code=6, CHAINOPS_CEX_API_KEY="not-a-key")
    assert bad_key["error"] == "VenueAuthError"


@pytest.fixture
def no_account(tmp_path: Path) -> Cli:
    """A user whose configured wallet does not exist: anything needing an account fails."""
    cli = Cli(tmp_path)
    cli.config.write_text('wallet = "ghost"\n')
    return cli


def test_reads_about_an_owner_need_no_account(devnet: World, no_account: Cli) -> None:
    url = ("--rpc-url", devnet.rpc_url)
    who = ("--owner", OWNER)
    balance = no_account.json("token", "balance", "USDC", *url, *who)
    assert balance == {"token": "USDC", "owner": OWNER, "balance": "100000"}
    native = no_account.json("token", "balance", "ETH", *url, *who)
    assert native["owner"] == OWNER and float(native["balance"]) > 0
    allowance = no_account.json("token", "allowance", "USDC", "SwapRouter", *url, *who)
    assert allowance["allowance"] == "0"
    assert no_account.json("lp", "list", *url, *who) == []
    assert no_account.json("lp", "list", "--dex", "v2", *url, *who) == []
    without = no_account.json("token", "balance", "USDC", *url, code=1)
    assert "no wallet 'ghost'" in without["message"]  # the account is still needed without it


def test_owner_read_on_a_public_network_needs_no_account(devnet: World, tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    args = ("token", "balance", "USDC", "-n", "ethereum", "--rpc-url", devnet.rpc_url)
    failed = cli.json(*args, "--owner", OWNER, code=1)
    assert "is chain 31337" in failed["message"]  # it connected: no account was asked for
    assert "no account" not in failed["message"]
    bad = cli.json(*args, "--owner", "0x1234", code=1)
    assert bad["error"] == "InvalidIdentifier"


def test_nothing_in_the_journal_after_owner_reads(devnet: World, no_account: Cli) -> None:
    no_account.json("token", "balance", "USDC", "--rpc-url", devnet.rpc_url, "--owner", OWNER)
    assert not list((no_account.home / "data").rglob("*.sqlite*"))
