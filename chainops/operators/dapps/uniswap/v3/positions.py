"""Uniswap V3 positions through the NonfungiblePositionManager: price range <-> ticks,
mint, increase, decrease, collect, burn, and an owner's positions with amounts, in-range
flag and uncollected fees (computed as the manager will on the next collect)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eth_utils.crypto import keccak

from chainops.abis import decode_output, load_abi
from chainops.core.assets import Token, to_decimal
from chainops.core.errors import InsufficientFunds, NotFound, ValidationError
from chainops.core.ids import EvmAddress
from chainops.core.transaction import Transaction
from chainops.operators.dapps.checks import check_deadline, check_positive_int, check_token_id
from chainops.operators.dapps.context import DexContext
from chainops.operators.dapps.erc20 import Erc20
from chainops.operators.dapps.slippage import DEFAULT_SLIPPAGE, Bps
from chainops.operators.dapps.uniswap.v3.math.full_math import Q128, mul_div
from chainops.operators.dapps.uniswap.v3.math.liquidity_amounts import (
    amounts_for_liquidity,
    amounts_for_mint,
    liquidity_for_amounts,
)
from chainops.operators.dapps.uniswap.v3.math.tick_math import get_sqrt_ratio_at_tick
from chainops.operators.dapps.uniswap.v3.operator import UniswapV3
from chainops.operators.dapps.uniswap.v3.prices import (
    check_tick_pair,
    check_ticks,
    range_to_ticks,
    spacing_for,
    tick_to_price,
)

MAX_UINT128 = 2**128 - 1
_MOD = 2**256
INCREASE_TOPIC = "0x" + keccak(text="IncreaseLiquidity(uint256,uint128,uint256,uint256)").hex()


@dataclass(frozen=True)
class V3Position:
    """One position NFT, valued at the pool's current price."""

    token_id: int
    token0: Token
    token1: Token
    fee: int
    tick_lower: int
    tick_upper: int
    liquidity: int
    amount0: Decimal
    amount1: Decimal
    fees0: Decimal  # uncollected fees (and withdrawn principal not yet collected)
    fees1: Decimal
    in_range: bool
    price_lower: Decimal  # token1 per token0
    price_upper: Decimal

    def to_dict(self) -> dict[str, Any]:
        return {
            "token_id": self.token_id,
            "pair": f"{self.token0.symbol}/{self.token1.symbol}",
            "fee": self.fee,
            "ticks": [self.tick_lower, self.tick_upper],
            "prices": [str(self.price_lower), str(self.price_upper)],
            "liquidity": str(self.liquidity),
            "amount0": str(self.amount0),
            "amount1": str(self.amount1),
            "fees0": str(self.fees0),
            "fees1": str(self.fees1),
            "in_range": self.in_range,
        }


@dataclass(frozen=True)
class MintPlan:
    """A mint or increase: desired amounts, expected amounts and minimums (token0/1 order)."""

    token0: Token
    token1: Token
    fee: int
    tick_lower: int
    tick_upper: int
    desired: tuple[int, int]
    expected: tuple[int, int]
    minimum: tuple[int, int]
    liquidity: int
    deadline: int
    token_id: int | None = None  # set for an increase


class V3Positions:
    """Liquidity positions on Uniswap V3."""

    def __init__(self, ctx: DexContext, v3: UniswapV3 | None = None) -> None:
        self.ctx = ctx
        self.v3 = v3 or UniswapV3(ctx)
        address = ctx.contract_address("NonfungiblePositionManager")
        self.npm = ctx.evm.contract(address, load_abi("NonfungiblePositionManager"))
        self.pool_abi = load_abi("UniswapV3Pool")

    async def _read(self, handle: Any, function: str, *args: Any) -> Any:
        return decode_output(
            handle.abi, function, await self.ctx.evm.call(handle.request(function, *args))
        )

    # -- ranges -----------------------------------------------------------------------------

    def ordered(self, a: str, b: str) -> tuple[Token, Token, bool]:
        """(token0, token1, flipped): flipped when ``a`` is token1."""
        ta, tb = self.ctx.token(a), self.ctx.token(b)
        if ta == tb:
            raise ValidationError("a pool needs two different tokens")
        if int(str(ta.address), 16) < int(str(tb.address), 16):
            return ta, tb, False
        return tb, ta, True

    def ticks_for_range(
        self, a: str, b: str, fee: int, low: Decimal | str, high: Decimal | str
    ) -> tuple[int, int]:
        """Ticks for prices of ``a`` in ``b`` (e.g. WETH in USDC), widened to the spacing."""
        t0, t1, flipped = self.ordered(a, b)
        return range_to_ticks(low, high, t0.decimals, t1.decimals, spacing_for(fee), invert=flipped)

    # -- mint / increase --------------------------------------------------------------------

    async def plan_mint(
        self,
        a: str,
        b: str,
        fee: int,
        amount_a: Decimal | str | int,
        amount_b: Decimal | str | int,
        *,
        ticks: tuple[int, int] | None = None,
        price_range: tuple[Decimal | str, Decimal | str] | None = None,
        slippage: Bps | str = DEFAULT_SLIPPAGE,
        deadline: int | None = None,
        force: bool = False,
    ) -> MintPlan:
        """Plan a new position from a tick or price range and the amounts to deposit."""
        bps = Bps.parse(slippage).check(force=force)
        check_deadline(deadline)
        t0, t1, flipped = self.ordered(a, b)
        spacing = spacing_for(fee)
        if (ticks is None) == (price_range is None):
            raise ValidationError("give either ticks or a price range")
        if ticks is not None:
            lower, upper = check_tick_pair(ticks)
            check_ticks(lower, upper, spacing)
        else:
            assert price_range is not None
            lower, upper = self.ticks_for_range(a, b, fee, *price_range)
        raw_a = self._amount(self.ctx.token(a), amount_a)
        raw_b = self._amount(self.ctx.token(b), amount_b)
        raw0, raw1 = (raw_b, raw_a) if flipped else (raw_a, raw_b)
        return await self._plan(t0, t1, fee, lower, upper, raw0, raw1, bps, deadline, None)

    async def plan_increase(
        self,
        token_id: int,
        amount0: Decimal | str | int,
        amount1: Decimal | str | int,
        *,
        slippage: Bps | str = DEFAULT_SLIPPAGE,
        deadline: int | None = None,
        force: bool = False,
    ) -> MintPlan:
        """Plan adding to a position this account owns."""
        bps = Bps.parse(slippage).check(force=force)
        check_deadline(deadline)
        pos = await self.own_position(token_id)
        raw0, raw1 = self._amount(pos.token0, amount0), self._amount(pos.token1, amount1)
        return await self._plan(
            pos.token0, pos.token1, pos.fee, pos.tick_lower, pos.tick_upper, raw0, raw1, bps,
            deadline, token_id,
        )  # fmt: skip

    def _amount(self, token: Token, amount: Decimal | str | int) -> int:
        if to_decimal(amount) == 0:
            return 0  # a one-sided deposit (range entirely above or below the price)
        return self.ctx.raw_amount(token, amount)

    async def _plan(
        self,
        t0: Token,
        t1: Token,
        fee: int,
        lower: int,
        upper: int,
        raw0: int,
        raw1: int,
        bps: Bps,
        deadline: int | None,
        token_id: int | None,
    ) -> MintPlan:
        state, when = await asyncio.gather(
            self.v3.pool(t0, t1, fee, ticks=False), self.ctx.deadline(deadline)
        )
        sa, sb = get_sqrt_ratio_at_tick(lower), get_sqrt_ratio_at_tick(upper)
        liquidity = liquidity_for_amounts(state.sqrt_price_x96, sa, sb, raw0, raw1)
        if liquidity <= 0:
            raise ValidationError(
                "these amounts add no liquidity in this range at the current price "
                "(a range above the price takes only token0, below only token1)"
            )
        # What the pool will take: rounded up, on the side its current tick says.
        e0, e1 = amounts_for_mint(state.tick, state.sqrt_price_x96, sa, sb, liquidity)
        # Minimums from slippage, at least one unit of a side the range takes (a minimum
        # rounded to 0 would accept any price); 0 only for a side it does not take.
        minimum = (max(1, bps.min_out(e0)) if e0 else 0, max(1, bps.min_out(e1)) if e1 else 0)
        return MintPlan(
            t0, t1, fee, lower, upper, (raw0, raw1), (e0, e1), minimum, liquidity, when, token_id
        )

    async def _fund(self, plan: MintPlan) -> None:
        for token, raw in zip((plan.token0, plan.token1), plan.desired, strict=True):
            if not raw:
                continue
            erc = Erc20(self.ctx.evm, token)
            have = await erc.balance_raw()
            if have < raw:
                raise InsufficientFunds(
                    f"holds {token.from_raw(have)} {token.symbol}, needs {token.from_raw(raw)}"
                )
        for token, raw in zip((plan.token0, plan.token1), plan.desired, strict=True):
            if raw:
                await Erc20(self.ctx.evm, token).ensure_allowance(str(self.npm.address), raw=raw)

    async def mint(self, plan: MintPlan) -> tuple[Transaction, int]:
        """Mint the planned position; returns the mined transaction and the token id."""
        _check_plan(plan)
        if plan.token_id is not None:
            raise ValidationError("this plan increases an existing position; use increase()")
        await self._fund(plan)
        args = (
            plan.token0.address, plan.token1.address, plan.fee, plan.tick_lower, plan.tick_upper,
            *plan.desired, *plan.minimum, EvmAddress(self.ctx.evm.owner), plan.deadline,
        )  # fmt: skip
        tx = await self.ctx.send(self.npm.request("mint", args))
        await tx.wait()
        receipt = await self.ctx.receipt(tx)
        for log in receipt["logs"]:
            if log["topics"] and log["topics"][0] == INCREASE_TOPIC:
                return tx, int(log["topics"][1], 16)
        raise NotFound(f"mint {tx.hash} has no IncreaseLiquidity log")

    async def increase(self, plan: MintPlan) -> Transaction:
        """Add the planned amounts to a position this account owns."""
        _check_plan(plan)
        if plan.token_id is None:
            raise ValidationError("this plan mints a new position; use mint()")
        await self._owned(plan.token_id)
        await self._fund(plan)
        args = (plan.token_id, *plan.desired, *plan.minimum, plan.deadline)
        return await self.ctx.send(self.npm.request("increaseLiquidity", args))

    # -- decrease / collect / burn ----------------------------------------------------------

    async def decrease(
        self,
        token_id: int,
        liquidity: int | None = None,
        *,
        slippage: Bps | str = DEFAULT_SLIPPAGE,
        deadline: int | None = None,
        force: bool = False,
    ) -> Transaction:
        """Withdraw ``liquidity`` (default: all) into owed tokens; minimums from slippage."""
        bps = Bps.parse(slippage).check(force=force)
        check_deadline(deadline)
        if liquidity is not None:
            check_positive_int(liquidity, "liquidity")
        pos = await self.own_position(token_id)
        amount = pos.liquidity if liquidity is None else liquidity
        if amount <= 0 or amount > pos.liquidity:
            raise ValidationError(
                f"position {token_id} has {pos.liquidity} liquidity, not {amount}"
            )
        state, when = await asyncio.gather(
            self.v3.pool(pos.token0, pos.token1, pos.fee, ticks=False), self.ctx.deadline(deadline)
        )
        sa, sb = get_sqrt_ratio_at_tick(pos.tick_lower), get_sqrt_ratio_at_tick(pos.tick_upper)
        e0, e1 = amounts_for_liquidity(state.sqrt_price_x96, sa, sb, amount)
        args = (token_id, amount, bps.min_out(e0), bps.min_out(e1), when)
        return await self.ctx.send(self.npm.request("decreaseLiquidity", args))

    async def collect(self, token_id: int, recipient: str | None = None) -> Transaction:
        """Collect everything owed (fees and withdrawn principal) to ``recipient``."""
        await self._owned(token_id)
        to = EvmAddress(recipient or self.ctx.evm.owner)
        args = (token_id, to, MAX_UINT128, MAX_UINT128)
        return await self.ctx.send(self.npm.request("collect", args))

    async def burn(self, token_id: int) -> Transaction:
        """Burn an empty position NFT (no liquidity, nothing owed)."""
        pos = await self.own_position(token_id)
        if pos.liquidity or pos.fees0 or pos.fees1:
            raise ValidationError(
                f"position {token_id} is not empty: decrease and collect it before burning"
            )
        return await self.ctx.send(self.npm.request("burn", token_id))

    async def close(self, token_id: int, *, slippage: Bps | str = DEFAULT_SLIPPAGE) -> V3Position:
        """Decrease all, collect, burn; returns the position as it was before closing."""
        before = await self.own_position(token_id)
        if before.liquidity:
            await (await self.decrease(token_id, slippage=slippage)).wait()
        await (await self.collect(token_id)).wait()
        await (await self.burn(token_id)).wait()
        return before

    # -- views ------------------------------------------------------------------------------

    async def _owned(self, token_id: int) -> str:
        """The owner of ``token_id``; ValidationError unless it is this account."""
        check_token_id(token_id)
        try:
            owner = str(await self._read(self.npm, "ownerOf", token_id))
        except Exception as exc:  # the manager reverts for an unknown id
            raise NotFound(f"no V3 position {token_id}") from exc
        if owner.lower() != self.ctx.evm.owner.lower():
            raise ValidationError(f"position {token_id} belongs to {owner}")
        return owner

    async def own_position(self, token_id: int) -> V3Position:
        """The position, once ``token_id`` is known to belong to this account
        (ValidationError if another account holds it, NotFound if none does)."""
        _, pos = await asyncio.gather(self._owned(token_id), self.position(token_id))
        return pos

    async def position(self, token_id: int) -> V3Position:
        """A position with its amounts now, in-range flag and uncollected fees."""
        check_token_id(token_id)
        try:
            p = await self._read(self.npm, "positions", token_id)
        except Exception as exc:  # "Invalid token ID"
            raise NotFound(f"no V3 position {token_id}") from exc
        _, _, token0, token1, fee, lower, upper, liquidity, in0, in1, owed0, owed1 = p
        t0, t1 = self.ctx.token_at(token0), self.ctx.token_at(token1)
        pool_address = await self.v3.pool_address(t0, t1, int(fee))
        pool = self.ctx.evm.contract(pool_address, self.pool_abi)
        slot0, g0, g1, low, up = await asyncio.gather(
            self._read(pool, "slot0"),
            self._read(pool, "feeGrowthGlobal0X128"),
            self._read(pool, "feeGrowthGlobal1X128"),
            self._read(pool, "ticks", lower),
            self._read(pool, "ticks", upper),
        )
        sqrt_p, tick = int(slot0[0]), int(slot0[1])
        inside0 = _inside(tick, lower, upper, int(g0), int(low[2]), int(up[2]))
        inside1 = _inside(tick, lower, upper, int(g1), int(low[3]), int(up[3]))
        fees0 = int(owed0) + mul_div((inside0 - int(in0)) % _MOD, int(liquidity), Q128)
        fees1 = int(owed1) + mul_div((inside1 - int(in1)) % _MOD, int(liquidity), Q128)
        sa, sb = get_sqrt_ratio_at_tick(lower), get_sqrt_ratio_at_tick(upper)
        a0, a1 = amounts_for_liquidity(sqrt_p, sa, sb, int(liquidity))
        return V3Position(
            token_id=token_id, token0=t0, token1=t1, fee=int(fee), tick_lower=int(lower),
            tick_upper=int(upper), liquidity=int(liquidity), amount0=t0.from_raw(a0),
            amount1=t1.from_raw(a1), fees0=t0.from_raw(fees0 % 2**128),
            fees1=t1.from_raw(fees1 % 2**128), in_range=lower <= tick < upper,
            price_lower=tick_to_price(lower, t0.decimals, t1.decimals),
            price_upper=tick_to_price(upper, t0.decimals, t1.decimals),
        )  # fmt: skip

    async def positions(self, owner: str | None = None) -> list[V3Position]:
        """Every position NFT ``owner`` holds (default: this account)."""
        who = EvmAddress(owner or self.ctx.evm.owner)
        count = int(await self._read(self.npm, "balanceOf", who))
        ids = await asyncio.gather(
            *(self._read(self.npm, "tokenOfOwnerByIndex", who, i) for i in range(count))
        )
        return list(await asyncio.gather(*(self.position(int(i)) for i in ids)))


def _check_plan(plan: object) -> None:
    if not isinstance(plan, MintPlan):
        raise ValidationError(f"expected a MintPlan from plan_mint/plan_increase, not {plan!r}")


def _inside(tick: int, lower: int, upper: int, glob: int, out_low: int, out_up: int) -> int:
    """Tick.getFeeGrowthInside (wrapping arithmetic, as in the pool)."""
    below = out_low if tick >= lower else (glob - out_low) % _MOD
    above = out_up if tick < upper else (glob - out_up) % _MOD
    return (glob - below - above) % _MOD
