"""Hardhat Network and Ganache for an installed chainops: ``chainops setup --nodes``.

Unlike Anvil and the Uniswap artifacts (single tarballs the tool cache unpacks and
checks itself), these two are npm packages with hundreds of dependencies, so npm
installs them, at the versions pinned in ``tools.lock.json``, into a folder of
their own (``<tools>/nodes``): npm never touches what the tool cache unpacked.
A development checkout has them in ``tools/`` already (``make setup``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from chainops.devnet.toolcache import LOCK_FILE, PrerequisiteMissing, ToolSetupError

__all__ = ["NODE_PACKAGES", "NodePackage", "install", "installed_version", "pinned"]

NODE_PACKAGES = ("hardhat", "ganache")
# npm resolves and fetches a whole dependency tree: minutes on a cold cache.
INSTALL_TIMEOUT = 900.0
NPM_MISSING = (
    "npm was not found; `chainops setup --nodes` installs Hardhat Network and Ganache "
    "with it. Install Node.js 18 or later (it brings npm; e.g. `apt install nodejs npm`, "
    "`brew install node`) and run it again."
)
_FLAGS = ("--no-save", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error")


@dataclass(frozen=True)
class NodePackage:
    """One node package and what ``install`` did with it."""

    name: str
    version: str
    path: Path
    fetched: bool  # False: that version was installed already


def pinned() -> dict[str, str]:
    """The pinned version of each node package."""
    nodes = json.loads(LOCK_FILE.read_text())["nodes"]
    return {name: str(nodes[name]) for name in NODE_PACKAGES}


def installed_version(prefix: Path, name: str) -> str | None:
    """The version of ``name`` installed under ``prefix/node_modules``, if any."""
    try:
        manifest = json.loads((prefix / "node_modules" / name / "package.json").read_text())
    except (OSError, ValueError):
        return None
    version = manifest.get("version") if isinstance(manifest, dict) else None
    return version if isinstance(version, str) else None


def install(
    names: Sequence[str], prefix: Path, *, progress: Callable[[str], None] | None = None
) -> list[NodePackage]:
    """Install the pinned versions of ``names`` under ``prefix`` (one ``npm install``)."""
    unknown = sorted(set(names) - set(NODE_PACKAGES))
    if unknown:
        known = ", ".join(NODE_PACKAGES)
        raise ToolSetupError(f"unknown node package {unknown[0]!r}; known: {known}")
    pins = pinned()
    todo = [n for n in names if installed_version(prefix, n) != pins[n]]
    if todo:
        npm = shutil.which("npm")
        if npm is None:
            raise PrerequisiteMissing(NPM_MISSING)
        specs = [f"{n}@{pins[n]}" for n in todo]
        if progress is not None:
            progress(f"installing {' '.join(specs)} with npm into {prefix}")
        try:
            prefix.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ToolSetupError(f"cannot create {prefix}: {exc}") from None
        try:
            done = subprocess.run(
                [npm, "install", "--prefix", str(prefix), *_FLAGS, *specs],
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT,
                check=False,
            )
        except FileNotFoundError:  # the npm script found, but Node.js missing behind it
            raise PrerequisiteMissing(NPM_MISSING) from None
        except subprocess.TimeoutExpired:
            raise ToolSetupError(
                f"npm took over {INSTALL_TIMEOUT:.0f} s to install {' '.join(specs)}"
            ) from None
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise ToolSetupError(f"npm could not install {' '.join(specs)}: {' / '.join(detail)}")
        for name in todo:
            if installed_version(prefix, name) != pins[name]:
                raise ToolSetupError(f"npm install left no {name} {pins[name]} under {prefix}")
    return [NodePackage(n, pins[n], prefix / "node_modules" / n, fetched=n in todo) for n in names]
