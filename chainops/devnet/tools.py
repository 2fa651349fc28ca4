"""Where the third-party tools are found: Anvil and the Uniswap npm artifacts.

An installed chainops uses the per-user tool cache (``chainops.devnet.toolcache``)
and fills it on first need, with a progress line on stderr. A development
checkout that ran ``make setup`` uses its own ``tools/node_modules`` and
``build/`` instead. ``CHAINOPS_TOOLS_DIR`` (a folder holding ``node_modules``)
and ``CHAINOPS_BUILD_DIR`` override both; ``CHAINOPS_ANVIL`` names an Anvil binary.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

from chainops.core.errors import ConfigurationError
from chainops.devnet import toolcache

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def checkout_root() -> Path | None:
    """The source checkout chainops runs from, if any (never ``site-packages``)."""
    root = _PACKAGE_ROOT
    if (root / "pyproject.toml").is_file() and (root / "tools" / "package.json").is_file():
        return root
    return None


def _checkout_tools() -> Path | None:
    root = checkout_root()
    if root is not None and (root / "tools" / "node_modules").is_dir():
        return root / "tools"
    return None


def provisioning_dir() -> Path:
    """Where ``chainops setup`` installs: ``$CHAINOPS_TOOLS_DIR``, else the tool cache."""
    explicit = os.environ.get("CHAINOPS_TOOLS_DIR")
    if explicit:
        return Path(explicit).expanduser()
    return toolcache.cache_dir() / "tools"


def tools_dir() -> Path:
    """Folder holding ``node_modules`` with Anvil and the Uniswap packages."""
    if "CHAINOPS_TOOLS_DIR" in os.environ:
        return provisioning_dir()
    return _checkout_tools() or provisioning_dir()


def node_modules() -> Path:
    return tools_dir() / "node_modules"


def build_dir() -> Path:
    """Where the cached devnet world lives (``world/`` inside it)."""
    explicit = os.environ.get("CHAINOPS_BUILD_DIR")
    if explicit:
        return Path(explicit).expanduser()
    root = checkout_root()
    if root is not None and _checkout_tools() is not None:
        return root / "build"
    return toolcache.cache_dir()


def setup_hint() -> str:
    if _checkout_tools() is not None and "CHAINOPS_TOOLS_DIR" not in os.environ:
        return "run `make setup` in the checkout"
    return "run `chainops setup`"


def _provisions() -> bool:
    """Whether missing tools are fetched into ``tools_dir()`` (never into a checkout's)."""
    return "CHAINOPS_TOOLS_DIR" in os.environ or _checkout_tools() is None


def _progress(line: str) -> None:
    sys.stderr.write(f"chainops: {line}\n")
    sys.stderr.flush()


def ensure_artifacts() -> None:
    """Fetch the pinned Uniswap packages into the tool cache unless they are there."""
    pins = toolcache.load_pins().artifacts
    tools = tools_dir()
    if not _provisions() or not toolcache.missing(tools, pins):
        return
    _progress(f"first use: fetching the pinned Uniswap artifacts into {tools} (once)")
    toolcache.provision(pins, tools, progress=_progress)


def fetch_pending() -> bool:
    """Whether the next devnet start will first fetch tools into the cache."""
    if not _provisions():
        return False
    pins = toolcache.load_pins()
    if toolcache.missing(tools_dir(), pins.artifacts):
        return True
    anvil_elsewhere = "CHAINOPS_ANVIL" in os.environ or anvil_on_path() is not None
    return (
        pins.anvil is not None
        and not anvil_elsewhere
        and not (toolcache.is_installed(tools_dir(), pins.anvil))
    )


@cache
def anvil_version(binary: Path) -> tuple[int, ...] | None:
    """The version an Anvil binary reports (``anvil Version: 1.7.1``), or None."""
    try:
        out = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r"(\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(x) for x in found.groups()) if found else None


def anvil_on_path() -> Path | None:
    """An ``anvil`` on PATH (Foundry's) whose version fits, else None."""
    on_path = shutil.which("anvil")
    if on_path is None:
        return None
    version = anvil_version(Path(on_path))
    if version is None or not toolcache.load_pins().anvil_fits(version):
        return None
    return Path(on_path)


def _pinned_anvil(folder: Path) -> Path | None:
    # The platform package carries the real binary; calling it directly skips a Node
    # wrapper process that would otherwise sit between us and Anvil's signals.
    name = "anvil.exe" if sys.platform == "win32" else "anvil"
    for candidate in sorted(folder.glob(f"@foundry-rs/anvil-*/bin/{name}")):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def find_anvil(*, fetch: bool = True) -> Path:
    """Anvil: ``$CHAINOPS_ANVIL``, the pinned one, a fitting one on PATH, else fetch it."""
    explicit = os.environ.get("CHAINOPS_ANVIL")
    if explicit:
        path = Path(explicit)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise ConfigurationError(f"CHAINOPS_ANVIL={explicit} is not an executable file")
    pinned = _pinned_anvil(node_modules())
    if pinned is not None:
        return pinned
    on_path = anvil_on_path()
    if on_path is not None:
        return on_path
    pins = toolcache.load_pins()
    if fetch and _provisions() and pins.anvil is not None:
        tools = tools_dir()
        _progress(f"first use: fetching Anvil {pins.anvil.version} into {tools} (once)")
        toolcache.provision([pins.anvil], tools, progress=_progress)
        pinned = _pinned_anvil(node_modules())
        if pinned is not None:
            return pinned
    wanted = f">={'.'.join(map(str, pins.anvil_min))},<{'.'.join(map(str, pins.anvil_below))}"
    raise ConfigurationError(
        f"Anvil not found (looked in $CHAINOPS_ANVIL, {node_modules()} and for an anvil "
        f"{wanted} on PATH); {setup_hint()}, or install Foundry (`foundryup`)"
    )


def find_node_runtime() -> Path:
    """The Node.js binary that runs the npm-installed nodes: $CHAINOPS_NODE, then $PATH."""
    explicit = os.environ.get("CHAINOPS_NODE")
    found = explicit or shutil.which("node")
    if found and os.access(found, os.X_OK):
        return Path(found)
    raise ConfigurationError(
        "Node.js not found (looked in $CHAINOPS_NODE and $PATH); Hardhat Network 2.x and "
        "Ganache 7 need Node.js 18 or later"
    )


def nodes_dir() -> Path:
    """Where ``chainops setup --nodes`` installs Hardhat and Ganache (npm's own tree)."""
    return provisioning_dir() / "nodes"


def find_npm_script(package: str, script: str) -> Path:
    """A JavaScript entry point of an npm package installed under tools/ (or, for
    Hardhat and Ganache, where ``chainops setup --nodes`` put them)."""
    path = node_modules() / package / script
    if path.is_file():
        return path
    installed = nodes_dir() / "node_modules" / package / script
    if installed.is_file():
        return installed
    # Only Anvil and the Uniswap artifacts are provisioned on first use; other nodes are opt-in.
    hint = (
        "run `make setup` in the checkout"
        if _checkout_tools() is not None and "CHAINOPS_TOOLS_DIR" not in os.environ
        else "run `chainops setup --nodes` (Node.js 18+ with npm)"
    )
    raise ConfigurationError(f"{package} not found at {path}; {hint}")
