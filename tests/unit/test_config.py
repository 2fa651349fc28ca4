"""Settings: precedence, errors naming file and key, network resolution, URL masking."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainops.config import load_settings, resolve_network
from chainops.config.networks import mask_url
from chainops.config.paths import config_path, data_dir
from chainops.core.errors import ConfigurationError
from chainops.core.platforms import get_chain


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CHAINOPS_CONFIG", "CHAINOPS_NETWORK", "CHAINOPS_RPC_URL", "CHAINOPS_WALLET"):
        monkeypatch.delenv(name, raising=False)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_file_then_environment_then_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(
        tmp_path,
        'network = "base"\nwallet = "a"\n[networks.base]\nconfirmations = 2\n'
        'rpc_urls = ["https://one.example", "https://two.example"]\n',
    )
    assert load_settings(path).network == "base"
    monkeypatch.setenv("CHAINOPS_NETWORK", "arbitrum")
    monkeypatch.setenv("CHAINOPS_NETWORKS__BASE__CONFIRMATIONS", "4")
    from_env = load_settings(path)
    assert from_env.network == "arbitrum"
    assert from_env.wallet == "a"  # untouched keys keep the file's value
    assert from_env.networks["base"].confirmations == 4
    assert from_env.networks["base"].rpc_urls == ("https://one.example", "https://two.example")
    assert load_settings(path, network="optimism").network == "optimism"


def test_config_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_path() == tmp_path / "xdg" / "chainops" / "config.toml"
    monkeypatch.setenv("CHAINOPS_CONFIG", str(tmp_path / "env.toml"))
    assert config_path() == tmp_path / "env.toml"
    assert config_path(tmp_path / "flag.toml") == tmp_path / "flag.toml"
    monkeypatch.setenv("CHAINOPS_HOME", str(tmp_path / "home"))
    assert data_dir() == tmp_path / "home"


def test_missing_file_is_defaults_unless_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    settings = load_settings()
    assert settings.network == "devnet" and settings.networks == {}
    with pytest.raises(ConfigurationError, match=r"config file .*absent\.toml does not exist"):
        load_settings(tmp_path / "absent.toml")


def test_malformed_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "network = \n[networks.base\n")
    with pytest.raises(ConfigurationError, match=f"{path}.*not valid TOML"):
        load_settings(path)


def test_unknown_and_bad_keys_are_named(tmp_path: Path) -> None:
    path = write(tmp_path, "[networks.base]\nrpc_url = 'https://x.example'\n")
    with pytest.raises(ConfigurationError, match=r"networks\.base\.rpc_url.*unknown key") as e:
        load_settings(path)
    assert str(path) in str(e.value)
    path = write(tmp_path, "[networks.base]\nconfirmations = -1\n")
    with pytest.raises(ConfigurationError, match=r"networks\.base\.confirmations"):
        load_settings(path)
    path = write(tmp_path, "[networks.base]\nrpc_urls = ['ftp://x']\n")
    with pytest.raises(ConfigurationError, match="not an http"):
        load_settings(path)
    path = write(tmp_path, "[networks.base.fee]\nmax_fee_gwei = 1.5\n")
    with pytest.raises(ConfigurationError, match="not floats"):
        load_settings(path)


def test_bad_environment_value_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CHAINOPS_NETWORKS__BASE__CONFIRMATIONS", "many")
    with pytest.raises(ConfigurationError, match=r"environment.*networks\.base\.confirmations"):
        load_settings(write(tmp_path, ""))


def test_unknown_network(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ""), rpc_url="http://127.0.0.1:1")
    with pytest.raises(ConfigurationError, match=r"unknown network 'nowhere'.*config\.toml"):
        resolve_network(settings, "nowhere")


def test_network_without_rpc_url(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ""))
    with pytest.raises(ConfigurationError, match=r"networks\.base\.rpc_urls"):
        resolve_network(settings, "base")
    # a local chain defaults to where `chainops devnet up` listens
    assert resolve_network(settings, "devnet").rpc_urls == ("http://127.0.0.1:8545",)


def test_builtin_network_with_config_knobs(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[networks.base]\nrpc_urls = ['https://a.example', 'https://b.example']\n"
        "confirmations = 5\n[networks.base.fee]\nmax_fee_gwei = '3'\nmin_tip_gwei = '0.01'\n",
    )
    net = resolve_network(load_settings(path), "base")
    assert net.chain is get_chain(8453)
    assert net.rpc_urls == ("https://a.example", "https://b.example")
    options = net.operator_options()
    assert options["confirmations"] == 5
    assert options["max_fee_cap_wei"] == 3 * 10**9
    flagged = resolve_network(load_settings(path, rpc_url="http://127.0.0.1:9"), "base")
    assert flagged.rpc_urls == ("http://127.0.0.1:9",)


def test_config_networks_register_as_platforms(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[networks.cfg-fork]\nchain_id = 31337\nrpc_urls = ['http://127.0.0.1:1']\n"
        "[networks.cfg-newchain]\nchain_id = 999001\nrpc_urls = ['http://127.0.0.1:2']\n"
        "native_symbol = 'NEW'\nexplorer_url = 'https://scan.example'\n",
    )
    settings = load_settings(path)
    fork = resolve_network(settings, "cfg-fork")
    assert fork.chain.name == "anvil"  # same chain id: an alias of the known chain
    new = resolve_network(settings, "cfg-newchain")
    assert get_chain("cfg-newchain") is new.chain and new.chain.native_symbol == "NEW"
    assert new.explorer_url == "https://scan.example"


def test_config_chain_id_conflicting_with_builtin(tmp_path: Path) -> None:
    path = write(tmp_path, "[networks.base]\nchain_id = 1\nrpc_urls = ['https://x.example']\n")
    with pytest.raises(ConfigurationError, match=r"networks\.base\.chain_id.*8453"):
        resolve_network(load_settings(path), "base")
    path = write(tmp_path, "[networks.cfg-nochain]\nrpc_urls = ['https://x.example']\n")
    with pytest.raises(ConfigurationError, match=r"networks\.cfg-nochain\.chain_id.*required"):
        resolve_network(load_settings(path), "cfg-nochain")


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("https://eth-mainnet.g.alchemy.com/v2/AbCdEf0123456789xyzKEY", "AbCdEf0123456789xyzKEY"),
        ("https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef", "0123456789abcdef"),
        ("https://rpc.example/?apikey=s3cr3t&x=1", "s3cr3t"),
        ("https://user:hunter2@rpc.example/", "hunter2"),
    ],
)
def test_mask_url_hides_keys(url: str, secret: str) -> None:
    masked = mask_url(url)
    assert secret not in masked and "***" in masked


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEF0123456789_-", min_size=16, max_size=64))
def test_mask_url_never_shows_a_key_segment(key: str) -> None:
    assert key not in mask_url(f"https://node.example/v2/{key}")
    assert key not in mask_url(f"https://node.example/rpc?key={key}")


def test_mask_url_keeps_plain_urls() -> None:
    assert mask_url("http://127.0.0.1:8545") == "http://127.0.0.1:8545"


def test_legacy_network_setting(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[networks.cfg-berlin]\nchain_id = 999002\nrpc_urls = ['http://127.0.0.1:3']\n"
        "[networks.cfg-berlin.fee]\nlegacy = true\n"
        "[networks.cfg-berlin-fork]\nchain_id = 31337\nrpc_urls = ['http://127.0.0.1:4']\n"
        "[networks.cfg-berlin-fork.fee]\nlegacy = true\n"
        "[networks.cfg-london]\nchain_id = 999003\nrpc_urls = ['http://127.0.0.1:5']\n",
    )
    settings = load_settings(path)
    berlin = resolve_network(settings, "cfg-berlin")
    assert not berlin.chain.supports_eip1559
    assert berlin.operator_options()["legacy_fees"] is True
    # an alias of a known EIP-1559 chain keeps its platform; the operator is told instead
    fork = resolve_network(settings, "cfg-berlin-fork")
    assert fork.chain.supports_eip1559 and fork.operator_options()["legacy_fees"] is True
    london = resolve_network(settings, "cfg-london")
    assert london.chain.supports_eip1559 and "legacy_fees" not in london.operator_options()
    with pytest.raises(ConfigurationError):
        load_settings(write(tmp_path, "[networks.x.fee]\nlegacy = 'maybe'\n"))
