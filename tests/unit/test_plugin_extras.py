"""The pytest plugin in a project with no configuration, and missing extras or tools as one line.

Each case runs pytest (or the CLI) in a subprocess inside a fresh folder outside the
repository, as a user's project would; an absent extra is simulated by hiding its
modules (``sys.modules[name] = None`` makes them unimportable).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HIDE_SOLANA = "import sys\nsys.modules['solders'] = None\nsys.modules['solana'] = None\n"


def _pytest(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # -rN: no short summary, whose lines repeat each message in full where CI is set
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rN", "-p", "no:cacheprovider", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
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
    message = (
        "the solana_devnet fixture needs the solana extra (solders, solana is not installed): "
        "pip install 'chainops[solana]'"
    )
    assert done.stdout.count(message) == 1, done.stdout  # said once, not once per exception
    assert "During handling" not in done.stdout
    assert "Traceback" not in done.stdout
    assert "ModuleNotFoundError" not in done.stdout


MISSING_TOOL_SUITE = """
def test_world(devnet_world):
    pass

def test_isolated(devnet):
    pass

def test_anvil_node(anvil_node):
    pass

def test_node_factory(node_factory):
    node_factory("anvil")

def test_anvil_fork(anvil_fork):
    anvil_fork("http://127.0.0.1:9")

def test_like(devnet_like):
    devnet_like("base")
"""


def test_a_missing_tool_is_one_line_per_test(tmp_path: Path) -> None:
    (tmp_path / "test_tools.py").write_text(MISSING_TOOL_SUITE)
    missing = tmp_path / "no-anvil-here"
    done = _pytest(tmp_path, env={**os.environ, "CHAINOPS_ANVIL": str(missing)})
    assert done.returncode == 1
    message = f"CHAINOPS_ANVIL={missing} is not an executable file"
    # one error or failure per test, each just the message: no frames of chainops' own code
    assert done.stdout.count(message) == 6, done.stdout
    assert "Traceback" not in done.stdout
    assert "ConfigurationError" not in done.stdout
    assert "chainops/devnet/" not in done.stdout
    assert "3 failed, 3 errors in" in done.stdout  # and no warnings


def test_every_fixture_is_documented_in_the_readme_and_in_pytest_fixtures(
    tmp_path: Path,
) -> None:
    listing = _pytest(tmp_path, "--fixtures").stdout
    sections = re.split(r"^-+ fixtures defined from (\S+) -+$", listing, flags=re.M)
    ours = {
        match.group(1): match.group(2).strip()
        for module, text in zip(sections[1::2], sections[2::2], strict=True)
        if module.startswith("chainops.testing")
        for match in re.finditer(r"^(\w+)(?: \[\w+ scope\])? -- .*\n((?:    .*\n)*)", text, re.M)
    }
    assert {"devnet_world", "devnet", "solana_devnet", "exchange_simulator"} <= set(ours)
    assert [name for name, doc in ours.items() if doc == "no docstring available"] == []
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Using the pytest plugin in your own tests", 1)[1].split("\n## ")[0]
    table = [line for line in section.splitlines() if line.startswith("| `")]
    listed = set(re.findall(r"`(\w+)`", " ".join(line.split("|")[1] for line in table)))
    assert sorted(set(ours) - listed) == []


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
