"""Bad config files: typed one-line errors from the loader, exit 1 from the CLI.

A file that is not UTF-8, a missing file named explicitly and an unknown network set
in the file each raise ConfigurationError naming the file (and the key); the CLI runs
in a subprocess, as a user runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chainops.config import load_settings, resolve_network
from chainops.core.errors import ConfigurationError

KNOWN = "e.g. arbitrum, base, bsc, devnet, ethereum"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("CHAINOPS_CONFIG", "CHAINOPS_NETWORK", "CHAINOPS_RPC_URL", "CHAINOPS_WALLET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def _binary(tmp_path: Path) -> Path:
    path = tmp_path / "bin.toml"
    path.write_bytes(b"\xff\xfe")
    return path


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


# -- the loader -----------------------------------------------------------------------------


def test_a_file_that_is_not_utf8_is_a_configuration_error(tmp_path: Path) -> None:
    path = _binary(tmp_path)
    with pytest.raises(ConfigurationError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"config file {path} is not UTF-8 text: invalid start byte (byte 0xff at offset 0)"
    )


def test_a_file_saved_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + b'network = "base"\n')  # as some editors save UTF-8
    assert load_settings(path).network == "base"


def test_a_network_given_as_a_chain_id_number_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "id.toml"
    path.write_text("network = 8453\n")
    assert load_settings(path).network == "8453"


def test_a_network_name_repeated_in_another_case_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "twice.toml"
    path.write_text(
        '[networks.Base]\nrpc_urls = ["https://a.example"]\n'
        '[networks.base]\nrpc_urls = ["https://b.example"]\n'
    )
    with pytest.raises(ConfigurationError, match="repeats a network name"):
        load_settings(path)


def test_a_non_utf8_file_named_by_the_environment_is_an_error_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _binary(tmp_path)
    monkeypatch.setenv("CHAINOPS_CONFIG", str(path))
    with pytest.raises(ConfigurationError, match=r"bin\.toml is not UTF-8 text"):
        load_settings()


def test_a_missing_file_named_explicitly_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    with pytest.raises(ConfigurationError) as caught:
        load_settings(path)
    assert str(caught.value) == f"config file {path} does not exist"
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_settings(str(path), network="base")


def test_a_missing_file_at_the_default_location_means_defaults(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.source_file == tmp_path / "xdg" / "chainops" / "config.toml"
    assert settings.network == "devnet" and settings.networks == {}


def test_a_missing_file_named_by_chainops_config_means_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CHAINOPS_CONFIG moves the default location (tests and scripts point it at a
    # scratch folder that may hold no file yet); only an explicit path must exist.
    monkeypatch.setenv("CHAINOPS_CONFIG", str(tmp_path / "scratch.toml"))
    settings = load_settings()
    assert settings.source_file == tmp_path / "scratch.toml"
    assert settings.network == "devnet"


def test_an_unknown_network_in_the_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    path = _config(tmp_path, 'network = "nosuch"\n')
    settings = load_settings(path)
    assert settings.network_origin == "file"
    with pytest.raises(ConfigurationError) as caught:
        resolve_network(settings)
    assert str(caught.value) == (
        f"config file {path}: key 'network': unknown network 'nosuch': not a built-in chain "
        f"and no [networks.nosuch] in that file; {KNOWN}"
    )


def test_an_unknown_network_from_the_environment_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _config(tmp_path, 'network = "base"\n')
    monkeypatch.setenv("CHAINOPS_NETWORK", "nosuch")
    settings = load_settings(path)
    assert settings.network_origin == "environment"
    with pytest.raises(ConfigurationError) as caught:
        resolve_network(settings)
    assert str(caught.value) == (
        "CHAINOPS_NETWORK in the environment: unknown network 'nosuch': not a built-in "
        f"chain and no [networks.nosuch] in config file {path}; {KNOWN}"
    )


def test_an_unknown_network_passed_by_the_caller_has_no_origin(tmp_path: Path) -> None:
    path = _config(tmp_path, 'network = "nosuch"\n')
    flagged = load_settings(path, network="atlantis")
    assert flagged.network_origin is None
    with pytest.raises(ConfigurationError) as caught:
        resolve_network(flagged)
    assert str(caught.value).startswith("unknown network 'atlantis': not a built-in chain")
    # an explicit name is the caller's too, even when the file's network is bad
    with pytest.raises(ConfigurationError) as caught:
        resolve_network(load_settings(path), "atlantis")
    assert str(caught.value).startswith("unknown network 'atlantis':")


def test_a_non_evm_network_in_the_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    path = _config(tmp_path, 'network = "solana"\n')
    with pytest.raises(ConfigurationError) as caught:
        resolve_network(load_settings(path))
    assert str(caught.value) == f"config file {path}: key 'network': 'solana' is not an EVM chain"


# -- the CLI ------------------------------------------------------------------------------


def _cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHAINOPS_")}
    clean |= {
        "CHAINOPS_HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "COLUMNS": "300",
    }
    return subprocess.run(
        [sys.executable, "-m", "chainops.cli.main", *args],
        env=clean | env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _one_error_line(proc: subprocess.CompletedProcess[str], message: str) -> None:
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [f"error: {message}"]


def test_cli_config_show_with_a_non_utf8_file(tmp_path: Path) -> None:
    _binary(tmp_path)
    proc = _cli(tmp_path, "config", "show", "--config", "bin.toml")
    _one_error_line(
        proc, "config file bin.toml is not UTF-8 text: invalid start byte (byte 0xff at offset 0)"
    )
    assert proc.stdout == ""


def test_cli_commands_refuse_a_missing_explicit_config(tmp_path: Path) -> None:
    shown = _cli(tmp_path, "config", "show", "--config", "missing.toml")
    _one_error_line(shown, "config file missing.toml does not exist")
    as_json = _cli(tmp_path, "config", "show", "--config", "missing.toml", "--json")
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout) == {
        "error": "ConfigurationError",
        "message": "config file missing.toml does not exist",
        "exit_code": 1,
    }
    # nothing is contacted: the error comes before the network is reached
    balance = _cli(tmp_path, "token", "balance", "USDC", "--config", "missing.toml")
    _one_error_line(balance, "config file missing.toml does not exist")
    # also where a command reads nothing else of the configuration
    listed = _cli(tmp_path, "wallet", "list", "--config", "missing.toml")
    _one_error_line(listed, "config file missing.toml does not exist")


def test_cli_without_a_config_file_still_runs_on_defaults(tmp_path: Path) -> None:
    proc = _cli(tmp_path, "config", "show", "--json")
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["config_file_exists"] is False and shown["resolved"]["chain_id"] == 31337


def test_cli_config_show_with_an_unknown_network_exits_1(tmp_path: Path) -> None:
    _config(tmp_path, 'network = "nosuch"\nwallet = "ops"\n')
    message = (
        "config file config.toml: key 'network': unknown network 'nosuch': not a built-in "
        f"chain and no [networks.nosuch] in that file; {KNOWN}"
    )
    proc = _cli(tmp_path, "config", "show", "--config", "config.toml")
    _one_error_line(proc, message)
    assert "nosuch" in proc.stdout and "ops" in proc.stdout  # the settings are still shown
    assert "resolved network" not in proc.stdout
    as_json = _cli(tmp_path, "config", "show", "--config", "config.toml", "--json")
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout) == {
        "error": "ConfigurationError",
        "message": message,
        "exit_code": 1,
    }
