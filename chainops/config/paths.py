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


def journal_path() -> Path:
    """The default transaction journal of the CLI (``$CHAINOPS_JOURNAL`` overrides it)."""
    env = os.environ.get("CHAINOPS_JOURNAL")
    if env:
        return Path(env).expanduser()
    return data_dir() / "journal.sqlite"
