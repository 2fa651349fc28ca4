"""``chainops setup --nodes``: Hardhat Network and Ganache for an installed chainops.

The real npm installs the pinned Hardhat and Ganache (with their dependencies) into a
tool folder of their own, and real nodes start from there; bad input each gets a
test: npm missing, an unknown package, a node nobody installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chainops.core.errors import ConfigurationError
from chainops.devnet import node_packages, tools
from chainops.devnet.ganache import Ganache
from chainops.devnet.hardhat import Hardhat
from chainops.devnet.toolcache import PrerequisiteMissing, ToolSetupError

pytestmark = pytest.mark.integration

CHAINOPS = [sys.executable, "-m", "chainops.cli.main"]


def _setup(folder: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAINOPS_")}
    # Anvil as a user with Foundry has it: only the artifacts and the nodes are fetched.
    env.update(CHAINOPS_TOOLS_DIR=str(folder), CHAINOPS_ANVIL=str(tools.find_anvil()))
    done = subprocess.run(
        [*CHAINOPS, "setup", "--nodes", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    document: dict[str, Any] = json.loads(done.stdout)
    return document


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("setup-nodes") / "tools"
    try:
        yield folder, _setup(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # some 500 MB of node_modules


def test_setup_installs_the_pinned_nodes_and_a_rerun_keeps_them(
    installed: tuple[Path, dict[str, Any]],
) -> None:
    folder, first = installed
    rows = {row["name"]: row for row in first["packages"]}
    for name, version in node_packages.pinned().items():
        assert (rows[name]["version"], rows[name]["status"]) == (version, "installed")
        assert Path(rows[name]["path"]) == folder / "nodes" / "node_modules" / name
        assert node_packages.installed_version(folder / "nodes", name) == version
    again = {row["name"]: row["status"] for row in _setup(folder)["packages"]}
    assert (again["hardhat"], again["ganache"]) == ("present", "present")


@pytest.mark.parametrize("kind", [Hardhat, Ganache])
def test_each_node_starts_from_where_setup_put_it(
    installed: tuple[Path, dict[str, Any]],
    kind: type[Hardhat] | type[Ganache],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, _ = installed
    monkeypatch.setenv("CHAINOPS_TOOLS_DIR", str(folder))
    node = kind().start()
    try:
        assert int(node.rpc("eth_chainId"), 16) == 31337
        assert str(folder / "nodes") in " ".join(node.command(0))
    finally:
        node.stop()


def test_a_node_nobody_installed_names_the_setup_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAINOPS_TOOLS_DIR", str(tmp_path / "tools"))
    for kind in (Hardhat, Ganache):
        with pytest.raises(ConfigurationError, match="chainops setup --nodes"):
            kind().command(8545)


def test_missing_npm_is_a_typed_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(PrerequisiteMissing, match=r"Install Node\.js 18"):
        node_packages.install(["hardhat"], tmp_path / "nodes")
    assert not (tmp_path / "nodes").exists()  # nothing half-made


def test_an_unknown_package_is_refused_before_npm_runs(tmp_path: Path) -> None:
    with pytest.raises(ToolSetupError, match="unknown node package 'geth'"):
        node_packages.install(["ganache", "geth"], tmp_path / "nodes")
    assert not (tmp_path / "nodes").exists()
