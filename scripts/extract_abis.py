#!/usr/bin/env python3
"""Write chainops/abis/<Name>.json for every contract the project calls.

Sources: the Uniswap npm packages installed in tools/node_modules and our own
contracts compiled into chainops/devnet/contracts (the compile step is run first;
it is a no-op when nothing changed). Both folders ship in the wheel. Each file is
a bare ABI array, pretty-printed with sorted keys so that diffs stay small;
chainops/abis/README.md lists where each came from.

    python scripts/extract_abis.py            # (re)write abis/
    python scripts/extract_abis.py --check    # exit 1 if abis/ is stale
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "tools" / "node_modules"
BUILD = ROOT / "chainops" / "devnet" / "contracts"
ABIS = ROOT / "chainops" / "abis"

# Output name -> (npm package, artifact path inside the package).
NPM_ARTIFACTS: dict[str, tuple[str, str]] = {
    # The v2-core interface carries name/symbol/decimals, i.e. the full ERC-20 surface.
    "ERC20": ("@uniswap/v2-core", "build/IERC20.json"),
    "WETH9": ("@uniswap/v2-periphery", "build/WETH9.json"),
    "UniswapV2Factory": ("@uniswap/v2-core", "build/UniswapV2Factory.json"),
    "UniswapV2Pair": ("@uniswap/v2-core", "build/UniswapV2Pair.json"),
    "UniswapV2Router02": ("@uniswap/v2-periphery", "build/UniswapV2Router02.json"),
    "UniswapV3Factory": (
        "@uniswap/v3-core",
        "artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json",
    ),
    "UniswapV3Pool": (
        "@uniswap/v3-core",
        "artifacts/contracts/UniswapV3Pool.sol/UniswapV3Pool.json",
    ),
    "SwapRouter": ("@uniswap/v3-periphery", "artifacts/contracts/SwapRouter.sol/SwapRouter.json"),
    "QuoterV2": ("@uniswap/v3-periphery", "artifacts/contracts/lens/QuoterV2.sol/QuoterV2.json"),
    "NonfungiblePositionManager": (
        "@uniswap/v3-periphery",
        "artifacts/contracts/NonfungiblePositionManager.sol/NonfungiblePositionManager.json",
    ),
    "TickLens": ("@uniswap/v3-periphery", "artifacts/contracts/lens/TickLens.sol/TickLens.json"),
    "SwapRouter02": (
        "@uniswap/swap-router-contracts",
        "artifacts/contracts/SwapRouter02.sol/SwapRouter02.json",
    ),
}


class ExtractError(Exception):
    pass


@dataclass(frozen=True)
class Entry:
    name: str
    abi: list[Any]
    source: str  # human-readable origin for the README


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExtractError(f"missing {path}") from None
    except json.JSONDecodeError as exc:
        raise ExtractError(f"{path} is not valid JSON: {exc}") from None


def _abi_of(path: Path) -> list[Any]:
    abi = _load_json(path).get("abi")
    # Some older build outputs store the ABI as a JSON string.
    if isinstance(abi, str):
        abi = json.loads(abi)
    if not isinstance(abi, list):
        raise ExtractError(f"{path} has no ABI array")
    return abi


def _package_version(package: str) -> str:
    version = _load_json(NODE_MODULES / package / "package.json").get("version")
    if not isinstance(version, str):
        raise ExtractError(f"{package}/package.json has no version")
    return version


def npm_entries() -> list[Entry]:
    if not NODE_MODULES.is_dir():
        raise ExtractError(f"{NODE_MODULES} is missing; run: npm --prefix tools install")
    entries = []
    for name, (package, rel) in NPM_ARTIFACTS.items():
        version = _package_version(package)
        source = f"`{package}@{version}` `{rel}`"
        entries.append(Entry(name, _abi_of(NODE_MODULES / package / rel), source))
    return entries


def compile_contracts() -> None:
    script = ROOT / "scripts" / "compile_contracts.mjs"
    result = subprocess.run(["node", str(script)], cwd=ROOT, check=False)
    if result.returncode != 0:
        raise ExtractError(f"{script.name} failed with exit code {result.returncode}")


def own_entries() -> list[Entry]:
    artifacts = sorted(BUILD.glob("*.json"))
    if not artifacts:
        raise ExtractError(f"no compiled contracts in {BUILD}")
    entries = []
    for path in artifacts:
        data = _load_json(path)
        name = data.get("contractName", path.stem)
        source = f"`contracts/{data.get('sourceName', name + '.sol')}`"
        compiler = data.get("compilerVersion")
        if compiler:
            source += f" (solc {compiler.split('+')[0]})"
        entries.append(Entry(name, _abi_of(path), source))
    return entries


def render(entries: list[Entry]) -> dict[str, str]:
    """File name -> exact file content for everything under abis/."""
    files: dict[str, str] = {}
    for entry in entries:
        filename = f"{entry.name}.json"
        if filename in files:
            raise ExtractError(f"two contracts would both write {filename}")
        files[filename] = json.dumps(entry.abi, indent=2, sort_keys=True) + "\n"
    lines = [
        "# ABIs",
        "",
        "ABI JSON (a bare array) of every contract the project calls. Generated by",
        "`python scripts/extract_abis.py`; do not edit by hand. Run it with",
        "`--check` to find stale files.",
        "",
        "| File | Source |",
        "| --- | --- |",
    ]
    for entry in sorted(entries, key=lambda e: e.name.lower()):
        lines.append(f"| `{entry.name}.json` | {entry.source} |")
    files["README.md"] = "\n".join(lines) + "\n"
    return files


def check(files: dict[str, str]) -> list[str]:
    problems = []
    for filename, content in sorted(files.items()):
        path = ABIS / filename
        if not path.exists():
            problems.append(f"missing: {ABIS.relative_to(ROOT)}/{filename}")
        elif path.read_text(encoding="utf-8") != content:
            problems.append(f"differs: {ABIS.relative_to(ROOT)}/{filename}")
    if ABIS.is_dir():
        for path in sorted(ABIS.iterdir()):
            # The folder is also the package that loads the ABIs.
            if path.is_file() and path.suffix != ".py" and path.name not in files:
                problems.append(f"not generated: {ABIS.relative_to(ROOT)}/{path.name}")
    return problems


def write(files: dict[str, str]) -> None:
    ABIS.mkdir(exist_ok=True)
    for filename, content in files.items():
        (ABIS / filename).write_text(content, encoding="utf-8")
    # Remove ABIs of contracts that are gone, so abis/ mirrors the sources exactly.
    for path in ABIS.glob("*.json"):
        if path.name not in files:
            path.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if abis/ is not up to date")
    parser.add_argument(
        "--no-compile",
        action="store_true",
        help="use chainops/devnet/contracts as it is instead of compiling first",
    )
    args = parser.parse_args(argv)
    try:
        if not args.no_compile:
            compile_contracts()
        files = render(npm_entries() + own_entries())
    except ExtractError as exc:
        print(f"extract_abis: {exc}", file=sys.stderr)
        return 2
    if args.check:
        problems = check(files)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("ABIs are stale; run: python scripts/extract_abis.py", file=sys.stderr)
            return 1
        print(f"{ABIS.relative_to(ROOT)}/ up to date ({len(files)} files)")
        return 0
    write(files)
    print(f"wrote {len(files)} files to {ABIS.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
