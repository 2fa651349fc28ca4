"""chainops as a user gets it: the wheel, installed with ``[testing]`` into a fresh venv.

The wheel is built from this checkout, installed into a virtual environment outside
the repository, ``chainops setup`` fills the tool cache, and a small user project
(its own folder, no configuration) runs its tests with the plugin's fixtures: a
swap with balance assertions, an async test, a fork of the world, and
``chainops devnet up`` in a subprocess. The only variable set is ``CHAINOPS_HOME``
(the README's own-project section shows it), so nothing lands in the real home.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

USER_PROJECT = {
    "test_strategy.py": '''
"""A strategy's tests on forks of the chainops devnet world."""

from decimal import Decimal

from chainops import Bps, EvmOperator, LocalSigner, UniswapV3
from chainops.operators.dapps import DexContext, Erc20


async def test_swap_moves_the_balances(devnet, devnet_accounts, tmp_path):
    wallet = LocalSigner.from_key(devnet_accounts[0].private_key)
    async with EvmOperator.connect(
        devnet.rpc_url, wallet=wallet, journal_path=tmp_path / "journal.sqlite"
    ) as evm:
        ctx = DexContext(evm, devnet.book)
        weth, usdc = Erc20(evm, ctx.token("WETH")), Erc20(evm, ctx.token("USDC"))
        weth_before, usdc_before = await weth.balance(), await usdc.balance()
        uni = UniswapV3(ctx)
        quote = await uni.quote_exact_in(["WETH", "USDC"], Decimal("1"), fee=500, slippage=Bps(50))
        order = await uni.swap(quote)
        await order.wait()
        assert order.state.name == "FILLED"
        assert await weth.balance() == weth_before - Decimal("1")
        gained = await usdc.balance() - usdc_before
        assert Decimal("1900") < gained < Decimal("2000")  # pools are seeded at ETH = $2,000


async def test_async_read(devnet):
    import asyncio

    await asyncio.sleep(0)
    assert devnet.anvil.block_number() >= 1


def test_a_fork_of_the_world(devnet_world, anvil_fork):
    fork = anvil_fork(devnet_world.rpc_url)
    assert fork.chain_id() == devnet_world.chain_id
    weth = devnet_world.book.token("WETH").address
    assert fork.rpc("eth_getCode", [weth, "latest"]) not in (None, "0x")
''',
    "test_devnet_cli.py": '''
"""`chainops devnet up` as a user starts it, in a subprocess."""

import json
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_devnet_up_serves_the_world():
    chainops = Path(sys.executable).with_name("chainops")
    port = free_port()
    proc = subprocess.Popen(
        [str(chainops), "devnet", "up", "--json", "--no-exchange", "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        text = ""
        for line in proc.stdout:
            text += line
            if line.startswith("}"):
                break
        document = json.loads(text)
        assert document["rpc_url"].endswith(f":{port}")
        request = urllib.request.Request(
            document["rpc_url"],
            data=b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}',
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert json.load(reply)["result"] == hex(31337)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
''',
}


@dataclass(frozen=True)
class Installed:
    wheel: Path
    python: Path
    home: Path  # CHAINOPS_HOME of the user
    env: dict[str, str]

    def chainops(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.python.with_name("chainops")), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )


def _user_env(venv: Path, home: Path) -> dict[str, str]:
    """The user's shell with the venv activated: none of this checkout's settings."""
    drop = ("CHAINOPS_", "PYTHON", "VIRTUAL_ENV", "PYTEST_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["CHAINOPS_HOME"] = str(home)
    return env


def _build_wheel(into: Path) -> Path:
    """The wheel as `make wheel` builds it (scripts/build_wheel.py), into ``into``/dist."""
    script = ROOT / "scripts" / "build_wheel.py"
    done = subprocess.run(
        [sys.executable, str(script), str(into / "dist")],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return Path(done.stdout.strip())


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    work = tmp_path_factory.mktemp("wheel")
    wheel = _build_wheel(work)
    venv = work / "venv"
    # The venv gets no pip of its own; this interpreter's pip installs into it.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-compile",
            "--disable-pip-version-check",
            f"{wheel}[testing]",
        ],
        check=True,
        capture_output=True,
        timeout=900,
    )
    home = work / "home"
    yield Installed(wheel, python, home, _user_env(venv, home))


def test_the_wheel_carries_everything_that_is_ours(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    ours = [path.relative_to(ROOT).as_posix() for path in (ROOT / "chainops").rglob("*.json")]
    assert ours and set(ours) <= names
    assert {"chainops/py.typed", "chainops/devnet/tools.lock.json"} <= names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert not any(name.startswith(("tools/", "build/", "abis/")) for name in names)
    assert not any("node_modules" in name for name in names)


def test_setup_fills_the_tool_cache_once(installed: Installed) -> None:
    first = installed.chainops("setup", "--json")
    assert first.returncode == 0, first.stdout + first.stderr
    report = json.loads(first.stdout)
    assert Path(report["tools_dir"]).is_relative_to(installed.home)
    names = {row["name"] for row in report["packages"]}
    assert {"@uniswap/v3-core", "@uniswap/v3-periphery", "@uniswap/v2-core"} <= names
    again = json.loads(installed.chainops("setup", "--json").stdout)
    assert again["downloaded_bytes"] == 0
    assert {row["status"] for row in again["packages"]} <= {"present", "on PATH"}


def test_a_user_project_runs_its_tests_with_the_plugin(
    installed: Installed, tmp_path: Path
) -> None:
    project = tmp_path / "my-strategy"
    project.mkdir()
    for name, text in USER_PROJECT.items():
        (project / name).write_text(text.lstrip())
    done = subprocess.run(
        [str(installed.python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=installed.env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "4 passed" in done.stdout
    assert "warning" not in done.stdout.lower()
