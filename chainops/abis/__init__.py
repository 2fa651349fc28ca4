"""The ABI JSON files of the contracts chainops calls, shipped inside this package.

``scripts/extract_abis.py`` writes them from the pinned npm packages and our
compiled contracts; ``README.md`` here lists where each came from.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from eth_abi.abi import decode
from eth_utils.abi import collapse_if_tuple

from chainops.core.errors import ConfigurationError


def abi_dir() -> Path:
    """The folder of ABI files (this package's own folder)."""
    return Path(__file__).resolve().parent


@cache
def load_abi(name: str) -> list[dict[str, Any]]:
    """The ABI of contract ``name`` (``"ERC20"``, ``"SwapRouter"``, ...)."""
    path = abi_dir() / f"{name}.json"
    if not path.is_file():
        raise ConfigurationError(f"no ABI named {name!r} in {path.parent}")
    data = json.loads(path.read_text())
    # Files hold either a bare ABI list or an artifact with an "abi" key.
    abi = data["abi"] if isinstance(data, dict) else data
    if not isinstance(abi, list):
        raise ConfigurationError(f"{path} does not hold an ABI list")
    return abi


def decode_output(abi: list[dict[str, Any]], function: str, data: bytes) -> Any:
    """Decode the return data of ``function``, tuples (structs) included.

    One output is returned unwrapped, several as a tuple.
    """
    for entry in abi:
        if entry.get("type") == "function" and entry.get("name") == function:
            types = [collapse_if_tuple(o) for o in entry.get("outputs", [])]
            values = decode(types, data)
            return values[0] if len(values) == 1 else tuple(values)
    raise ConfigurationError(f"the ABI has no function {function!r}")
