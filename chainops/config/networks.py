"""From a network name to a chain platform, its RPC URLs and its knobs.

Built-in chains (``chainops.core.platforms``) are known by name; the config file
adds its own under ``[networks.<name>]``. A config network whose chain id is
already known becomes an alias of that chain (so a fork of Ethereum is still
chain 1); a new chain id is registered as a new EVM chain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from chainops.config.settings import FeeSettings, NetworkSettings, Settings, url_problem
from chainops.core.errors import ConfigurationError
from chainops.core.platforms import ChainKind, ChainPlatform, get_chain, register_platform

_GWEI = Decimal(10**9)
_LOCAL_NAMES = ("devnet", "anvil", "localhost")
# where `chainops devnet up` listens when the port is free (Anvil's and Hardhat's default)
LOCAL_RPC_URL = "http://127.0.0.1:8545"
# A path segment this long made of key characters is an API key (Alchemy, Infura, ...).
_KEYLIKE = re.compile(r"[A-Za-z0-9_-]{16,}")
_CHAIN_ID = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Network:
    """A resolved network: what to connect to and how."""

    name: str
    chain: ChainPlatform
    rpc_urls: tuple[str, ...]
    confirmations: int
    fee: FeeSettings
    explorer_url: str | None

    def operator_options(self) -> dict[str, Any]:
        """Keyword options for ``OperatorFactory.create`` (endpoints, depth, fee knobs)."""
        options: dict[str, Any] = {
            "endpoints": self.rpc_urls,
            "confirmations": self.confirmations,
        }
        if self.fee.max_fee_gwei is not None:
            options["max_fee_cap_wei"] = int(self.fee.max_fee_gwei * _GWEI)
        if self.fee.legacy:
            options["legacy_fees"] = True
        return options

    def to_dict(self, *, mask: bool = True) -> dict[str, Any]:
        urls = [mask_url(u) for u in self.rpc_urls] if mask else list(self.rpc_urls)
        return {
            "name": self.name,
            "chain": self.chain.name,
            "chain_id": self.chain.chain_id,
            "rpc_urls": urls,
            "confirmations": self.confirmations,
            "explorer_url": self.explorer_url,
            "fee": self.fee.model_dump(mode="json"),
        }


def mask_url(url: str) -> str:
    """``url`` with credentials hidden: password, API-key path segments, query values."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not parsable, so no part is known to be safe: show the scheme only
        scheme, found, _ = url.partition("://")
        return f"{scheme}://***" if found else "***"
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':')[0]}:***@{host}" if ":" in user else f"***@{host}"
    path = "/".join("***" if _KEYLIKE.fullmatch(seg) else seg for seg in parts.path.split("/"))
    query = "&".join(
        f"{pair.partition('=')[0]}=***" if "=" in pair else pair
        for pair in parts.query.split("&")
        if pair
    )
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))


def _where(settings: Settings) -> str:
    return f"config file {settings.source_file}" if settings.source_file else "the config"


def _origin(settings: Settings) -> str:
    """Where the settings' network name was set, as a message prefix ("" if not known)."""
    if settings.network_origin == "file":
        return f"{_where(settings)}: key 'network': "
    if settings.network_origin == "environment":
        return "CHAINOPS_NETWORK in the environment: "
    return ""


def _configured(wanted: str, settings: Settings) -> tuple[str, NetworkSettings] | None:
    """The config's network for ``wanted`` given as another name of the chain or its chain
    id (``eth`` or ``1`` for ``[networks.ethereum]``); None when the config has none."""
    try:
        known: ChainPlatform | None = get_chain(wanted)
    except ConfigurationError:
        known = None
    if known is not None:  # the entries for the chain itself, not custom names aliasing it
        found = [
            (n, spec)
            for n, spec in settings.networks.items()
            if n == known.name or (spec.chain_id is None and _names(n, known))
        ]
        found = [(n, spec) for n, spec in found if n == known.name] or found
    elif _CHAIN_ID.fullmatch(wanted):  # a chain only the config knows, by its id
        found = [(n, spec) for n, spec in settings.networks.items() if spec.chain_id == int(wanted)]
    else:
        return None
    if len(found) > 1:
        names = ", ".join(n for n, _ in found)
        raise ConfigurationError(
            f"{wanted!r} matches more than one network in {_where(settings)}: {names}; "
            "pass one of these names"
        )
    return found[0] if found else None


def _names(name: str, chain: ChainPlatform) -> bool:
    """Whether ``name`` is a name of ``chain``."""
    try:
        return get_chain(name) is chain
    except ConfigurationError:
        return False


def _register(name: str, spec: NetworkSettings, settings: Settings) -> ChainPlatform:
    key = f"networks.{name}.chain_id"
    try:
        known = get_chain(name)
    except ConfigurationError:
        known = None
    if spec.chain_id is None:
        if known is None:
            raise ConfigurationError(f"{_where(settings)}: key {key!r} is required for {name!r}")
        return known
    if known is not None:
        if known.chain_id != spec.chain_id:
            raise ConfigurationError(
                f"{_where(settings)}: key {key!r} is {spec.chain_id}, but {name!r} is "
                f"{known.name} with chain id {known.chain_id}"
            )
        return known
    try:
        same_id = get_chain(spec.chain_id)
    except ConfigurationError:
        same_id = None
    try:
        if same_id is not None:
            register_platform(same_id, aliases=(name,))
            return same_id
        chain = ChainPlatform(
            name=name,
            kind=ChainKind.EVM,
            chain_id=spec.chain_id,
            native_symbol=spec.native_symbol,
            native_decimals=18,
            explorer_url=spec.explorer_url,
            default_confirmations=1 if spec.confirmations is None else spec.confirmations,
            supports_eip1559=not spec.fee.legacy,
        )
        register_platform(chain)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{_where(settings)}: network {name!r}: {exc}") from None
    return chain


def resolve_network(settings: Settings, name: str | None = None) -> Network:
    """Resolve ``name`` (default: the settings' network) to a :class:`Network`.

    Unknown names and networks without an RPC URL raise ConfigurationError naming
    the config file and key to set; a name read from the file or the environment is
    reported with where it was set (``config file F: key 'network': ...``).
    """
    wanted = (name or settings.network).strip().lower()
    origin = "" if name else _origin(settings)
    spec = settings.networks.get(wanted)
    if spec is None and (configured := _configured(wanted, settings)) is not None:
        wanted, spec = configured
    if spec is None:
        try:
            chain = get_chain(wanted)
        except ConfigurationError:
            known = sorted({*settings.networks, "arbitrum", "base", "bsc", "devnet", "ethereum"})
            in_file = origin and settings.network_origin == "file"
            where = "that file" if in_file else _where(settings)
            raise ConfigurationError(
                f"{origin}unknown network {wanted!r}: not a built-in chain and no "
                f"[networks.{wanted}] in {where}; e.g. {', '.join(known)}"
            ) from None
        spec = NetworkSettings()
    else:
        chain = _register(wanted, spec, settings)
    if not chain.is_evm:
        raise ConfigurationError(f"{origin}{wanted!r} is not an EVM chain")
    urls = (settings.rpc_url,) if settings.rpc_url else spec.rpc_urls
    if not urls and (wanted in _LOCAL_NAMES or chain.is_local):
        urls = (LOCAL_RPC_URL,)
    if not urls:
        hint = f"set networks.{wanted}.rpc_urls in {settings.source_file} or pass --rpc-url"
        raise ConfigurationError(f"no RPC URL for network {wanted!r}: {hint}")
    for url in urls:
        if (problem := url_problem(url)) is not None:
            raise ConfigurationError(f"RPC URL {mask_url(url)!r} {problem}")
    depth = chain.default_confirmations if spec.confirmations is None else spec.confirmations
    return Network(
        name=wanted,
        chain=chain,
        rpc_urls=tuple(urls),
        confirmations=depth,
        fee=spec.fee,
        explorer_url=spec.explorer_url or chain.explorer_url,
    )
