"""The settings model and its sources: TOML file < environment < flags.

A file looks like::

    network = "base"              # the default network
    wallet = "trading"            # the default wallet

    [networks.base]
    rpc_urls = ["https://base.example/v2/KEY", "https://backup.example"]
    confirmations = 2
    [networks.base.fee]
    priority = "FAST"
    max_fee_gwei = "5"

Environment variables are ``CHAINOPS_NETWORK``, ``CHAINOPS_RPC_URL``,
``CHAINOPS_WALLET``, ``CHAINOPS_EVENTS`` and, for nested keys,
``CHAINOPS_NETWORKS__BASE__CONFIRMATIONS``.
"""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import pydantic
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from chainops.config.paths import config_path
from chainops.core.errors import ConfigurationError
from chainops.core.priority import Priority

_URL_SCHEMES = ("http://", "https://", "ws://", "wss://")


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an RPC endpoint (None when it can)."""
    if not url.startswith(_URL_SCHEMES):
        return "is not an http(s) or ws(s) URL"
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return "is not a valid URL"
    return None if host else "is not a valid URL: it names no host"


class FeeSettings(BaseModel):
    """Fee policy knobs of one network (gwei as decimal strings, never floats)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    priority: Priority = Priority.NORMAL
    max_fee_gwei: Decimal | None = Field(default=None, gt=0)
    min_tip_gwei: Decimal | None = Field(default=None, ge=0)
    # true: the chain has no EIP-1559 (pre-London); transactions are priced by gasPrice
    legacy: bool = False

    @field_validator("max_fee_gwei", "min_tip_gwei", mode="before")
    @classmethod
    def _no_float(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError("write gwei amounts as strings or integers, not floats")
        return value


class NetworkSettings(BaseModel):
    """One network: where to reach it and how to treat it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    chain_id: int | None = Field(default=None, gt=0)
    rpc_urls: tuple[str, ...] = ()
    confirmations: int | None = Field(default=None, ge=0)
    explorer_url: str | None = None
    native_symbol: str = "ETH"
    fee: FeeSettings = FeeSettings()
    # the block forks of this network start at (tests pin it so their state never moves)
    fork_block: int | None = Field(default=None, ge=0)

    @field_validator("rpc_urls", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("rpc_urls")
    @classmethod
    def _urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for url in value:
            if (problem := url_problem(url)) is not None:
                from chainops.config.networks import mask_url

                raise ValueError(f"{mask_url(url)!r} {problem}")
        return value


class Settings(BaseSettings):
    """Everything the CLI and the SDK read from the user's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="CHAINOPS_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    network: str = "devnet"
    rpc_url: str | None = None  # overrides the chosen network's URLs
    wallet: str | None = None
    events: str | None = None  # queue URL for events and commands; None: in-process asyncio
    # the EVM journal: a file, or a postgresql:// URL several workers share (CHAINOPS_JOURNAL)
    journal: str | None = None
    networks: dict[str, NetworkSettings] = {}
    # where the values came from: set by load_settings, not by users
    source_file: Path | None = Field(default=None, exclude=True)
    # where `network` came from, for errors about it: set by load_settings
    _network_origin: Literal["file", "environment"] | None = PrivateAttr(default=None)

    @property
    def network_origin(self) -> Literal["file", "environment"] | None:
        """Where :attr:`network` was read: the config file or the environment (None: a
        flag, the default, or settings not made by :func:`load_settings`)."""
        return self._network_origin

    @field_validator("network", mode="before")
    @classmethod
    def _chain_id(cls, value: object) -> object:
        # `network = 8453` in a file: a chain id, as --network 8453 takes it
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("networks")
    @classmethod
    def _lower(cls, value: dict[str, NetworkSettings]) -> dict[str, NetworkSettings]:
        lowered: dict[str, NetworkSettings] = {}
        for name, net in value.items():
            if name.lower() in lowered:  # [networks.Base] and [networks.base]: one would be lost
                raise ValueError(f"networks.{name} repeats a network name in another case")
            lowered[name.lower()] = net
        return lowered

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Flags (init) beat the environment; the file is passed in as init data too,
        # merged underneath by load_settings.
        return (init_settings, env_settings)


def read_toml(path: Path, *, required: bool = False) -> dict[str, Any]:
    """The file's table; {} when it does not exist, unless ``required``.

    A missing required file, an unreadable one, one that is not UTF-8 or not TOML
    raises ConfigurationError naming the file.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM (some editors write one) is no TOML
    except FileNotFoundError:
        if required:
            raise ConfigurationError(f"config file {path} does not exist") from None
        return {}
    except UnicodeDecodeError as exc:
        bad = exc.object[exc.start]
        raise ConfigurationError(
            f"config file {path} is not UTF-8 text: {exc.reason} "
            f"(byte 0x{bad:02x} at offset {exc.start})"
        ) from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"config file {path} is not valid TOML: {exc}") from None


def _merge(low: dict[str, Any], high: dict[str, Any]) -> dict[str, Any]:
    out = dict(low)
    for key, value in high.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


class _EnvOnly(Settings):
    """The environment alone, to merge it over the file key by key."""

    model_config = SettingsConfigDict(extra="ignore")


def load_settings(config: str | Path | None = None, **flags: Any) -> Settings:
    """Merge the config file, ``CHAINOPS_*`` variables and ``flags`` (None flags are unset).

    ``config`` names the file; it must exist. Without it the file is ``$CHAINOPS_CONFIG``,
    else the platform default, and a missing one means no file settings. A malformed
    file, an unknown key or a bad value raises ConfigurationError naming the file and
    the key.
    """
    path = config_path(config)
    file_data = read_toml(path, required=bool(config))
    given = {k: v for k, v in flags.items() if v is not None}
    try:
        env_data = _EnvOnly().model_dump(exclude_unset=True, exclude={"source_file"})
    except pydantic.ValidationError as exc:
        raise ConfigurationError(_describe(exc, "the environment (CHAINOPS_*)")) from None
    except SettingsError as exc:  # a list or table value that is not JSON
        field = re.search(r'field "(\w+)"', str(exc))
        name = f"CHAINOPS_{field.group(1).upper()}" if field else "CHAINOPS"
        raise ConfigurationError(
            f"the environment (CHAINOPS_*): a value under {name}__* is not JSON; write lists "
            """and tables as JSON, e.g. CHAINOPS_NETWORKS__BASE__RPC_URLS='["https://a.example"]'"""
        ) from None
    merged = _merge(_merge(file_data, env_data), given)
    try:
        settings = Settings.model_validate({**merged, "source_file": path})
    except pydantic.ValidationError as exc:
        raise ConfigurationError(_describe(exc, f"config file {path}")) from None
    if "network" not in given:  # a flag's value is the caller's own: no origin to name
        if "network" in env_data:
            settings._network_origin = "environment"
        elif "network" in file_data:
            settings._network_origin = "file"
    return settings


def _describe(exc: pydantic.ValidationError, where: str) -> str:
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        problems.append(f"key {key!r}: {message}")
    return f"{where}: " + "; ".join(problems)
