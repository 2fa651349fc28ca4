"""The per-user tool cache, provisioned with the real npm from the real registry packages.

Bad inputs each get a test: a corrupted download (integrity mismatch), a cache folder
that cannot be written, npm missing, and a setup killed half-way (a re-run finishes it).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from chainops.devnet import node_packages, toolcache, tools
from chainops.devnet.toolcache import (
    CacheNotWritable,
    IntegrityMismatch,
    Pin,
    PrerequisiteMissing,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CHAINOPS = [sys.executable, "-m", "chainops.cli.main"]
PINS = toolcache.load_pins()
SMALL = next(pin for pin in PINS.artifacts if pin.name == "@uniswap/v3-core")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAINOPS_")}
    return {**env, **extra}


def test_the_pins_match_the_checkouts_npm_lock() -> None:
    lock = json.loads((ROOT / "tools" / "package-lock.json").read_text())["packages"]
    pinned = [*PINS.artifacts, *([PINS.anvil] if PINS.anvil else [])]
    for pin in pinned:
        entry = lock[f"node_modules/{pin.name}"]
        assert (entry["version"], entry["integrity"]) == (pin.version, pin.integrity)


def test_the_node_pins_match_the_checkouts_package_json() -> None:
    wanted = json.loads((ROOT / "tools" / "package.json").read_text())["dependencies"]
    assert node_packages.pinned() == {name: wanted[name] for name in node_packages.NODE_PACKAGES}


def test_provisions_verified_packages_and_a_second_run_fetches_nothing(tmp_path: Path) -> None:
    first = toolcache.provision([SMALL], tmp_path)
    assert first[0].downloaded > 0
    package = toolcache.package_dir(tmp_path, SMALL)
    assert json.loads((package / "package.json").read_text())["version"] == SMALL.version
    assert (package / "artifacts/contracts/UniswapV3Pool.sol/UniswapV3Pool.json").is_file()
    assert toolcache.is_installed(tmp_path, SMALL)
    again = toolcache.provision([SMALL], tmp_path)
    assert again[0].downloaded == 0
    assert not (tmp_path / ".staging").exists()


def test_a_corrupted_download_is_refused_and_nothing_is_installed(tmp_path: Path) -> None:
    tampered = replace(SMALL, integrity="sha512-" + "A" * 86 + "==")
    with pytest.raises(IntegrityMismatch, match="does not match the pinned integrity"):
        toolcache.provision([tampered], tmp_path)
    assert not toolcache.package_dir(tmp_path, SMALL).exists()
    assert not (tmp_path / ".staging").exists()


def test_another_version_in_the_cache_is_replaced(tmp_path: Path) -> None:
    toolcache.provision([SMALL], tmp_path)
    (toolcache.package_dir(tmp_path, SMALL) / toolcache.MARKER).write_text("sha512-older\n")
    assert toolcache.missing(tmp_path, [SMALL]) == [SMALL]
    assert toolcache.provision([SMALL], tmp_path)[0].downloaded > 0
    assert toolcache.is_installed(tmp_path, SMALL)


def test_a_cache_that_cannot_be_written_is_a_typed_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(CacheNotWritable, match="CHAINOPS_CACHE_DIR"):
        toolcache.provision([SMALL], blocker / "cache" / "tools")
    done = subprocess.run(
        [*CHAINOPS, "setup"],
        env=_env(CHAINOPS_CACHE_DIR=str(blocker / "cache")),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "is not writable" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_npm_names_both_ways_to_fix_it(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    env = _env(CHAINOPS_CACHE_DIR=str(tmp_path / "cache"), PATH=str(empty))
    done = subprocess.run(
        [*CHAINOPS, "setup", "--json"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 1, done.stderr
    error = json.loads(done.stdout)
    assert error["error"] == "PrerequisiteMissing"
    assert "install Node.js" in error["message"]
    assert "copy that cache folder" in error["message"]
    old_path = os.environ["PATH"]
    try:
        os.environ["PATH"] = str(empty)
        with pytest.raises(PrerequisiteMissing):
            toolcache.provision([SMALL], tmp_path / "direct")
    finally:
        os.environ["PATH"] = old_path


def test_an_interrupted_setup_is_completed_by_a_re_run(tmp_path: Path) -> None:
    env = _env(CHAINOPS_CACHE_DIR=str(tmp_path))
    setup = subprocess.Popen(
        [*CHAINOPS, "setup"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert setup.stderr is not None
    for line in setup.stderr:  # kill it right after the first package is in place
        if "verified" in line:
            setup.send_signal(signal.SIGKILL)
            break
    setup.wait(timeout=60)
    assert setup.returncode == -signal.SIGKILL
    target = tmp_path / "tools"
    everything = [pin for pin in [PINS.anvil, *PINS.artifacts] if pin is not None]
    assert 0 < len(toolcache.missing(target, everything)) < len(everything)
    done = subprocess.run(
        [*CHAINOPS, "setup", "--json"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    statuses = {row["name"]: row["status"] for row in json.loads(done.stdout)["packages"]}
    assert statuses[everything[0].name] == "present"
    assert "fetched" in statuses.values()
    assert toolcache.missing(target, everything) == []
    assert not (target / ".staging").exists()


def _fake_anvil(folder: Path, version: str) -> Path:
    """A stand-in that only answers --version, for the PATH version check."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "anvil"
    script.write_text(f"#!/bin/sh\necho 'anvil Version: {version}'\n")
    script.chmod(0o755)
    return script


def test_an_anvil_on_path_is_used_only_when_its_version_fits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHAINOPS_ANVIL", raising=False)
    monkeypatch.setenv("CHAINOPS_TOOLS_DIR", str(tmp_path / "tools"))
    fits = _fake_anvil(tmp_path / "new", "1.7.0")
    old = _fake_anvil(tmp_path / "old", "0.2.0")
    monkeypatch.setenv("PATH", str(fits.parent))
    assert tools.find_anvil(fetch=False) == fits
    monkeypatch.setenv("PATH", str(old.parent))
    with pytest.raises(tools.ConfigurationError, match="foundryup"):
        tools.find_anvil(fetch=False)


def test_pins_refuse_an_unknown_platform() -> None:
    pins = toolcache.load_pins("plan9-mips")
    assert pins.anvil is None
    assert pins.anvil_fits((1, 7, 1))
    assert not pins.anvil_fits((2, 0, 0))
    assert all(isinstance(pin, Pin) for pin in pins.artifacts)


def test_the_first_need_fetches_with_a_progress_line(tmp_path: Path) -> None:
    env = _env(CHAINOPS_TOOLS_DIR=str(tmp_path / "tools"))
    code = (
        "from chainops.devnet.artifacts import npm_artifact\n"
        "from chainops.devnet.tools import fetch_pending, find_anvil\n"
        "assert fetch_pending()\n"
        "print(npm_artifact('UniswapV3Factory').path)\n"
        "print(find_anvil())\n"
        "assert not fetch_pending()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    artifact, anvil = done.stdout.split()
    assert Path(artifact).is_relative_to(tmp_path) and Path(anvil).is_relative_to(tmp_path)
    assert "first use: fetching the pinned Uniswap artifacts" in done.stderr
    assert f"first use: fetching Anvil {PINS.anvil.version if PINS.anvil else ''}" in done.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG is the Linux convention")
def test_the_cache_folder_follows_xdg_chainops_home_and_its_own_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("CHAINOPS_CACHE_DIR", "CHAINOPS_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert toolcache.cache_dir() == tmp_path / "home" / ".cache" / "chainops"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    assert toolcache.cache_dir() == tmp_path / "home" / ".cache" / "chainops"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert toolcache.cache_dir() == tmp_path / "xdg" / "chainops"
    monkeypatch.setenv("CHAINOPS_HOME", str(tmp_path / "all"))
    assert toolcache.cache_dir() == tmp_path / "all" / "cache"
    monkeypatch.setenv("CHAINOPS_CACHE_DIR", str(tmp_path / "just-the-cache"))
    assert toolcache.cache_dir() == tmp_path / "just-the-cache"
