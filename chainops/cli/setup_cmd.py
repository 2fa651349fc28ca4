"""``chainops setup``: fetch the pinned Anvil and Uniswap artifacts into the per-user tool cache.

Commands that need them do the same on first use; running it up front (or in a CI
step) keeps that download out of the first devnet start. Re-running is cheap: what
is installed and verified is kept, an interrupted run is completed. ``--nodes`` also
has npm install Hardhat Network and Ganache (opt-in: they are large).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import typer

from chainops.cli.options import Venue, command
from chainops.cli.runtime import Runtime
from chainops.cli.runtime import out as console


@command(None, "setup", venue=Venue.NONE)
def setup(
    *,
    rt: Runtime,
    nodes: bool = typer.Option(
        False,
        "--nodes",
        help="also install Hardhat Network and Ganache (npm, with their dependencies), "
        "for the hardhat_node / ganache_node fixtures",
    ),
) -> None:
    """Install the pinned Anvil and Uniswap artifacts into the per-user tool cache."""
    from chainops.devnet import node_packages, toolcache, tools

    json_output = rt.as_json
    began = time.monotonic()
    target = tools.provisioning_dir()
    rows: list[dict[str, Any]] = []

    def progress(line: str) -> None:
        sys.stderr.write(f"chainops setup: {line}\n")
        sys.stderr.flush()

    pins = toolcache.load_pins()
    wanted = list(pins.artifacts)
    explicit = os.environ.get("CHAINOPS_ANVIL")
    on_path = None if explicit else tools.anvil_on_path()
    pinned_there = pins.anvil is not None and toolcache.is_installed(target, pins.anvil)
    if explicit:
        rows.append({"name": "anvil", "status": "CHAINOPS_ANVIL", "path": explicit})
    elif on_path is not None and not pinned_there:
        version = ".".join(map(str, tools.anvil_version(on_path) or ()))
        rows.append(
            {"name": "anvil", "version": version, "status": "on PATH", "path": str(on_path)}
        )
    elif pins.anvil is None:
        raise toolcache.ToolSetupError(
            f"no pinned Anvil build for {toolcache.platform_key()}; install Foundry "
            "(`foundryup`) so that `anvil` is on PATH"
        )
    else:
        wanted.insert(0, pins.anvil)
    installed = toolcache.provision(wanted, target, progress=progress)
    for item in installed:
        rows.append(
            {
                "name": item.pin.name,
                "version": item.pin.version,
                "status": "fetched" if item.downloaded else "present",
                "bytes": item.downloaded,
                "path": str(item.path),
            }
        )
    if nodes:
        for package in node_packages.install(
            node_packages.NODE_PACKAGES, tools.nodes_dir(), progress=progress
        ):
            rows.append(
                {
                    "name": package.name,
                    "version": package.version,
                    "status": "installed" if package.fetched else "present",
                    "path": str(package.path),
                }
            )
    downloaded = sum(item.downloaded for item in installed)
    seconds = round(time.monotonic() - began, 2)
    if json_output:
        document = {
            "tools_dir": str(target),
            "downloaded_bytes": downloaded,
            "seconds": seconds,
            "packages": rows,
        }
        print(json.dumps(document, indent=2), flush=True)
        return
    console.print(f"tool cache: [bold]{target}[/bold]", highlight=False)
    for row in rows:
        version = f" {row['version']}" if row.get("version") else ""
        size = f", {row['bytes'] / 1e6:.1f} MB" if row.get("bytes") else ""
        console.print(f"  {row['name']}{version}: {row['status']}{size}", highlight=False)
    if tools.tools_dir() != target:
        console.print(
            f"note: this development checkout uses {tools.tools_dir()} (make setup) instead",
            highlight=False,
        )
    console.print(
        f"[green]ready[/green]: fetched {downloaded / 1e6:.1f} MB in {seconds:.1f} s",
        highlight=False,
    )
