"""The import-layer contracts of pyproject.toml hold, and they catch a broken one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [str(LINT), str(ROOT / "pyproject.toml"), "--no-cache"],
        # lint-imports puts its working folder first on sys.path: run it where the tree lives
        cwd=pythonpath or ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_tree_keeps_every_layer_contract() -> None:
    result = _lint()
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_core_module_importing_devnet_breaks_the_check(tmp_path: Path) -> None:
    copy = tmp_path / "chainops"
    shutil.copytree(ROOT / "chainops", copy, ignore=shutil.ignore_patterns("__pycache__"))
    ids = copy / "core" / "ids.py"
    ids.write_text(ids.read_text() + "\nfrom chainops.devnet import anvil  # noqa: E402\n")
    result = _lint(pythonpath=tmp_path)
    assert result.returncode != 0
    assert "chainops.core.ids -> chainops.devnet" in result.stdout


def test_an_evm_part_importing_the_facade_breaks_the_check(tmp_path: Path) -> None:
    copy = tmp_path / "chainops"
    shutil.copytree(ROOT / "chainops", copy, ignore=shutil.ignore_patterns("__pycache__"))
    part = copy / "operators" / "evm" / "nonces.py"
    facade = "\nfrom chainops.operators.evm import operator  # noqa: E402\n"
    part.write_text(part.read_text() + facade)
    result = _lint(pythonpath=tmp_path)
    assert result.returncode != 0
    assert "chainops.operators.evm.nonces" in result.stdout
