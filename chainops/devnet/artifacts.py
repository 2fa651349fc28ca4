"""Contract artifacts: Uniswap bytecode from the npm packages, ours shipped in the package.

The Uniswap packages come from the tool cache (fetched on first need, see
``chainops.devnet.tools``); our own contracts are compiled into ``contracts/`` next to
this module by ``scripts/compile_contracts.mjs`` and ship in the wheel.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from chainops.core.errors import ConfigurationError
from chainops.devnet import tools

OUR_ARTIFACTS = Path(__file__).with_name("contracts")

# Name -> path inside node_modules. Versions are pinned in tools.lock.json.
NPM_ARTIFACTS: dict[str, str] = {
    "WETH9": "@uniswap/v2-periphery/build/WETH9.json",
    "UniswapV2Factory": "@uniswap/v2-core/build/UniswapV2Factory.json",
    "UniswapV2Pair": "@uniswap/v2-core/build/UniswapV2Pair.json",
    "UniswapV2Router02": "@uniswap/v2-periphery/build/UniswapV2Router02.json",
    "UniswapV3Factory": (
        "@uniswap/v3-core/artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json"
    ),
    "UniswapV3Pool": "@uniswap/v3-core/artifacts/contracts/UniswapV3Pool.sol/UniswapV3Pool.json",
    "SwapRouter": "@uniswap/v3-periphery/artifacts/contracts/SwapRouter.sol/SwapRouter.json",
    "QuoterV2": "@uniswap/v3-periphery/artifacts/contracts/lens/QuoterV2.sol/QuoterV2.json",
    "TickLens": "@uniswap/v3-periphery/artifacts/contracts/lens/TickLens.sol/TickLens.json",
    "NonfungiblePositionManager": (
        "@uniswap/v3-periphery/artifacts/contracts/"
        "NonfungiblePositionManager.sol/NonfungiblePositionManager.json"
    ),
    "SwapRouter02": (
        "@uniswap/swap-router-contracts/artifacts/contracts/SwapRouter02.sol/SwapRouter02.json"
    ),
}

# keccak256 of the pair/pool creation code on Ethereum mainnet; the npm artifacts match.
UNISWAP_V2_PAIR_INIT_CODE_HASH = (
    "0x96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f"
)
UNISWAP_V3_POOL_INIT_CODE_HASH = (
    "0xe34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54"
)


@dataclass(frozen=True)
class Artifact:
    """ABI and creation bytecode of one contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    path: Path

    def digest(self) -> str:
        return hashlib.sha256(self.bytecode.encode()).hexdigest()


def _read(name: str, path: Path) -> Artifact:
    if not path.is_file():
        raise ConfigurationError(f"artifact {name} not found at {path}; {tools.setup_hint()}")
    data = json.loads(path.read_text())
    bytecode = data.get("bytecode")
    if isinstance(bytecode, dict):  # solc standard-JSON shape
        bytecode = bytecode.get("object")
    if not bytecode:
        bytecode = data.get("evm", {}).get("bytecode", {}).get("object", "")
    if not bytecode:
        raise ConfigurationError(f"artifact {name} at {path} has no bytecode")
    if not bytecode.startswith("0x"):
        bytecode = "0x" + bytecode
    if "__" in bytecode:
        raise ConfigurationError(f"artifact {name} needs library linking, which is unsupported")
    return Artifact(name=name, abi=list(data["abi"]), bytecode=bytecode, path=path)


@cache
def npm_artifact(name: str) -> Artifact:
    """An artifact shipped by the @uniswap npm packages."""
    try:
        relative = NPM_ARTIFACTS[name]
    except KeyError:
        raise ConfigurationError(f"unknown npm artifact {name!r}") from None
    path = tools.node_modules() / relative
    if not path.is_file():
        tools.ensure_artifacts()
    return _read(name, path)


@cache
def our_artifact(name: str) -> Artifact:
    """A contract of ours from the repository's contracts/, as compiled by solc."""
    path = OUR_ARTIFACTS / f"{name}.json"
    if not path.is_file():
        raise ConfigurationError(f"no compiled contract {name!r} in {OUR_ARTIFACTS}")
    return _read(name, path)
