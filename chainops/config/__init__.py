"""Settings: a TOML file, ``CHAINOPS_*`` environment variables and flags, merged.

``load_settings()`` reads them (flags win over the environment, which wins over
the file); ``resolve_network()`` turns a network name into a chain platform plus
the RPC URLs and knobs to reach it. Names load on first use, so importing
``chainops.config.paths`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chainops.config.networks import Network, resolve_network
    from chainops.config.paths import config_path, data_dir, journal_path
    from chainops.config.settings import FeeSettings, NetworkSettings, Settings, load_settings

_HOMES = {
    "Network": "networks",
    "resolve_network": "networks",
    "config_path": "paths",
    "data_dir": "paths",
    "journal_path": "paths",
    "FeeSettings": "settings",
    "NetworkSettings": "settings",
    "Settings": "settings",
    "load_settings": "settings",
}


def __getattr__(name: str) -> Any:
    module = _HOMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "FeeSettings",
    "Network",
    "NetworkSettings",
    "Settings",
    "config_path",
    "data_dir",
    "journal_path",
    "load_settings",
    "resolve_network",
]
