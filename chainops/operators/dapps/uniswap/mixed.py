"""Routes mixing Uniswap V2 and V3 hops, sent as one SwapRouter02 multicall (exact input).

SwapRouter02 holds both routers: a segment of V2 hops is ``swapExactTokensForTokens``
and a segment of V3 hops ``exactInput``. The first segment pays from the sender (or from
the call's value, for ETH in); every later one spends what the router holds
(``CONTRACT_BALANCE``) and an intermediate segment leaves its output in the router
(``ADDRESS_THIS``). Only the last segment carries the minimum; ETH out is unwrapped last.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from eth_utils.crypto import keccak

from chainops.abis import load_abi
from chainops.core.assets import Token
from chainops.core.errors import ValidationError
from chainops.core.ids import EvmAddress
from chainops.core.order import Order
from chainops.operators.dapps.checks import check_deadline, check_path
from chainops.operators.dapps.context import DexContext
from chainops.operators.dapps.errors import DustAmount
from chainops.operators.dapps.quote import Quote, TradeKind, check_quote
from chainops.operators.dapps.slippage import DEFAULT_SLIPPAGE, Bps
from chainops.operators.dapps.swaps import HopLog, SwapExecutor
from chainops.operators.dapps.uniswap.v2 import library
from chainops.operators.dapps.uniswap.v2.operator import V2_FEE, UniswapV2
from chainops.operators.dapps.uniswap.v3.operator import UniswapV3
from chainops.operators.dapps.uniswap.v3.path import encode_path
from chainops.operators.dapps.uniswap.v3.pool import V3PoolState
from chainops.operators.dapps.uniswap.v3.prices import check_fee, sqrt_price_x96_to_price
from chainops.operators.evm.requests import TxRequest

ADDRESS_THIS = "0x0000000000000000000000000000000000000002"  # SwapRouter02: the router
CONTRACT_BALANCE = 0  # SwapRouter02: spend what the router holds
V2_SWAP = "0x" + keccak(text="Swap(address,uint256,uint256,uint256,uint256,address)").hex()
V3_SWAP = "0x" + keccak(text="Swap(address,address,int256,int256,uint160,uint128,int24)").hex()
Hop = tuple[str, int]  # ("v2", 3000) or ("v3", fee tier)


class UniswapMixed:
    """Exact-input routes whose hops mix V2 pairs and V3 pools, through SwapRouter02."""

    dex = "uniswap-mixed"

    def __init__(self, ctx: DexContext, v2: UniswapV2, v3: UniswapV3) -> None:
        self.ctx, self.v2, self.v3 = ctx, v2, v3
        self.router = ctx.evm.contract(
            ctx.contract_address("SwapRouter02"), load_abi("SwapRouter02")
        )
        self.executor = SwapExecutor(ctx, str(self.router.address), self._parse_logs, self.reprice)

    async def quote_exact_in(
        self,
        path: Sequence[str],
        amount_in: Decimal | int | str,
        *,
        hops: Sequence[Hop],
        slippage: Bps | str = DEFAULT_SLIPPAGE,
        deadline: int | None = None,
        force: bool = False,
    ) -> Quote:
        """Quote selling exactly ``amount_in`` along ``path``, hop ``i`` through ``hops[i]``."""
        bps = Bps.parse(slippage).check(force=force)
        check_deadline(deadline)
        path = check_path(path)
        if len(hops) != len(path) - 1:
            raise ValidationError("a mixed route needs a protocol and fee for every hop")
        for hop in hops:
            if not isinstance(hop, tuple | list) or len(hop) != 2 or hop[0] not in ("v2", "v3"):
                raise ValidationError(f"hops are ('v2', 3000) or ('v3', fee), not {list(hops)}")
            if hop[0] == "v3":
                check_fee(hop[1])
        tokens = [self.ctx.token(p) for p in path]
        raw = self.ctx.raw_amount(tokens[0], amount_in)
        block, now = await self.v3.head()
        when = self.ctx.deadline_at(now, deadline)
        pairs = list(itertools.pairwise(tokens))
        reads: list[Any] = []
        for (a, b), (protocol, fee) in zip(pairs, hops, strict=True):
            if protocol == "v2":
                reads.append(self.v2.reserves(a, b, block))
            else:
                reads.append(self.v3.pool(a, b, fee, block=block))
        states = list(await asyncio.gather(*reads))
        amount, mid, pools = raw, Decimal(1), []
        for (a, b), state in zip(pairs, states, strict=True):
            if isinstance(state, V3PoolState):

                def through(pools: list[V3PoolState], value: int = amount, t: Token = a) -> int:
                    return pools[0].amount_out(str(t.address), value)

                _, amount = await self.v3.price_over([state], through)
                zero = str(a.address).lower() == state.token0.lower()
                t0, t1 = (a, b) if zero else (b, a)
                price = sqrt_price_x96_to_price(state.sqrt_price_x96, t0.decimals, t1.decimals)
                mid *= price if zero else 1 / price
                pools.append(state.address)
            else:
                amount = library.get_amounts_out(amount, [state])[-1]
                mid *= b.from_raw(state[1]) / a.from_raw(state[0])
                pools.append(await self.v2.pair_address(a, b))
        if amount <= 0:
            raise DustAmount(f"{amount_in} {tokens[0].symbol} buys nothing on this route")
        return Quote(
            dex=self.dex, kind=TradeKind.EXACT_IN, path=tuple(tokens),
            fees=tuple(V2_FEE if p == "v2" else f for p, f in hops), block=block,
            amount_in=raw, amount_out=amount, limit=bps.min_out(amount), slippage=bps,
            deadline=when, mid_price=mid, native_in=self.ctx.is_native(path[0]),
            native_out=self.ctx.is_native(path[-1]), pools=tuple(pools),
            native=self.ctx.evm.native.symbol,
            protocols=tuple(p for p, _ in hops),
        )  # fmt: skip

    def build_swap(self, quote: Quote, recipient: str) -> TxRequest:
        """``multicall(deadline, [segment, ..., unwrapWETH9?])`` for ``quote`` (pure)."""
        check_quote(quote, self.dex)
        if quote.kind is not TradeKind.EXACT_IN:
            raise ValidationError("mixed routes are built for exact-input mixed quotes only")
        me, r = EvmAddress(recipient), self.router
        segments = [
            (protocol, [i for i, _ in group])
            for protocol, group in itertools.groupby(
                enumerate(quote.protocols), key=lambda item: item[1]
            )
        ]
        calls = []
        for n, (protocol, hops) in enumerate(segments):
            last = n == len(segments) - 1
            to = str(me) if last and not quote.native_out else ADDRESS_THIS
            spend = quote.amount_in if n == 0 else CONTRACT_BALANCE
            minimum = quote.limit if last else 0
            tokens = quote.path[hops[0] : hops[-1] + 2]
            if protocol == "v2":
                path = [t.address for t in tokens]
                calls.append(r.encode("swapExactTokensForTokens", spend, minimum, path, to))
            else:
                fees = [quote.fees[i] for i in hops]
                encoded = encode_path(tokens, fees)
                calls.append(r.encode("exactInput", (encoded, to, spend, minimum)))
        if quote.native_out:
            calls.append(r.encode("unwrapWETH9", quote.min_out, me))
        value = quote.token_in.from_raw(quote.amount_in) if quote.native_in else Decimal(0)
        return r.request("multicall", quote.deadline, calls, value=value)

    async def reprice(self, quote: Quote) -> Quote:
        """``quote``'s route and amount priced again from its pairs and pools now."""
        hops = list(zip(quote.protocols, quote.fees, strict=True))
        amount = quote.token_in.from_raw(quote.amount_in)
        return await self.quote_exact_in(
            quote.symbols, amount, hops=hops, slippage=quote.slippage, force=True
        )

    async def swap(self, quote: Quote, *, recipient: str | None = None) -> Order:
        """Send the route (allowance ensured first); returns its Order, OPEN until mined."""
        request = self.build_swap(quote, recipient or self.ctx.evm.owner)
        return await self.executor.execute(quote, request)

    def _parse_logs(self, quote: Quote, logs: list[dict[str, Any]]) -> list[HopLog]:
        """Swap logs of both kinds matched to hops by pool."""
        by_pool = {p.lower(): i for i, p in enumerate(quote.pools)}
        found: dict[int, HopLog] = {}
        for log in logs:
            hop = by_pool.get(str(log["address"]).lower())
            if hop is None or not log["topics"]:
                continue
            data = bytes.fromhex(log["data"][2:])
            words = [int.from_bytes(data[i : i + 32], "big") for i in range(0, len(data), 32)]
            a, b = quote.path[hop], quote.path[hop + 1]
            zero_in = int(str(a.address), 16) < int(str(b.address), 16)
            if log["topics"][0] == V2_SWAP:
                into, out = (words[0], words[3]) if zero_in else (words[1], words[2])
            elif log["topics"][0] == V3_SWAP:
                d0 = words[0] - (1 << 256) if words[0] >> 255 else words[0]
                d1 = words[1] - (1 << 256) if words[1] >> 255 else words[1]
                into, out = (d0, -d1) if zero_in else (d1, -d0)
            else:
                continue
            found[hop] = (int(log["logIndex"], 16), into, out)
        return [found[i] for i in sorted(found)]
