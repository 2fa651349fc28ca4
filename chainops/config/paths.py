"""Where chainops keeps its files, by platform convention.

Linux follows the XDG base directories; macOS uses ``~/Library/Application Support``;
Windows uses ``%APPDATA%``. ``CHAINOPS_CONFIG`` names the config file and
``CHAINOPS_HOME`` the data directory (wallets, journal), which tests use to stay
out of the user's home.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "chainops"


def _base(xdg_var: str, linux_default: str) -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support"
    value = os.environ.get(xdg_var)
    # XDG says relative values are invalid and must be ignored
    if value and Path(value).is_absolute():
        return Path(value)
    return Path.home() / linux_default


def config_path(explicit: str | Path | None = None) -> Path:
    """The config file: ``explicit``, else ``$CHAINOPS_CONFIG``, else the platform default."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("CHAINOPS_CONFIG")
    if env:
        return Path(env).expanduser()
    return _base("XDG_CONFIG_HOME", ".config") / APP / "config.toml"


def data_dir() -> Path:
    """The per-user data directory (``$CHAINOPS_HOME`` overrides it)."""
    env = os.environ.get("CHAINOPS_HOME")
    if env:
        return Path(env).expanduser()
    return _base("XDG_DATA_HOME", ".local/share") / APP


# one file per kind of venue, all in the data folder: CHAINOPS_HOME moves every one
_JOURNALS = {
    "evm": "journal.sqlite",
    "solana": "solana-journal.sqlite",
    "exchange": "cex-journal.sqlite",
}


def journal_path(kind: str = "evm") -> Path:
    """The default journal of the CLI for ``kind`` (evm, solana or exchange).

    ``$CHAINOPS_JOURNAL`` overrides the EVM journal; every default lives in :func:`data_dir`.
    """
    env = os.environ.get("CHAINOPS_JOURNAL")
    if env and kind == "evm":
        return Path(env).expanduser()
    try:
        return data_dir() / _JOURNALS[kind]
    except KeyError:
        raise ValueError(f"no journal kind {kind!r}; one of {', '.join(_JOURNALS)}") from None
