"""The address book of a deployed devnet world (what lives where), as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from chainops.core.errors import ConfigurationError


@dataclass(frozen=True)
class TokenEntry:
    symbol: str
    name: str
    address: str
    decimals: int
    kind: str  # "weth" | "standard" | "fee-on-transfer" | "no-return" | "bytes32-symbol"


@dataclass(frozen=True)
class PoolEntry:
    dex: str  # "uniswap-v2" | "uniswap-v3"
    token0: str  # symbol
    token1: str  # symbol
    address: str
    fee: int | None = None  # V3 fee in hundredths of a bip (500 = 0.05 %)


@dataclass(frozen=True)
class AccountEntry:
    address: str
    private_key: str  # Anvil's public development keys; never use them with real funds


@dataclass
class AddressBook:
    """Everything a client needs to find its way around a devnet world."""

    chain_id: int
    contracts: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, TokenEntry] = field(default_factory=dict)
    pools: list[PoolEntry] = field(default_factory=list)
    accounts: list[AccountEntry] = field(default_factory=list)

    def token(self, symbol: str) -> TokenEntry:
        try:
            return self.tokens[symbol.upper()]
        except KeyError:
            known = ", ".join(sorted(self.tokens))
            raise ConfigurationError(f"no token {symbol!r} in the world (known: {known})") from None

    def contract(self, name: str) -> str:
        try:
            return self.contracts[name]
        except KeyError:
            known = ", ".join(sorted(self.contracts))
            raise ConfigurationError(f"no contract {name!r} in the world ({known})") from None

    def pool(self, dex: str, a: str, b: str, fee: int | None = None) -> PoolEntry:
        pair = {a.upper(), b.upper()}
        for pool in self.pools:
            if pool.dex == dex and {pool.token0, pool.token1} == pair and pool.fee == fee:
                return pool
        raise ConfigurationError(f"no {dex} pool for {a}/{b} fee={fee} in the world")

    def to_dict(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "contracts": dict(self.contracts),
            "tokens": {k: asdict(v) for k, v in self.tokens.items()},
            "pools": [asdict(p) for p in self.pools],
            "accounts": [asdict(a) for a in self.accounts],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AddressBook:
        return cls(
            chain_id=int(data["chain_id"]),
            contracts=dict(data["contracts"]),
            tokens={k: TokenEntry(**v) for k, v in data["tokens"].items()},
            pools=[PoolEntry(**p) for p in data["pools"]],
            accounts=[AccountEntry(**a) for a in data["accounts"]],
        )

    def to_json(self, *, include_keys: bool = True) -> str:
        data = self.to_dict()
        if not include_keys:
            data["accounts"] = [{"address": a["address"]} for a in data["accounts"]]
        return json.dumps(data, indent=2, sort_keys=True)

    @classmethod
    def load(cls, path: Path) -> AddressBook:
        return cls.from_dict(json.loads(path.read_text()))

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.to_json())
        tmp.replace(path)  # atomic on POSIX: readers never see half a file
