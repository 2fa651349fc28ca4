"""Settings: a TOML file, ``CHAINOPS_*`` environment variables and flags, merged.

``load_settings()`` reads them (flags win over the environment, which wins over
the file); ``resolve_network()`` turns a network name into a chain platform plus
the RPC URLs and knobs to reach it.
"""

from chainops.config.networks import Network, resolve_network
from chainops.config.paths import config_path, data_dir, journal_path
from chainops.config.settings import FeeSettings, NetworkSettings, Settings, load_settings

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
