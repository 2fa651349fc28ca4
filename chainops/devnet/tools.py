"""Where the project-local tools live: Anvil, the npm contract artifacts, our build."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from chainops.core.errors import ConfigurationError

# The package sits one level below the repository root when run from a checkout.
_REPO_ROOT = Path(__file__).resolve().parents[2]

SETUP_HINT = "run `make setup` (or `npm ci --prefix tools`) in the chainops checkout"


def repo_root() -> Path:
    """Root of the chainops checkout (where tools/ and build/ live)."""
    return Path(os.environ.get("CHAINOPS_ROOT", _REPO_ROOT))


def tools_dir() -> Path:
    """Folder holding the npm-installed tools (``node_modules`` inside it)."""
    return Path(os.environ.get("CHAINOPS_TOOLS_DIR", repo_root() / "tools"))


def node_modules() -> Path:
    return tools_dir() / "node_modules"


def build_dir() -> Path:
    """Build outputs: compiled contracts and the cached world state."""
    return Path(os.environ.get("CHAINOPS_BUILD_DIR", repo_root() / "build"))


def find_anvil() -> Path:
    """Locate the Anvil binary: $CHAINOPS_ANVIL, the npm package, then $PATH."""
    explicit = os.environ.get("CHAINOPS_ANVIL")
    if explicit:
        path = Path(explicit)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise ConfigurationError(f"CHAINOPS_ANVIL={explicit} is not an executable file")
    # The platform package carries the real binary; calling it directly skips a Node
    # wrapper process that would otherwise sit between us and Anvil's signals.
    for candidate in sorted(node_modules().glob("@foundry-rs/anvil-*/bin/anvil")):
        if os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    raise ConfigurationError(
        f"Anvil binary not found (looked in $CHAINOPS_ANVIL, {node_modules()} and $PATH); "
        f"{SETUP_HINT}"
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


def find_npm_script(package: str, script: str) -> Path:
    """A JavaScript entry point of an npm package installed under tools/."""
    path = node_modules() / package / script
    if not path.is_file():
        raise ConfigurationError(f"{package} not found at {path}; {SETUP_HINT}")
    return path
