"""The deployment registry: one :class:`Deployment` per chain, loaded once."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from chainops.core.addressbook import AddressBook, TokenEntry
from chainops.core.assets import Token
from chainops.core.errors import ConfigurationError, ValidationError
from chainops.core.ids import EvmAddress
from chainops.core.platforms import get_chain


class UnknownToken(ValidationError):
    """No token with that symbol (or address) on the network."""


class AmbiguousToken(ValidationError):
    """Several tokens on the network share the symbol; name one by address."""


@dataclass(frozen=True)
class Deployment:
    """What is deployed where on one chain (``network`` is the chain's canonical name)."""

    network: str
    chain_id: int
    contracts: dict[str, str] = field(default_factory=dict)
    tokens: tuple[Token, ...] = ()

    def contract(self, name: str) -> EvmAddress:
        """The address of a named contract (``WETH9``, ``UniswapV3Factory``, ...)."""
        try:
            return EvmAddress(self.contracts[name])
        except KeyError:
            known = ", ".join(sorted(self.contracts)) or "none"
            raise ConfigurationError(
                f"no {name} known on {self.network} (known: {known})"
            ) from None

    def token(self, symbol_or_address: str) -> Token:
        """A token by symbol (case-insensitive) or by address.

        Raises UnknownToken when none matches and AmbiguousToken when several do.
        """
        wanted = symbol_or_address.strip()
        if wanted.lower().startswith("0x"):
            address = EvmAddress(wanted)
            for token in self.tokens:
                if token.address == address:
                    return token
            raise UnknownToken(f"no token at {address} is known on {self.network}")
        matches = {t.address: t for t in self.tokens if t.symbol.lower() == wanted.lower()}
        if not matches:
            known = ", ".join(sorted({t.symbol for t in self.tokens})) or "none"
            raise UnknownToken(f"unknown token {wanted!r} on {self.network} (known: {known})")
        if len(matches) > 1:
            listed = ", ".join(f"{t.symbol} at {a}" for a, t in matches.items())
            raise AmbiguousToken(
                f"{wanted!r} is ambiguous on {self.network}: {listed}; pass the address"
            )
        return next(iter(matches.values()))

    def address_book(self) -> AddressBook:
        """The same data as an AddressBook, which the DApp operators read."""
        weth = self.contracts.get("WETH9", "").lower()
        tokens = {
            t.symbol.upper(): TokenEntry(
                symbol=t.symbol,
                name=t.symbol,
                address=str(t.address),
                decimals=t.decimals,
                kind="weth" if str(t.address).lower() == weth else "standard",
            )
            for t in self.tokens
        }
        return AddressBook(chain_id=self.chain_id, contracts=dict(self.contracts), tokens=tokens)

    def with_tokens(self, *tokens: Token) -> Deployment:
        """A copy with more tokens (e.g. the user's own)."""
        return Deployment(self.network, self.chain_id, dict(self.contracts), self.tokens + tokens)


_lock = threading.Lock()
_registry: dict[str, Deployment] = {}
_loaded = False


def _from_json(network: str, data: dict[str, Any]) -> Deployment:
    tokens = tuple(
        Token(t["symbol"], int(t["decimals"]), network, t["address"]) for t in data["tokens"]
    )
    return Deployment(network, int(data["chain_id"]), dict(data["contracts"]), tokens)


def _load_canonical() -> None:
    global _loaded
    if _loaded:
        return
    text = resources.files("chainops.deployments").joinpath("canonical.json").read_text()
    for network, data in json.loads(text).items():
        _registry.setdefault(network, _from_json(network, data))
    _loaded = True


def deployments() -> dict[str, Deployment]:
    """Every known deployment by chain name."""
    with _lock:
        _load_canonical()
        return dict(_registry)


def deployment(network: str | int) -> Deployment:
    """The deployment of ``network`` (a chain name, alias or chain id)."""
    chain = get_chain(network)
    with _lock:
        _load_canonical()
        found = _registry.get(chain.name)
    if found is None:
        known = ", ".join(sorted(deployments()))
        raise ConfigurationError(
            f"no deployments are known for {chain.name}; known: {known} "
            "(the devnet registers its own when it starts)"
        )
    return found


def find_token(network: str | int, symbol_or_address: str) -> Token:
    """Token lookup by symbol or address on ``network``."""
    return deployment(network).token(symbol_or_address)


def register_deployment(dep: Deployment, *, replace: bool = False) -> Deployment:
    """Add (or, with ``replace``, overwrite) the deployment of a chain."""
    chain = get_chain(dep.network)
    if chain.chain_id != dep.chain_id:
        raise ConfigurationError(
            f"deployment for {dep.network} says chain id {dep.chain_id}, "
            f"but {chain.name} is {chain.chain_id}"
        )
    with _lock:
        _load_canonical()
        if chain.name in _registry and not replace and _registry[chain.name] != dep:
            raise ConfigurationError(f"{chain.name} already has a deployment registered")
        _registry[chain.name] = dep
    return dep


def register_address_book(book: AddressBook, network: str = "devnet") -> Deployment:
    """Register a devnet world's address book as ``network``'s deployment (replacing any)."""
    chain = get_chain(network)
    tokens = tuple(
        Token(entry.symbol, entry.decimals, chain.name, EvmAddress(entry.address))
        for entry in book.tokens.values()
    )
    dep = Deployment(chain.name, book.chain_id, dict(book.contracts), tokens)
    return register_deployment(dep, replace=True)
