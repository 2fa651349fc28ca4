"""Deploy the devnet world onto a fresh local node: contracts, tokens, funded pools, accounts.

Runs once per cache key (see world.py), through the node's unlocked development
accounts, so it needs no keys of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, getcontext
from fractions import Fraction
from math import isqrt
from typing import Any

from eth_account import Account
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.contract import Contract

from chainops.core.addressbook import AccountEntry, AddressBook, PoolEntry, TokenEntry
from chainops.core.errors import DevnetError
from chainops.devnet.artifacts import Artifact, npm_artifact, our_artifact
from chainops.devnet.node import LocalNode

OUR_CONTRACTS = ("TestToken", "FeeOnTransferToken", "NoReturnToken", "Bytes32SymbolToken")

# V3 fee tiers and their tick spacing, as on mainnet (100 is enabled by the owner).
TICK_SPACING = {100: 1, 500: 10, 3000: 60, 10000: 200}
MIN_TICK, MAX_TICK = -887272, 887272

# Reference USD prices the pools are seeded at.
USD_PRICE = {
    "WETH": Fraction(2000),
    "WBNB": Fraction(600),
    "WPOL": Fraction(1, 2),
    "USDC.e": Fraction(1),
    "USDbC": Fraction(1),
    "USDC": Fraction(1),
    "DAI": Fraction(1),
    "USDT": Fraction(1),
    "WBTC": Fraction(40000),
    "FOT": Fraction(1, 10),
    "MKR": Fraction(1000),
}


@dataclass(frozen=True)
class TokenSpec:
    symbol: str
    name: str
    decimals: int
    contract: str
    kind: str


TOKENS = (
    TokenSpec("USDC", "USD Coin (devnet)", 6, "TestToken", "standard"),
    TokenSpec("DAI", "Dai Stablecoin (devnet)", 18, "TestToken", "standard"),
    TokenSpec("WBTC", "Wrapped BTC (devnet)", 8, "TestToken", "standard"),
    TokenSpec("FOT", "Fee On Transfer (devnet)", 18, "FeeOnTransferToken", "fee-on-transfer"),
    TokenSpec("USDT", "Tether USD (devnet)", 6, "NoReturnToken", "no-return"),
    TokenSpec("MKR", "Maker (devnet)", 18, "Bytes32SymbolToken", "bytes32-symbol"),
)

# (tokenA, tokenB, USD depth per side) for Uniswap V2 pairs.
V2_PAIRS = (
    ("WETH", "USDC", 4_000_000),
    ("WETH", "DAI", 4_000_000),
    ("WBTC", "WETH", 2_000_000),
    ("USDC", "DAI", 1_000_000),
    ("FOT", "WETH", 200_000),
    ("USDT", "WETH", 2_000_000),
    ("MKR", "WETH", 1_000_000),
)

# (tokenA, tokenB, fee, USD depth of the full-range position, concentrated ranges).
# A concentrated range is (lower/upper as fractions of the price, USD depth); they make
# swaps cross initialised ticks, which the V3 quote math must follow.
V3_POOLS: tuple[tuple[str, str, int, int, tuple[tuple[Fraction, Fraction, int], ...]], ...] = (
    (
        "WETH",
        "USDC",
        500,
        2_000_000,
        (
            (Fraction(95, 100), Fraction(105, 100), 500_000),
            (Fraction(995, 1000), Fraction(1005, 1000), 100_000),
        ),
    ),
    ("WETH", "USDC", 3000, 1_000_000, ((Fraction(90, 100), Fraction(110, 100), 500_000),)),
    ("WBTC", "WETH", 3000, 1_000_000, ()),
    ("USDC", "DAI", 100, 1_000_000, ((Fraction(999, 1000), Fraction(1001, 1000), 500_000),)),
    ("WETH", "DAI", 10000, 500_000, ()),
)

# Each test account (1..n) receives this much of every token (in USD terms).
ACCOUNT_FUNDING_USD = 100_000
DEPLOYER_INDEX = 0


def price_to_sqrt_x96(price_raw: Fraction) -> int:
    """sqrtPriceX96 for a raw price (token1 units per token0 unit), rounded down."""
    return isqrt(price_raw.numerator * 2**192 // price_raw.denominator)


def price_to_tick(price_raw: Fraction) -> int:
    """Largest tick whose price is <= the raw price (floor of log base 1.0001)."""
    getcontext().prec = 60
    ratio = Decimal(price_raw.numerator) / Decimal(price_raw.denominator)
    return int((ratio.ln() / Decimal("1.0001").ln()).to_integral_value(rounding="ROUND_FLOOR"))


def align_tick(tick: int, spacing: int, *, up: bool = False) -> int:
    """Round a tick to the fee tier's spacing (down, or up), within the usable range."""
    highest = (MAX_TICK // spacing) * spacing
    aligned = (tick // spacing) * spacing
    if up and aligned < tick:
        aligned += spacing
    return min(max(aligned, -highest), highest)


class _Deployer:
    def __init__(self, anvil: LocalNode[Any]) -> None:
        self.anvil = anvil
        self.w3 = Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 60}))
        self.accounts = [to_checksum_address(a) for a in self.w3.eth.accounts]
        if not self.accounts:
            raise DevnetError(f"{anvil.label} has no unlocked accounts to deploy with")
        self.deployer = self.accounts[DEPLOYER_INDEX]
        self.decimals: dict[str, int] = {"WETH": 18}
        self.token: dict[str, Contract] = {}
        self.deadline = 0
        self.wrapped = "WETH"  # the wrapped native token's symbol

    # -- primitives --------------------------------------------------------------------------

    def _wait(self, tx_hash: Any, what: str) -> Any:
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.01)
        if receipt["status"] != 1:
            raise DevnetError(f"world deployment step failed: {what}")
        return receipt

    def deploy(self, artifact: Artifact, *args: Any) -> Contract:
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        tx = factory.constructor(*args).transact({"from": self.deployer})
        receipt = self._wait(tx, f"deploy {artifact.name}")
        contract: Contract = self.w3.eth.contract(
            address=receipt["contractAddress"], abi=artifact.abi
        )
        return contract

    def call(self, fn: Any, what: str, sender: str | None = None, value: int = 0) -> Any:
        tx = fn.transact({"from": sender or self.deployer, "value": value})
        return self._wait(tx, what)

    def raw(self, symbol: str, usd: int) -> int:
        """Raw units of ``symbol`` worth ``usd`` dollars."""
        units = Fraction(usd) / USD_PRICE[symbol] * 10 ** self.decimals[symbol]
        return int(units)

    # -- plan --------------------------------------------------------------------------------

    def run(self) -> AddressBook:
        block = self.w3.eth.get_block("latest")
        # A day of validity: long enough for a slow machine, finite as every deadline is.
        self.deadline = int(block["timestamp"]) + 86_400
        book = AddressBook(chain_id=self.w3.eth.chain_id)

        weth = self.deploy(npm_artifact("WETH9"))
        self.token["WETH"] = weth
        book.contracts["WETH9"] = weth.address
        book.tokens["WETH"] = TokenEntry("WETH", "Wrapped Ether", weth.address, 18, "weth")
        for spec in TOKENS:
            self._deploy_token(spec, book)

        v2_factory = self.deploy(npm_artifact("UniswapV2Factory"), self.deployer)
        v2_router = self.deploy(npm_artifact("UniswapV2Router02"), v2_factory.address, weth.address)
        v3_factory = self.deploy(npm_artifact("UniswapV3Factory"))
        self.call(v3_factory.functions.enableFeeAmount(100, TICK_SPACING[100]), "enable fee 100")
        swap_router = self.deploy(npm_artifact("SwapRouter"), v3_factory.address, weth.address)
        quoter = self.deploy(npm_artifact("QuoterV2"), v3_factory.address, weth.address)
        # No token descriptor: tokenURI() is the only thing that needs one.
        npm = self.deploy(
            npm_artifact("NonfungiblePositionManager"),
            v3_factory.address,
            weth.address,
            "0x0000000000000000000000000000000000000000",
        )
        tick_lens = self.deploy(npm_artifact("TickLens"))
        # Deployed last so that every earlier address stays where it was.
        router02 = self.deploy(
            npm_artifact("SwapRouter02"), v2_factory.address, v3_factory.address, npm.address,
            weth.address,
        )  # fmt: skip
        book.contracts.update(
            UniswapV2Factory=v2_factory.address,
            UniswapV2Router02=v2_router.address,
            UniswapV3Factory=v3_factory.address,
            SwapRouter=swap_router.address,
            QuoterV2=quoter.address,
            NonfungiblePositionManager=npm.address,
            TickLens=tick_lens.address,
            SwapRouter02=router02.address,
        )

        self._fund_deployer()
        for a, b, usd in V2_PAIRS:
            book.pools.append(self._v2_pair(v2_factory, v2_router, a, b, usd))
        for a, b, fee, usd, ranges in V3_POOLS:
            book.pools.append(self._v3_pool(v3_factory, npm, a, b, fee, usd, ranges))
        self._fund_accounts()
        book.accounts = [
            AccountEntry(address, _dev_key(self.anvil, i))
            for i, address in enumerate(self.accounts)
        ]
        return book

    def _deploy_token(self, spec: TokenSpec, book: AddressBook) -> None:
        artifact = our_artifact(spec.contract)
        if spec.contract == "FeeOnTransferToken":
            # 1 % on every transfer, burned: enough to break naive swap code.
            contract = self.deploy(artifact, spec.name, spec.symbol, 100)
        elif spec.contract == "TestToken":
            contract = self.deploy(artifact, spec.name, spec.symbol, spec.decimals)
        elif spec.contract == "Bytes32SymbolToken":
            as32 = [text.encode().ljust(32, b"\0") for text in (spec.name, spec.symbol)]
            contract = self.deploy(artifact, *as32)
        else:
            contract = self.deploy(artifact, spec.name, spec.symbol)
        self.token[spec.symbol] = contract
        self.decimals[spec.symbol] = spec.decimals
        book.tokens[spec.symbol] = TokenEntry(
            spec.symbol, spec.name, contract.address, spec.decimals, spec.kind
        )

    def _fund_deployer(self) -> None:
        """Mint every token to the deployer and wrap ETH, enough for pools and accounts."""
        usd_needed = 40_000_000
        for symbol, contract in self.token.items():
            if symbol == self.wrapped:
                continue
            self.call(
                contract.functions.mint(self.deployer, self.raw(symbol, usd_needed)),
                f"mint {symbol}",
            )
        wrap = self.raw(self.wrapped, 30_000_000)
        self.anvil.set_balance(self.deployer, wrap + 10**24)
        self.call(self.token[self.wrapped].functions.deposit(), "wrap the native coin", value=wrap)

    def _approve(self, symbol: str, spender: str) -> None:
        self.call(self.token[symbol].functions.approve(spender, 2**256 - 1), f"approve {symbol}")

    def _v2_pair(self, factory: Contract, router: Contract, a: str, b: str, usd: int) -> PoolEntry:
        for symbol in (a, b):
            self._approve(symbol, router.address)
        ta, tb = self.token[a], self.token[b]
        amount_a, amount_b = self.raw(a, usd), self.raw(b, usd)
        # Minimums of 0 are safe only here: the pair is created in this very call.
        self.call(
            router.functions.addLiquidity(
                ta.address, tb.address, amount_a, amount_b, 0, 0, self.deployer, self.deadline
            ),
            f"V2 liquidity {a}/{b}",
        )
        pair = factory.functions.getPair(ta.address, tb.address).call()
        t0, t1 = (a, b) if int(ta.address, 16) < int(tb.address, 16) else (b, a)
        return PoolEntry("uniswap-v2", t0, t1, to_checksum_address(pair))

    def _v3_pool(
        self,
        factory: Contract,
        npm: Contract,
        a: str,
        b: str,
        fee: int,
        usd: int,
        ranges: tuple[tuple[Fraction, Fraction, int], ...],
    ) -> PoolEntry:
        ta, tb = self.token[a], self.token[b]
        t0, t1 = (a, b) if int(ta.address, 16) < int(tb.address, 16) else (b, a)
        c0, c1 = self.token[t0], self.token[t1]
        # Raw price: token1 raw units per token0 raw unit.
        price = (USD_PRICE[t0] / USD_PRICE[t1]) * Fraction(
            10 ** self.decimals[t1], 10 ** self.decimals[t0]
        )
        self.call(
            npm.functions.createAndInitializePoolIfNecessary(
                c0.address, c1.address, fee, price_to_sqrt_x96(price)
            ),
            f"V3 pool {t0}/{t1} {fee}",
        )
        for symbol in (t0, t1):
            self._approve(symbol, npm.address)
        spacing = TICK_SPACING[fee]
        full = (align_tick(MIN_TICK, spacing, up=True), align_tick(MAX_TICK, spacing))
        positions = [(full, usd)]
        for low, high, depth in ranges:
            lower = align_tick(price_to_tick(price * low), spacing)
            upper = align_tick(price_to_tick(price * high), spacing, up=True)
            positions.append(((lower, upper), depth))
        for (lower, upper), depth in positions:
            self.call(
                npm.functions.mint(
                    (
                        c0.address,
                        c1.address,
                        fee,
                        lower,
                        upper,
                        self.raw(t0, depth),
                        self.raw(t1, depth),
                        0,
                        0,  # safe only here: the pool was initialised in this deployment
                        self.deployer,
                        self.deadline,
                    )
                ),
                f"V3 position {t0}/{t1} {fee} [{lower}, {upper}]",
            )
        pool = factory.functions.getPool(c0.address, c1.address, fee).call()
        return PoolEntry("uniswap-v3", t0, t1, to_checksum_address(pool), fee)

    def _fund_accounts(self) -> None:
        """Give every test account tokens; their ETH comes from Anvil and nonces stay 0."""
        for address in self.accounts[1:]:
            for symbol, contract in self.token.items():
                amount = self.raw(symbol, ACCOUNT_FUNDING_USD)
                self.call(contract.functions.transfer(address, amount), f"fund {symbol}")


def _dev_key(anvil: LocalNode[Any], index: int) -> str:
    """Private key ``index`` of the node's mnemonic (public development keys)."""
    Account.enable_unaudited_hdwallet_features()
    path = f"m/44'/60'/0'/0/{index}"
    return str(Account.from_mnemonic(anvil.config.mnemonic, account_path=path).key.to_0x_hex())


def deploy_world(anvil: LocalNode[Any]) -> AddressBook:
    """Deploy the whole world onto a fresh node (Anvil, Hardhat or Ganache) and return its
    address book."""
    return _Deployer(anvil).run()
