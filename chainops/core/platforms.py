"""Platforms: the chains and exchanges operations run on, and their registry.

``get_platform("base")``, ``get_platform(8453)`` and ``get_platform("8453")``
all return the same :class:`ChainPlatform`; ``"devnet"`` and ``"anvil"`` both
name the local Anvil chain (31337). Unknown names raise
:class:`ConfigurationError`.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from enum import StrEnum

from chainops.core.errors import ConfigurationError

__all__ = [
    "ChainKind",
    "ChainPlatform",
    "ExchangePlatform",
    "Platform",
    "get_chain",
    "get_exchange",
    "get_platform",
    "platforms",
    "register_platform",
]

_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ConfigurationError(
            f"invalid platform name {name!r}: lower-case letters, digits, . _ - (max 64)"
        )
    return name


@dataclass(frozen=True, kw_only=True)
class Platform:
    """Somewhere operations are executed: a chain or an exchange."""

    name: str

    def __post_init__(self) -> None:
        _check_name(self.name)

    def __str__(self) -> str:
        return self.name


class ChainKind(StrEnum):
    """The family of a chain: decides address formats and the transaction model."""

    EVM = "EVM"
    SOLANA = "SOLANA"


@dataclass(frozen=True, kw_only=True)
class ChainPlatform(Platform):
    """A blockchain.

    ``chain_id`` is the EIP-155 integer for EVM chains and the cluster name for
    Solana (which has no numeric chain id). ``default_confirmations`` is how
    many blocks deep a transaction must be before it counts as CONFIRMED.
    """

    kind: ChainKind
    chain_id: int | str | None
    native_symbol: str
    native_decimals: int
    explorer_url: str | None = None
    default_confirmations: int = 1
    supports_eip1559: bool = False
    is_local: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.kind is ChainKind.EVM:
            if not isinstance(self.chain_id, int) or isinstance(self.chain_id, bool):
                raise ConfigurationError(f"{self.name}: an EVM chain needs an integer chain id")
            if self.chain_id <= 0:
                raise ConfigurationError(f"{self.name}: chain id must be positive")
        elif self.chain_id is not None and not isinstance(self.chain_id, str):
            raise ConfigurationError(f"{self.name}: a Solana chain id is a cluster name or None")
        elif self.supports_eip1559:
            raise ConfigurationError(f"{self.name}: EIP-1559 is an EVM feature")
        if not 0 <= self.native_decimals <= 255:
            raise ConfigurationError(f"{self.name}: native decimals out of range")
        if self.default_confirmations < 0:
            raise ConfigurationError(f"{self.name}: confirmations must be >= 0")

    @property
    def is_evm(self) -> bool:
        """True for EVM chains."""
        return self.kind is ChainKind.EVM

    def tx_url(self, tx_id: str) -> str | None:
        """The explorer page of a transaction, if the chain has an explorer."""
        return self._explorer_link("tx", tx_id)

    def address_url(self, address: str) -> str | None:
        """The explorer page of an account or contract, if the chain has an explorer."""
        kind = "address" if self.is_evm else "account"
        return self._explorer_link(kind, address)

    def _explorer_link(self, kind: str, ident: str) -> str | None:
        if self.explorer_url is None:
            return None
        base, _, query = self.explorer_url.partition("?")
        url = f"{base.rstrip('/')}/{kind}/{ident}"
        return f"{url}?{query}" if query else url


@dataclass(frozen=True, kw_only=True)
class ExchangePlatform(Platform):
    """A centralised exchange, e.g. ``binance``."""

    url: str | None = None


_lock = threading.Lock()
_by_name: dict[str, Platform] = {}
_by_chain_id: dict[int, ChainPlatform] = {}


def register_platform(
    platform: Platform, *, aliases: tuple[str, ...] = (), replace: bool = False
) -> Platform:
    """Add a platform (and alias names) to the registry and return it.

    A name already taken by a different platform raises
    :class:`ConfigurationError` unless ``replace`` is true. An EVM chain is
    also found by its chain id.
    """
    names = [platform.name, *(_check_name(a.lower()) for a in aliases)]
    with _lock:
        if not replace:
            for name in names:
                known = _by_name.get(name)
                if known is not None and known != platform:
                    raise ConfigurationError(f"platform name {name!r} is already registered")
            if isinstance(platform, ChainPlatform) and isinstance(platform.chain_id, int):
                other = _by_chain_id.get(platform.chain_id)
                if other is not None and other != platform:
                    raise ConfigurationError(
                        f"chain id {platform.chain_id} is already registered as {other.name!r}"
                    )
        for name in names:
            _by_name[name] = platform
        if isinstance(platform, ChainPlatform) and isinstance(platform.chain_id, int):
            _by_chain_id[platform.chain_id] = platform
    return platform


def get_platform(name_or_chain_id: str | int) -> Platform:
    """Look up a platform by name, alias or EVM chain id (an ``int`` or digits)."""
    key = name_or_chain_id
    if isinstance(key, bool):
        raise ConfigurationError(f"invalid platform {key!r}")
    if isinstance(key, str) and key.strip().isdigit():
        key = int(key.strip())
    with _lock:
        found: Platform | None
        found = _by_chain_id.get(key) if isinstance(key, int) else _by_name.get(key.lower())
    if found is None:
        raise ConfigurationError(
            f"unknown platform {name_or_chain_id!r}; known: {', '.join(sorted(platforms()))}"
        )
    return found


def get_chain(name_or_chain_id: str | int) -> ChainPlatform:
    """Like :func:`get_platform` but the result must be a chain."""
    found = get_platform(name_or_chain_id)
    if not isinstance(found, ChainPlatform):
        raise ConfigurationError(f"{found.name!r} is not a chain")
    return found


def get_exchange(name: str) -> ExchangePlatform:
    """Like :func:`get_platform` but the result must be an exchange."""
    found = get_platform(name)
    if not isinstance(found, ExchangePlatform):
        raise ConfigurationError(f"{found.name!r} is not an exchange")
    return found


def platforms() -> dict[str, Platform]:
    """A snapshot of the registry by canonical name (aliases omitted)."""
    with _lock:
        return {p.name: p for p in _by_name.values()}


def _evm(
    name: str,
    chain_id: int,
    explorer: str | None,
    confirmations: int,
    *,
    symbol: str = "ETH",
    eip1559: bool = True,
    local: bool = False,
    aliases: tuple[str, ...] = (),
) -> None:
    chain = ChainPlatform(
        name=name,
        kind=ChainKind.EVM,
        chain_id=chain_id,
        native_symbol=symbol,
        native_decimals=18,
        explorer_url=explorer,
        default_confirmations=confirmations,
        supports_eip1559=eip1559,
        is_local=local,
    )
    register_platform(chain, aliases=aliases)


def _solana(name: str, cluster: str, explorer: str | None, *, aliases: tuple[str, ...]) -> None:
    chain = ChainPlatform(
        name=name,
        kind=ChainKind.SOLANA,
        chain_id=cluster,
        native_symbol="SOL",
        native_decimals=9,
        explorer_url=explorer,
        # Solana tracks commitment levels, not depth; 1 = "confirmed" by the cluster
        default_confirmations=1,
        is_local=cluster == "localnet",
    )
    register_platform(chain, aliases=aliases)


# Confirmation defaults: L1 Ethereum waits a few blocks against short reorgs;
# rollups order by a single sequencer so 1 block is already stable; Polygon and
# BSC have seen multi-block reorgs, hence deeper defaults.
_evm("ethereum", 1, "https://etherscan.io", 3, aliases=("mainnet", "eth"))
_evm("arbitrum", 42161, "https://arbiscan.io", 1, aliases=("arbitrum-one", "arb"))
_evm("base", 8453, "https://basescan.org", 1)
_evm("optimism", 10, "https://optimistic.etherscan.io", 1, aliases=("op",))
_evm("polygon", 137, "https://polygonscan.com", 32, symbol="POL", aliases=("matic",))
# BSC prices gas by a flat gasPrice (its base fee is 0), so legacy pricing is used
_evm("bsc", 56, "https://bscscan.com", 15, symbol="BNB", eip1559=False, aliases=("bnb",))
# local chains mine instantly and never reorg: one block is final enough
_evm("anvil", 31337, None, 1, local=True, aliases=("devnet", "localhost", "hardhat"))

_SOLANA_EXPLORER = "https://explorer.solana.com"
_solana("solana", "mainnet-beta", _SOLANA_EXPLORER, aliases=("solana-mainnet",))
_solana("solana-devnet", "devnet", f"{_SOLANA_EXPLORER}?cluster=devnet", aliases=())
_solana("solana-local", "localnet", None, aliases=("solana-localnet", "solana-test-validator"))

register_platform(ExchangePlatform(name="binance", url="https://api.binance.com"))
