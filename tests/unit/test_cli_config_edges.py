"""Configuration, data folder and interruption edges: one typed line, the documented code.

Nothing here needs a node or a key: every case fails before anything connects.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from chainops.cli.exitcodes import ExitCode
from chainops.cli.main import app
from chainops.cli.options import Venue
from chainops.cli.runtime import Runtime
from chainops.config import load_settings, resolve_network
from chainops.config.networks import mask_url
from chainops.core.errors import ConfigurationError

UNSET = ("PRIVATE_KEY", "RPC_URL", "NETWORK", "WALLET", "WALLET_PASSWORD", "JOURNAL")
KEY = "AbCdEf0123456789SecretKey"
BAD_URL = f"http://[::1/v2/{KEY}"  # an unclosed IPv6 bracket: no URL parser accepts it


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in UNSET:
        monkeypatch.delenv(f"CHAINOPS_{name}", raising=False)
    monkeypatch.setenv("CHAINOPS_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("CHAINOPS_CONFIG", str(tmp_path / "config.toml"))


def run(*args: str) -> Result:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def error(result: Result) -> dict[str, object]:
    document: dict[str, object] = json.loads(result.stdout)
    assert set(document) == {"error", "message", "exit_code"}
    assert document["exit_code"] == result.exit_code
    return document


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


# -- networks by chain id or by another of their names ------------------------------------


def test_a_chain_id_or_alias_finds_the_configured_network(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[networks]  # inline tables, as TOML allows\n"
        'ethereum = { rpc_urls = ["https://eth.example"], confirmations = 4 }\n'
        'cfg-edge-l2 = { chain_id = 999021, rpc_urls = "https://l2.example" }\n',
    )
    settings = load_settings(path)
    for name in ("1", "eth", "mainnet", "ETHEREUM"):
        net = resolve_network(settings, name)
        assert (net.name, net.rpc_urls, net.confirmations) == (
            "ethereum",
            ("https://eth.example",),
            4,
        ), name
    assert resolve_network(settings, "999021").rpc_urls == ("https://l2.example",)


def test_a_chain_id_configured_twice_is_ambiguous(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[networks.cfg-edge-a]\nchain_id = 999022\nrpc_urls = ['https://a.example']\n"
        "[networks.cfg-edge-b]\nchain_id = 999022\nrpc_urls = ['https://b.example']\n",
    )
    ambiguous = r"'999022' matches more than one network.*: cfg-edge-a, cfg-edge-b;"
    with pytest.raises(ConfigurationError, match=ambiguous):
        resolve_network(load_settings(path), "999022")


def test_cli_network_by_chain_id_reads_the_config(tmp_path: Path) -> None:
    write(tmp_path, f'[networks.base]\nrpc_urls = ["https://base.example/v2/{KEY}"]\n')
    result = run("config", "show", "--network", "8453", "--json")
    assert result.exit_code == 0, result.output
    resolved = json.loads(result.stdout)["resolved"]
    assert resolved["name"] == "base"
    assert resolved["rpc_urls"] == ["https://base.example/v2/***"]


# -- values that are not URLs or not JSON --------------------------------------------------


def test_mask_url_of_an_unparsable_url_hides_it() -> None:
    masked = mask_url(BAD_URL)
    assert KEY not in masked and "***" in masked


def test_an_unparsable_rpc_url_is_one_error(tmp_path: Path) -> None:
    result = run("config", "show", "--rpc-url", BAD_URL, "--json")
    assert result.exit_code == ExitCode.ERROR
    document = error(result)
    assert "not a valid URL" in str(document["message"])
    assert KEY not in result.output


def test_an_unparsable_rpc_url_in_the_file_names_the_key(tmp_path: Path) -> None:
    write(tmp_path, f'[networks.base]\nrpc_urls = ["{BAD_URL}"]\n')
    result = run("config", "show", "--json")
    assert result.exit_code == ExitCode.ERROR
    assert "networks.base.rpc_urls" in str(error(result)["message"])
    assert KEY not in result.output


def test_an_unparsable_fork_url_is_one_error() -> None:
    result = run("devnet", "fork", "--fork-url", BAD_URL, "--json")
    assert result.exit_code == ExitCode.ERROR
    assert "not a valid URL" in str(error(result)["message"])
    assert KEY not in result.output


def test_a_list_in_the_environment_not_written_as_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAINOPS_NETWORKS__BASE__RPC_URLS", "https://base.example")
    with pytest.raises(ConfigurationError, match=r"environment.*CHAINOPS_NETWORKS.*JSON"):
        load_settings(write(tmp_path, ""))
    result = run("config", "show", "--json")
    assert result.exit_code == ExitCode.ERROR
    error(result)


# -- ports ----------------------------------------------------------------------------------


@pytest.mark.parametrize("port", ["70000", "-1"])
def test_a_port_out_of_range_is_a_usage_error(port: str) -> None:
    for command in (("devnet", "up", "--no-exchange"), ("devnet", "fork", "--fork-url", "x")):
        result = run(*command, "--port", port, "--json")
        assert result.exit_code == ExitCode.USAGE, (command, result.output)
        assert "--port" in result.output


# -- an unusable data folder ---------------------------------------------------------------


def test_a_data_folder_that_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home-is-a-file"
    home.write_text("")
    monkeypatch.setenv("CHAINOPS_HOME", str(home))
    monkeypatch.setenv("CHAINOPS_PRIVATE_KEY", "0x" + "11" * 32)
    monkeypatch.setenv("CHAINOPS_WALLET_PASSWORD", "long enough password")
    monkeypatch.setenv("CHAINOPS_SCRYPT_N", "2")
    for args in (("tx", "list"), ("tx", "status", "tx0nothing"), ("wallet", "import", "ops")):
        result = run(*args, "--json")
        assert result.exit_code == ExitCode.ERROR, (args, result.output)
        assert str(home) in str(error(result)["message"])


# -- Ctrl-C under --json -------------------------------------------------------------------


def test_interrupt_under_json_is_one_error_document(capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    with pytest.raises(typer.Exit):
        Runtime(venue=Venue.NONE, as_json=True).interrupted()
    document = json.loads(capsys.readouterr().out)
    assert document == {"error": "Interrupted", "message": "interrupted", "exit_code": 130}

    rt = Runtime(venue=Venue.EVM, as_json=True)
    rt.pending = ("tx0abc", "chainops tx wait tx0abc")
    with pytest.raises(typer.Exit):
        rt.interrupted()
    document = json.loads(capsys.readouterr().out)
    assert {"error", "message", "exit_code", "client_id", "resume"} == set(document)
    assert document["exit_code"] == 130 and "tx0abc" in document["message"]
