"""The pytest plugin in a project with no configuration, and missing extras as one line.

Each case runs pytest (or the CLI) in a subprocess inside a fresh folder outside the
repository, as a user's project would; an absent extra is simulated by hiding its
modules (``sys.modules[name] = None`` makes them unimportable).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HIDE_SOLANA = "import sys\nsys.modules['solders'] = None\nsys.modules['solana'] = None\n"


def _pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "test_user.py").write_text(
        "import asyncio\n\n"
        "async def test_async():\n"
        "    await asyncio.sleep(0)\n\n"
        "def test_sync():\n"
        "    assert True\n"
    )
    return tmp_path


def test_async_tests_run_with_no_configuration(project: Path) -> None:
    done = _pytest(project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
    assert "asyncio_default_fixture_loop_scope" not in done.stdout + done.stderr


def test_a_projects_own_asyncio_mode_is_kept(project: Path) -> None:
    (project / "pytest.ini").write_text("[pytest]\nasyncio_mode = strict\n")
    done = _pytest(project)
    assert done.returncode == 1
    assert "1 failed, 1 passed" in done.stdout


def test_async_tests_without_pytest_asyncio_say_which_extra(project: Path) -> None:
    done = _pytest(project, "-p", "no:asyncio")
    assert done.returncode == 1
    assert "async tests need pytest-asyncio: pip install 'chainops[testing]'" in done.stdout


def test_solana_devnet_without_the_extra_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(HIDE_SOLANA)
    (tmp_path / "test_sol.py").write_text("def test_cluster(solana_devnet):\n    pass\n")
    done = _pytest(tmp_path)
    assert done.returncode == 1
    assert (
        "the solana_devnet fixture needs the solana extra (solders, solana is not installed): "
        "pip install 'chainops[solana]'"
    ) in done.stdout
    assert "Traceback" not in done.stdout
    assert "ModuleNotFoundError" not in done.stdout


@pytest.mark.parametrize(
    "args", [["sol", "balance", "--url", "http://127.0.0.1:9"], ["devnet", "up", "--solana"]]
)
def test_sol_commands_without_the_extra_are_one_line(args: list[str]) -> None:
    code = HIDE_SOLANA + "from chainops.cli.main import app\napp()\n"
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "needs the solana extra" in done.stderr
    assert "pip install 'chainops[solana]'" in done.stderr
    assert "Traceback" not in done.stderr
