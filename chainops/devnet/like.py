"""Mainnet-shaped worlds: a local Anvil that looks like Ethereum, Arbitrum, Optimism, Base,
Polygon or BSC to a script written for it.

The chain's id; the wrapped native token, Uniswap V2 factory and router, V3 factory,
SwapRouter02, QuoterV2 and the position manager at their canonical addresses; the listed
stablecoins at theirs, with their symbols and decimals; funded pools created through the
canonical factories (so pool and pair addresses derive from them as on the real chain).

Each contract is deployed at a scratch address with the constructor arguments it has on
that chain (the canonical addresses of its peers), and its runtime code is placed at the
canonical address with ``anvil_setCode``: immutables then point where they do on the real
chain. A contract that remembers its own address (the V3 factory's no-delegatecall guard)
has the scratch address in its code replaced by the canonical one; the first storage
slots (names, symbols, owners, counters) are copied with ``anvil_setStorageAt``.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any

from eth_utils.address import to_checksum_address
from web3.contract import Contract

from chainops.core.addressbook import AccountEntry, AddressBook, TokenEntry
from chainops.core.errors import ConfigurationError
from chainops.deployments import Deployment, deployment, deployments
from chainops.devnet.anvil import Anvil
from chainops.devnet.artifacts import Artifact, npm_artifact, our_artifact
from chainops.devnet.deploy import TICK_SPACING, _Deployer, _dev_key

MIXED_MINING = ("--mixed-mining", "--block-time", "1")
LIKE_CHAINS = ("ethereum", "arbitrum", "optimism", "base", "polygon", "bsc")
ZERO = "0x0000000000000000000000000000000000000000"
# Storage slots copied from the scratch deployment: every fixed state variable of the
# placed contracts lives below this (mappings are rebuilt by calls, never copied).
COPIED_SLOTS = 16
# Pools per world, by role: the wrapped native token against the main stablecoins
# (V2 and two V3 tiers) and the stablecoins against each other (V3 0.01 %).
V2_DEPTH_USD = 4_000_000
V3_TIERS = ((500, 2_000_000), (3000, 1_000_000))
STABLE_V3 = (100, 1_000_000)


class UnknownLikeChain(ConfigurationError):
    """A ``--like`` chain that has no canonical deployment to imitate."""


def like_deployment(chain: str) -> Deployment:
    """The canonical deployment a ``--like`` world imitates (refuses unlisted chains)."""
    name = chain.strip().lower()
    if name not in LIKE_CHAINS:
        raise UnknownLikeChain(
            f"cannot shape a world like {chain!r}; choose one of {', '.join(LIKE_CHAINS)}"
        )
    known = deployments()
    return known[name] if name in known else deployment(name)


def _short_string(text: str) -> str:
    """A Solidity ``string`` of up to 31 bytes as its storage word."""
    raw = text.encode()
    if len(raw) > 31:
        raise ConfigurationError(f"{text!r} is too long to place in one storage slot")
    return "0x" + (raw.ljust(31, b"\0") + bytes([len(raw) * 2])).hex()


class _LikeDeployer(_Deployer):
    def __init__(self, anvil: Anvil, dep: Deployment) -> None:
        super().__init__(anvil)
        self.dep = dep
        self.wrapped = next(
            t.symbol for t in dep.tokens if str(t.address) == str(dep.contract("WETH9"))
        )

    def place(self, artifact: Artifact, address: str, *args: Any) -> Contract:
        """Deploy at a scratch address, then move the runtime code to ``address``."""
        scratch = self.deploy(artifact, *args)
        code: str = self.anvil.rpc("eth_getCode", [scratch.address, "latest"])
        code = code.replace(scratch.address[2:].lower(), address[2:].lower())
        self.anvil.rpc("anvil_setCode", [address, code])
        for slot in range(COPIED_SLOTS):
            value = self.anvil.rpc("eth_getStorageAt", [scratch.address, hex(slot), "latest"])
            if int(value, 16):
                word = "0x" + value[2:].rjust(64, "0")
                self.anvil.rpc("anvil_setStorageAt", [address, hex(slot), word])
        placed: Contract = self.w3.eth.contract(
            address=to_checksum_address(address), abi=artifact.abi
        )
        return placed

    def run(self) -> AddressBook:
        block = self.w3.eth.get_block("latest")
        self.deadline = int(block["timestamp"]) + 86_400  # a day: finite, as every deadline
        dep, c = self.dep, self.dep.contracts
        book = AddressBook(chain_id=dep.chain_id, contracts=dict(c))
        weth = self.place(npm_artifact("WETH9"), c["WETH9"])
        # WETH9 keeps its name and symbol in slots 0 and 1: give them the chain's.
        names = {"WETH": "Wrapped Ether"}
        name = names.get(self.wrapped, f"Wrapped {self.wrapped[1:]}")
        self.anvil.rpc("anvil_setStorageAt", [c["WETH9"], "0x0", _short_string(name)])
        self.anvil.rpc("anvil_setStorageAt", [c["WETH9"], "0x1", _short_string(self.wrapped)])
        self.token[self.wrapped], self.decimals[self.wrapped] = weth, 18
        book.tokens[self.wrapped.upper()] = TokenEntry(
            self.wrapped, name, to_checksum_address(c["WETH9"]), 18, "weth"
        )
        for token in dep.tokens:
            if token.symbol == self.wrapped:
                continue
            address = str(token.address)
            contract = self.place(
                our_artifact("TestToken"), address, token.symbol, token.symbol, token.decimals
            )
            self.token[token.symbol], self.decimals[token.symbol] = contract, token.decimals
            book.tokens[token.symbol.upper()] = TokenEntry(
                token.symbol, token.symbol, address, token.decimals, "standard"
            )
        v2_factory = self.place(npm_artifact("UniswapV2Factory"), c["UniswapV2Factory"], ZERO)
        v2_router = self.place(
            npm_artifact("UniswapV2Router02"), c["UniswapV2Router02"], c["UniswapV2Factory"],
            c["WETH9"],
        )  # fmt: skip
        v3_factory = self.place(npm_artifact("UniswapV3Factory"), c["UniswapV3Factory"])
        # The constructor's fee tiers live in a mapping, which is not copied: set them again.
        for fee, spacing in TICK_SPACING.items():
            self.call(v3_factory.functions.enableFeeAmount(fee, spacing), f"fee tier {fee}")
        npm = self.place(
            npm_artifact("NonfungiblePositionManager"), c["NonfungiblePositionManager"],
            c["UniswapV3Factory"], c["WETH9"], ZERO,
        )  # fmt: skip
        self.place(npm_artifact("QuoterV2"), c["QuoterV2"], c["UniswapV3Factory"], c["WETH9"])
        self.place(
            npm_artifact("SwapRouter02"), c["SwapRouter02"], c["UniswapV2Factory"],
            c["UniswapV3Factory"], c["NonfungiblePositionManager"], c["WETH9"],
        )  # fmt: skip
        self._fund_deployer()
        stables = [s for s in ("USDC", "USDT", "DAI") if s in self.token]
        for stable in stables:
            book.pools.append(
                self._v2_pair(v2_factory, v2_router, self.wrapped, stable, V2_DEPTH_USD)
            )
            for fee, usd in V3_TIERS:
                book.pools.append(
                    self._v3_pool(v3_factory, npm, self.wrapped, stable, fee, usd, _NARROW)
                )
        for a, b in itertools.pairwise(stables):
            fee, usd = STABLE_V3
            book.pools.append(self._v3_pool(v3_factory, npm, a, b, fee, usd, ()))
        self._fund_accounts()
        book.accounts = [
            AccountEntry(address, _dev_key(self.anvil, i))
            for i, address in enumerate(self.accounts)
        ]
        return book


# A concentrated range around the price, so that swaps cross initialized ticks.
_NARROW = ((Fraction(95, 100), Fraction(105, 100), 500_000),)


def deploy_like(anvil: Anvil, chain: str) -> AddressBook:
    """Shape the (fresh) Anvil like ``chain``; returns the world's address book."""
    dep = like_deployment(chain)
    if anvil.chain_id() != dep.chain_id:
        raise ConfigurationError(
            f"a world like {dep.network} needs chain id {dep.chain_id}, Anvil runs "
            f"{anvil.chain_id()}"
        )
    return _LikeDeployer(anvil, dep).run()
