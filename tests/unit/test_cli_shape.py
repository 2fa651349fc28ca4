"""The CLI's shape: shared options on every command group, one output format, slippage units."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest
import typer

from chainops.cli.dex import parse_slippage
from chainops.cli.format import decimal_text, iso_time, plain, price_text
from chainops.cli.main import app
from chainops.core.errors import ValidationError
from chainops.operators.dapps.slippage import SlippageOutOfRange


def commands(group: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Every leaf command of the click tree, by its path."""
    found: dict[tuple[str, ...], Any] = {}
    for name, sub in getattr(group, "commands", {}).items():
        if hasattr(sub, "commands"):
            found |= commands(sub, (*path, name))
        else:
            found[(*path, name)] = sub
    return found


def options(command: Any) -> set[str]:
    return {opt for param in command.params for opt in getattr(param, "opts", [])}


TREE = commands(typer.main.get_command(app))
EVM_ACTS = [("send",), ("swap",), ("lp", "add"), ("lp", "remove"), ("lp", "collect"),
            ("token", "approve"), ("weth", "wrap"), ("weth", "unwrap"),
            ("tx", "speed-up"), ("tx", "cancel")]  # fmt: skip
OTHER_ACTS = [("cex", "order", "place"), ("cex", "order", "cancel"), ("sol", "transfer"),
              ("sol", "token-transfer")]  # fmt: skip
EVM_READS = [("token", "balance"), ("token", "allowance"), ("lp", "list"), ("tx", "wait")]


@pytest.mark.parametrize("path", EVM_ACTS + EVM_READS, ids=" ".join)
def test_evm_commands_share_the_connection_options(path: tuple[str, ...]) -> None:
    shared = {"--network", "--rpc-url", "--wallet", "--config", "--journal", "--json"}
    assert shared <= options(TREE[path]), path
    assert "--private-key" not in options(TREE[path])  # keys come from the environment


@pytest.mark.parametrize("path", EVM_ACTS + OTHER_ACTS, ids=" ".join)
def test_every_action_takes_yes_json_config_and_journal(path: tuple[str, ...]) -> None:
    assert {"--yes", "--json", "--config", "--journal"} <= options(TREE[path]), path


def test_speed_up_and_cancel_share_one_signature() -> None:
    speed_up, cancel = TREE[("tx", "speed-up")], TREE[("tx", "cancel")]
    assert [p.name for p in speed_up.params] == [p.name for p in cancel.params]


def test_solana_takes_the_same_names() -> None:
    assert {"--network", "--rpc-url", "--wallet"} <= options(TREE[("sol", "transfer")])
    assert {"--url", "--keypair"} <= options(TREE[("sol", "transfer")])  # older spellings


@pytest.mark.parametrize(
    ("text", "bps"), [("0.5%", 50), ("50bps", 50), ("1%", 100), (" 25 BPS ", 25), (".1%", 10)]
)
def test_slippage_with_its_unit(text: str, bps: int) -> None:
    assert parse_slippage(text).value == bps


@pytest.mark.parametrize("text", ["5", "0.5", "50 bp", "half", "", "0.001%", "-1%", "1.5bps"])
def test_slippage_refused_without_a_clear_unit(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_slippage(text)
    if not text.endswith(("%", "bps")):
        assert "0.5%" in str(caught.value) and "50bps" in str(caught.value)


def test_slippage_above_half_needs_force() -> None:
    with pytest.raises(SlippageOutOfRange, match="--force"):
        parse_slippage("60%")
    assert parse_slippage("60%", force=True).value == 6000


def test_plain_numbers() -> None:
    assert decimal_text(Decimal("0E-8")) == "0"
    assert decimal_text(Decimal("2000.500000000000000000000000000")) == "2000.5"
    assert decimal_text(Decimal("1E+3")) == "1000"
    assert decimal_text(Decimal("0.000000000000000001")) == "0.000000000000000001"
    assert price_text(Decimal("1999.123456789012345678901234567")) == "1999.1235"
    assert price_text(Decimal("0.00012345678912345")) == "0.00012345679"
    assert iso_time(1_764_626_400) == "2025-12-01T22:00:00Z"
    assert iso_time(1_764_626_400_000) == "2025-12-01T22:00:00Z"


def test_plain_walks_results() -> None:
    shown = plain({
        "free": "0E-8", "amount": Decimal("1.50"), "prices": ["1800.000000000000000000001", "2200"],
        "deadline": 1_764_626_400, "block": 123, "token_id": 7, "in_range": True, "to": None,
        "hash": "0xabc", "fills": [{"price": Decimal("2000.123456789"), "fill_id": "0x1:2"}],
    })  # fmt: skip
    assert shown == {
        "free": "0", "amount": "1.5", "prices": ["1800", "2200"],
        "deadline": "2025-12-01T22:00:00Z", "block": 123, "token_id": 7, "in_range": True,
        "to": None, "hash": "0xabc", "fills": [{"price": "2000.1235", "fill_id": "0x1:2"}],
    }  # fmt: skip


def test_help_loads_no_sdk() -> None:
    """`chainops --help` imports the CLI's own modules only (start-up figures: bench/)."""
    probe = (
        "import sys; from chainops.cli.main import app; "
        "heavy = [m for m in ('web3', 'aiohttp', 'pydantic', 'chainops.core', 'eth_account') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
