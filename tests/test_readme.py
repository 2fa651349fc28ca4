"""The README runs as printed: its ``python``, ``sh``/``bash`` and ``toml`` blocks are executed.

Blocks run in README order in one scratch folder, as a reader following along would:
with the devnet running (``chainops devnet up`` in another terminal; here a fork of the
world) and its URL exported as ``CHAINOPS_RPC_URL``, as the README says. Python blocks
run as scripts, shell blocks with ``bash -e``, TOML blocks go through the configuration
loader. ``CHAINOPS_HOME`` and ``CHAINOPS_CONFIG`` point into the scratch folder so that
nothing touches the real home; the tool cache ``chainops setup`` fills is kept under
``build/`` between runs. A block right after a ``<!-- not run: reason -->`` line
is illustrative; it is reported as skipped with that reason.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from chainops.devnet.world import World

README = Path(__file__).resolve().parents[1] / "README.md"
RUN = {"python": "python", "sh": "sh", "bash": "sh", "toml": "toml"}
NOT_RUN = re.compile(r"^<!--\s*not run:\s*(?P<reason>.+?)\s*-->$")
FENCE = re.compile(r"^```(?P<info>[^`]*)$")
TEST_FUNCTION = re.compile(r"^(async )?def test_", re.MULTILINE)
# The development password the README's wallet examples use through the environment.
WALLET_PASSWORD = "readme-example-password"
BLOCK_TIMEOUT = 180


@dataclass(frozen=True)
class Block:
    line: int
    lang: str  # the info string's first word, "" for none
    code: str
    not_run: str | None

    @property
    def id(self) -> str:
        return f"L{self.line}-{self.lang or 'text'}"


def readme_blocks(text: str) -> list[Block]:
    """Every fenced block of ``text`` with its language and not-run marker."""
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        fence = FENCE.match(lines[index])
        if fence is None:
            index += 1
            continue
        start = index
        body: list[str] = []
        index += 1
        while index < len(lines) and not lines[index].startswith("```"):
            body.append(lines[index])
            index += 1
        before = next((ln.strip() for ln in reversed(lines[:start]) if ln.strip()), "")
        marker = NOT_RUN.match(before)
        info = fence["info"].strip().split()
        blocks.append(
            Block(
                start + 1,
                info[0] if info else "",
                "\n".join(body) + "\n",
                marker["reason"] if marker else None,
            )
        )
        index += 1
    return blocks


BLOCKS = readme_blocks(README.read_text())
RUNNABLE = [block for block in BLOCKS if block.lang in RUN]


def test_the_runner_finds_the_blocks_and_markers() -> None:
    sample = (
        "x\n```python\nprint(1)\n```\n\n<!-- not run: needs mainnet -->\n```sh\nfoo\n```\n"
        "```\nplain\n```\n"
    )
    found = readme_blocks(sample)
    assert [(b.line, b.lang, b.code, b.not_run) for b in found] == [
        (2, "python", "print(1)\n", None),
        (7, "sh", "foo\n", "needs mainnet"),
        (10, "", "plain\n", None),
    ]


def test_every_shell_example_is_in_a_runnable_block() -> None:
    """Commands in unlabelled blocks would escape the runner: label them sh (or python)."""
    command = re.compile(r"^\$? *(chainops|make|pip|python|pytest) ", re.MULTILINE)
    unlabelled = [b.line for b in BLOCKS if b.lang == "" and command.search(b.code)]
    assert unlabelled == []


def test_not_run_markers_are_used_sparingly() -> None:
    skipped = [b for b in RUNNABLE if b.not_run]
    assert len(skipped) * 4 <= len(RUNNABLE), [b.id for b in skipped]


@pytest.fixture(scope="module")
def reader(
    devnet_world: World, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """The reader's shell: what ``chainops devnet up`` serves, its exports, a scratch home."""
    from chainops.devnet.exchange.background import BackgroundSimulator

    scratch = tmp_path_factory.mktemp("readme")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAINOPS_")}
    bin_dir = str(Path(sys.executable).parent)
    with devnet_world.fork() as devnet, BackgroundSimulator(seed=0) as exchange:
        paper = exchange.create_account({"USDT": "100000", "ETH": "10"})
        env.update(
            PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
            CHAINOPS_RPC_URL=devnet.rpc_url,
            CHAINOPS_CEX_URL=exchange.url,
            CHAINOPS_CEX_API_KEY=paper.api_key,
            CHAINOPS_CEX_API_SECRET=paper.secret,
            # Isolation of the reader's files: everything under the scratch folder.
            CHAINOPS_HOME=str(scratch / "home"),
            # `chainops setup` fills this once per checkout rather than once per run.
            CHAINOPS_CACHE_DIR=str(README.parent / "build" / "readme-tool-cache"),
            CHAINOPS_CONFIG=str(scratch / "config.toml"),
            CHAINOPS_CEX_JOURNAL=str(scratch / "home" / "cex-journal.sqlite"),
            CHAINOPS_WALLET_PASSWORD=WALLET_PASSWORD,
            SCRATCH=str(scratch),
        )
        yield env


@pytest.mark.integration
@pytest.mark.parametrize("block", RUNNABLE, ids=[block.id for block in RUNNABLE])
def test_readme_block(block: Block, reader: dict[str, str]) -> None:
    if block.not_run:
        pytest.skip(f"README marks it not run: {block.not_run}")
    scratch = Path(reader["SCRATCH"])
    if RUN[block.lang] == "toml":
        from chainops.config import load_settings

        path = scratch / f"readme-{block.line}.toml"
        path.write_text(block.code)
        load_settings(path)  # raises a ConfigurationError naming the key if it is wrong
        return
    if RUN[block.lang] == "python" and TEST_FUNCTION.search(block.code):
        module = scratch / f"test_readme_{block.line}.py"
        module.write_text(block.code)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", module.name]
    elif RUN[block.lang] == "python":
        script = scratch / f"readme_{block.line}.py"
        script.write_text(block.code)
        command = [sys.executable, str(script)]
    else:
        command = ["bash", "-e", "-o", "pipefail", "-c", block.code]
    code, stdout, stderr = _run(command, scratch, reader)
    assert code == 0, (
        f"README line {block.line} ({block.lang}) exited {code}\n"
        f"--- stdout\n{stdout[-3000:]}\n--- stderr\n{stderr[-3000:]}"
    )


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[int | str, str, str]:
    """Run a block in its own process group; whatever it leaves running is stopped."""
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=BLOCK_TIMEOUT)
        code: int | str = proc.returncode
    except subprocess.TimeoutExpired:
        code = f"nothing: still running after {BLOCK_TIMEOUT} s"
        stdout, stderr = "", ""
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
        proc.wait()
    return code, stdout, stderr
