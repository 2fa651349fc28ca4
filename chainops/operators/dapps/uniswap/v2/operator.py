"""Uniswap V2: exact quotes from reserves, swaps (exact in/out, multi-hop, ETH, fee-on-transfer),
liquidity with minimums from slippage, and a position view.

Builders (``quote_*`` then ``build_swap``) only read the chain and return calldata plus the
quote record; ``swap`` sends through the EVM operator and returns the Order.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eth_utils.crypto import keccak

from chainops.abis import load_abi
from chainops.core.assets import Token
from chainops.core.errors import InsufficientFunds, ValidationError
from chainops.core.ids import EvmAddress
from chainops.core.order import Order
from chainops.core.transaction import Transaction
from chainops.operators.dapps.checks import check_deadline, check_path, check_positive_int
from chainops.operators.dapps.context import DexContext, UnknownPool
from chainops.operators.dapps.erc20 import Erc20
from chainops.operators.dapps.errors import DustAmount
from chainops.operators.dapps.quote import Quote, TradeKind, check_quote
from chainops.operators.dapps.slippage import DEFAULT_SLIPPAGE, Bps
from chainops.operators.dapps.swaps import HopLog, SwapExecutor
from chainops.operators.dapps.uniswap.cache import PoolCache
from chainops.operators.dapps.uniswap.v2 import library
from chainops.operators.evm.requests import TxRequest

SWAP_TOPIC = "0x" + keccak(text="Swap(address,uint256,uint256,uint256,uint256,address)").hex()
TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
ZERO = "0x0000000000000000000000000000000000000000"
GET_RESERVES = "0x" + keccak(text="getReserves()")[:4].hex()
V2_FEE = 3000  # 0.3 %, in the V3 unit (hundredths of a bip) so quotes read alike


@dataclass(frozen=True)
class V2Position:
    """An account's share of a V2 pair."""

    pair: str
    token_a: Token
    token_b: Token
    liquidity: int
    total_supply: int
    amount_a: Decimal
    amount_b: Decimal

    @property
    def share(self) -> Decimal:
        return (
            Decimal(self.liquidity) / Decimal(self.total_supply)
            if self.total_supply
            else Decimal(0)
        )


@dataclass(frozen=True)
class LiquidityPlan:
    """What ``addLiquidity``/``removeLiquidity`` is expected to move, and its minimums."""

    request: TxRequest
    token_a: Token
    token_b: Token
    amount_a: int
    amount_b: int
    min_a: int
    min_b: int
    liquidity: int
    deadline: int
    desired: tuple[int, int] = (0, 0)  # what addLiquidity may take at most (the allowances)


class UniswapV2:
    """Uniswap V2 router and pairs on the operator's chain."""

    dex = "uniswap-v2"

    def __init__(self, ctx: DexContext, *, cache: PoolCache | None = None) -> None:
        """``cache``: reserves kept current from the pairs' Sync logs (see ``PoolCache``)."""
        self.ctx = ctx
        self.cache = cache
        self._pairs: dict[tuple[str, str], str] = {}
        self.router = ctx.evm.contract(
            ctx.contract_address("UniswapV2Router02"), load_abi("UniswapV2Router02")
        )
        self.factory = ctx.evm.contract(
            ctx.contract_address("UniswapV2Factory"), load_abi("UniswapV2Factory")
        )
        self.pair_abi = load_abi("UniswapV2Pair")
        self.executor = SwapExecutor(ctx, str(self.router.address), self._parse_logs, self.reprice)
        self._fot_bps: dict[str, int] = {}

    # -- reads ------------------------------------------------------------------------------

    async def pair_address(self, a: Token, b: Token) -> str:
        key = (str(a.address).lower(), str(b.address).lower())
        if key not in self._pairs:
            self._pairs[key] = await self._find_pair(a, b)
        return self._pairs[key]

    async def _find_pair(self, a: Token, b: Token) -> str:
        for pool in self.ctx.book.pools:
            if pool.dex == self.dex and {pool.token0, pool.token1} == {a.symbol, b.symbol}:
                return pool.address
        # Derived, not asked: a pair that was never created has no code (see reserves).
        return library.pair_for(str(self.factory.address), str(a.address), str(b.address))

    async def reserves(self, a: Token, b: Token, block: int | None = None) -> tuple[int, int]:
        """(reserve of a, reserve of b) of their pair, at ``block`` (default: latest)."""
        address = await self.pair_address(a, b)
        cache = self.cache
        at_head = cache is not None and cache.head is not None and cache.head.number == block
        found = cache.v2(address) if at_head and cache is not None else None
        if found is None:
            tag = hex(block) if block is not None else "latest"
            call = {"to": address, "data": GET_RESERVES}
            raw: str = await self.ctx.evm.batcher.call("eth_call", [call, tag])
            if raw in ("0x", None):
                raise UnknownPool(f"no Uniswap V2 pair for {a.symbol}/{b.symbol}")
            found = (int(raw[2:66], 16), int(raw[66:130], 16))
            if at_head and cache is not None:
                cache.put_v2(address, found)
        r0, r1 = found
        return (r0, r1) if _is_token0(a, b) else (r1, r0)

    async def _priced_at(
        self, tokens: Sequence[Token], deadline: int | None
    ) -> tuple[list[tuple[int, int]], int, int]:
        """(reserves per hop, block, deadline): at the cache's head when there is one."""
        if self.cache is None:
            hops, (block, now) = await asyncio.gather(self._hop_reserves(tokens), self.ctx.block())
        else:
            head = await self.cache.current()
            block, now = head.number, head.timestamp
            hops = await self._hop_reserves(tokens, block)
        return hops, block, self.ctx.deadline_at(now, deadline)

    async def _path(self, path: Sequence[str]) -> tuple[list[Token], bool, bool]:
        path = check_path(path)
        native_in = self.ctx.is_native(path[0])
        native_out = self.ctx.is_native(path[-1])
        tokens = [self.ctx.token(p) for p in path]
        for x, y in itertools.pairwise(tokens):
            if x == y:
                raise ValidationError(f"path repeats {x.symbol} in one hop")
        return tokens, native_in, native_out

    async def transfer_fee_bps(self, token: Token) -> int:
        """The burn per transfer of a fee-on-transfer token (0 for normal tokens)."""
        entry = self.ctx.book.tokens.get(token.symbol)
        if entry is None or entry.kind != "fee-on-transfer":
            return 0
        if token.symbol not in self._fot_bps:
            handle = self.ctx.evm.contract(str(token.address), load_abi("FeeOnTransferToken"))
            raw = await self.ctx.evm.call(handle.request("feeBps"))
            self._fot_bps[token.symbol] = int(handle.decode_result("feeBps", raw))
        return self._fot_bps[token.symbol]

    # -- quotes (pure apart from reading reserves) -----------------------------------------

    async def quote_exact_in(
        self,
        path: Sequence[str],
        amount_in: Decimal | int | str,
        *,
        slippage: Bps | str = DEFAULT_SLIPPAGE,
        deadline: int | None = None,
        force: bool = False,
    ) -> Quote:
        """Quote selling exactly ``amount_in`` of ``path[0]``; equals ``getAmountsOut``."""
        bps = Bps.parse(slippage).check(force=force)
        check_deadline(deadline)
        tokens, native_in, native_out = await self._path(path)
        raw_in = self.ctx.raw_amount(tokens[0], amount_in)
        hops, block, when = await self._priced_at(tokens, deadline)
        fees = [await self.transfer_fee_bps(t) for t in tokens]
        fot = any(fees)
        if fot:
            out = amount_out_with_transfer_fees(raw_in, hops, fees)
            if out <= 0:
                raise DustAmount(f"{amount_in} {tokens[0].symbol} buys nothing on this path")
        else:
            out = library.get_amounts_out(raw_in, hops)[-1]
        return Quote(
            dex=self.dex,
            kind=TradeKind.EXACT_IN,
            path=tuple(tokens),
            fees=(V2_FEE,) * len(hops),
            block=block,
            amount_in=raw_in,
            amount_out=out,
            limit=bps.min_out(out),
            slippage=bps,
            deadline=when,
            mid_price=_mid(tokens, hops),
            native_in=native_in,
            native_out=native_out,
            native=self.ctx.evm.native.symbol,
            fee_on_transfer=fot,
        )

    async def quote_exact_out(
        self,
        path: Sequence[str],
        amount_out: Decimal | int | str,
        *,
        slippage: Bps | str = DEFAULT_SLIPPAGE,
        deadline: int | None = None,
        force: bool = False,
    ) -> Quote:
        """Quote buying exactly ``amount_out`` of ``path[-1]``; equals ``getAmountsIn``."""
        bps = Bps.parse(slippage).check(force=force)
        check_deadline(deadline)
        tokens, native_in, native_out = await self._path(path)
        raw_out = self.ctx.raw_amount(tokens[-1], amount_out)
        hops, block, when = await self._priced_at(tokens, deadline)
        if any([await self.transfer_fee_bps(t) for t in tokens]):
            raise ValidationError("exact-output swaps do not support fee-on-transfer tokens")
        raw_in = library.get_amounts_in(raw_out, hops)[0]
        return Quote(
            dex=self.dex,
            kind=TradeKind.EXACT_OUT,
            path=tuple(tokens),
            fees=(V2_FEE,) * len(hops),
            block=block,
            amount_in=raw_in,
            amount_out=raw_out,
            limit=bps.max_in(raw_in),
            slippage=bps,
            deadline=when,
            mid_price=_mid(tokens, hops),
            native_in=native_in,
            native_out=native_out,
            native=self.ctx.evm.native.symbol,
        )

    async def _hop_reserves(
        self, tokens: Sequence[Token], block: int | None = None
    ) -> list[tuple[int, int]]:
        pairs = itertools.pairwise(tokens)
        return list(await asyncio.gather(*(self.reserves(a, b, block) for a, b in pairs)))

    # -- swaps ------------------------------------------------------------------------------

    def build_swap(self, quote: Quote, recipient: str) -> TxRequest:
        """The router call for ``quote`` (pure: no I/O)."""
        check_quote(quote, self.dex)
        path = [t.address for t in quote.path]
        to = EvmAddress(recipient)
        r, dl = self.router, quote.deadline
        value = quote.token_in.from_raw(quote.max_in) if quote.native_in else Decimal(0)
        fot = "SupportingFeeOnTransferTokens" if quote.fee_on_transfer else ""
        if quote.kind is TradeKind.EXACT_IN:
            if quote.native_in:
                return r.request(
                    f"swapExactETHForTokens{fot}", quote.limit, path, to, dl, value=value
                )
            name = "swapExactTokensForETH" if quote.native_out else "swapExactTokensForTokens"
            return r.request(f"{name}{fot}", quote.amount_in, quote.limit, path, to, dl)
        if quote.native_in:
            return r.request("swapETHForExactTokens", quote.amount_out, path, to, dl, value=value)
        name = "swapTokensForExactETH" if quote.native_out else "swapTokensForExactTokens"
        return r.request(name, quote.amount_out, quote.limit, path, to, dl)

    async def reprice(self, quote: Quote) -> Quote:
        """``quote``'s path and amount priced again from the pairs' reserves now."""
        if quote.kind is TradeKind.EXACT_IN:
            amount = quote.token_in.from_raw(quote.amount_in)
            return await self.quote_exact_in(
                quote.symbols, amount, slippage=quote.slippage, force=True
            )
        amount = quote.token_out.from_raw(quote.amount_out)
        return await self.quote_exact_out(
            quote.symbols, amount, slippage=quote.slippage, force=True
        )

    async def swap(self, quote: Quote, *, recipient: str | None = None) -> Order:
        """Send the swap (allowance ensured first); returns its Order, OPEN until mined
        (``await order.wait()`` for the fill)."""
        request = self.build_swap(quote, recipient or self.ctx.evm.owner)
        return await self.executor.execute(quote, request)

    def _parse_logs(self, quote: Quote, logs: list[dict[str, Any]]) -> list[HopLog]:
        hops: list[HopLog] = []
        last_pair = ""
        for log in logs:
            if not log["topics"] or log["topics"][0] != SWAP_TOPIC:
                continue
            data = bytes.fromhex(log["data"][2:])
            a0_in, a1_in, a0_out, a1_out = (
                int.from_bytes(data[i : i + 32], "big") for i in range(0, 128, 32)
            )
            i = len(hops)
            if i + 1 >= len(quote.path):
                break
            zero_in = _is_token0(quote.path[i], quote.path[i + 1])
            amount_in, amount_out = (a0_in, a1_out) if zero_in else (a1_in, a0_out)
            hops.append((int(log["logIndex"], 16), amount_in, amount_out))
            last_pair = str(log["address"])
        if quote.fee_on_transfer and hops:
            # A fee-on-transfer output burns its fee on the way: what arrived is the
            # token's transfer out of the last pair, not what the pair sent.
            arrived = _sent_from(logs, str(quote.token_out.address), last_pair)
            if arrived is not None:
                hops[-1] = (hops[-1][0], hops[-1][1], arrived)
        return hops

    # -- liquidity --------------------------------------------------------------------------

    async def plan_add_liquidity(
        self,
        a: str,
        b: str,
        amount_a: Decimal | int | str,
        amount_b: Decimal | int | str,
        *,
        slippage: Bps | str = DEFAULT_SLIPPAGE,
        deadline: int | None = None,
        force: bool = False,
    ) -> LiquidityPlan:
        """Amounts at the pair's ratio (as the router picks them) and minimums from slippage."""
        bps = Bps.parse(slippage).check(force=force)
        check_deadline(deadline)
        ta, tb = self.ctx.token(a), self.ctx.token(b)
        raw_a, raw_b = (
            self.ctx.raw_amount(ta, amount_a, "amount a"),
            self.ctx.raw_amount(tb, amount_b, "amount b"),
        )
        (ra, rb), when = await asyncio.gather(self.reserves(ta, tb), self.ctx.deadline(deadline))
        use_a, use_b = raw_a, library.quote(raw_a, ra, rb)
        if use_b > raw_b:
            use_a, use_b = library.quote(raw_b, rb, ra), raw_b
        # Minimums from slippage, never 0: a moved price makes the router refuse, not lose.
        min_a, min_b = max(1, bps.min_out(use_a)), max(1, bps.min_out(use_b))
        request = self.router.request(
            "addLiquidity",
            ta.address,
            tb.address,
            raw_a,
            raw_b,
            min_a,
            min_b,
            EvmAddress(self.ctx.evm.owner),
            when,
        )
        return LiquidityPlan(request, ta, tb, use_a, use_b, min_a, min_b, 0, when, (raw_a, raw_b))

    async def add_liquidity(self, plan: LiquidityPlan) -> Transaction:
        """Ensure both allowances, then send ``addLiquidity``."""
        pairs = ((plan.token_a, plan.desired[0]), (plan.token_b, plan.desired[1]))
        for token, raw in pairs:
            erc = Erc20(self.ctx.evm, token)
            have = await erc.balance_raw()
            if have < raw:
                raise InsufficientFunds(
                    f"holds {token.from_raw(have)} {token.symbol}, needs {token.from_raw(raw)}"
                )
        for token, raw in pairs:
            await Erc20(self.ctx.evm, token).ensure_allowance(str(self.router.address), raw=raw)
        return await self.ctx.send(plan.request)

    async def plan_remove_liquidity(
        self,
        a: str,
        b: str,
        liquidity: int | None = None,
        *,
        slippage: Bps | str = DEFAULT_SLIPPAGE,
        deadline: int | None = None,
        force: bool = False,
    ) -> LiquidityPlan:
        """Burn ``liquidity`` LP units (default: all held); minimums from slippage."""
        bps = Bps.parse(slippage).check(force=force)
        if liquidity is not None:
            check_positive_int(liquidity, "liquidity")
        check_deadline(deadline)
        pos = await self.position(a, b)
        burn = pos.liquidity if liquidity is None else liquidity
        if burn <= 0:
            raise ValidationError(
                f"no {pos.token_a.symbol}/{pos.token_b.symbol} liquidity to remove"
            )
        if burn > pos.liquidity:
            raise InsufficientFunds(f"holds {pos.liquidity} LP units, cannot remove {burn}")
        ra, rb = await self.reserves(pos.token_a, pos.token_b)
        out_a, out_b = burn * ra // pos.total_supply, burn * rb // pos.total_supply
        min_a, min_b = max(1, bps.min_out(out_a)), max(1, bps.min_out(out_b))
        when = await self.ctx.deadline(deadline)
        request = self.router.request(
            "removeLiquidity",
            pos.token_a.address,
            pos.token_b.address,
            burn,
            min_a,
            min_b,
            EvmAddress(self.ctx.evm.owner),
            when,
        )
        return LiquidityPlan(
            request, pos.token_a, pos.token_b, out_a, out_b, min_a, min_b, burn, when
        )

    async def remove_liquidity(self, plan: LiquidityPlan) -> Transaction:
        pair = await self.pair_address(plan.token_a, plan.token_b)
        lp = Token("UNI-V2", 18, self.ctx.evm.chain.name, EvmAddress(pair))
        await Erc20(self.ctx.evm, lp).ensure_allowance(str(self.router.address), raw=plan.liquidity)
        return await self.ctx.send(plan.request)

    async def position(self, a: str, b: str, owner: str | None = None) -> V2Position:
        """LP balance, pool share and the underlying amounts of ``owner`` in the a/b pair."""
        ta, tb = self.ctx.token(a), self.ctx.token(b)
        pair_address = await self.pair_address(ta, tb)
        pair = self.ctx.evm.contract(pair_address, self.pair_abi)
        who = EvmAddress(owner or self.ctx.evm.owner)
        bal_raw, supply_raw, (ra, rb) = await asyncio.gather(
            self.ctx.evm.call(pair.request("balanceOf", who)),
            self.ctx.evm.call(pair.request("totalSupply")),
            self.reserves(ta, tb),
        )
        bal = int(pair.decode_result("balanceOf", bal_raw))
        supply = int(pair.decode_result("totalSupply", supply_raw))
        amount_a = ta.from_raw(bal * ra // supply) if supply else Decimal(0)
        amount_b = tb.from_raw(bal * rb // supply) if supply else Decimal(0)
        return V2Position(pair_address, ta, tb, bal, supply, amount_a, amount_b)


def _is_token0(a: Token, b: Token) -> bool:
    return int(str(a.address), 16) < int(str(b.address), 16)


def _sent_from(logs: list[dict[str, Any]], token: str, sender: str) -> int | None:
    """What ``token``'s Transfer logs moved from ``sender`` to anyone but the zero address
    (a burn); None when there is no such transfer."""
    total, found = 0, False
    for log in logs:
        topics = log["topics"]
        if (
            len(topics) == 3
            and topics[0] == TRANSFER_TOPIC
            and str(log["address"]).lower() == token.lower()
            and int(topics[1], 16) == int(sender, 16)
            and int(topics[2], 16) != 0
        ):
            total += int(log["data"], 16)
            found = True
    return total if found else None


def _mid(tokens: Sequence[Token], hops: Sequence[tuple[int, int]]) -> Decimal:
    price = Decimal(1)
    for (a, b), (r_in, r_out) in zip(itertools.pairwise(tokens), hops, strict=True):
        price *= b.from_raw(r_out) / a.from_raw(r_in)
    return price


def _after_fee(amount: int, bps: int) -> int:
    return amount - amount * bps // 10_000


def amount_out_with_transfer_fees(
    amount_in: int, hops: Sequence[tuple[int, int]], fees: Sequence[int]
) -> int:
    """What the recipient receives when some path tokens burn a fee on every transfer."""
    amount = _after_fee(amount_in, fees[0])  # into the first pair
    for i, (r_in, r_out) in enumerate(hops):
        library.check_balance(amount, r_in)
        out = library.get_amount_out(amount, r_in, r_out)
        amount = _after_fee(out, fees[i + 1])  # into the next pair, or to the recipient
    return amount
