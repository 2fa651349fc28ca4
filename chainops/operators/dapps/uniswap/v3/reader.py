"""Read a V3 pool from its own views, batched: no lens contract needed on any chain.

``slot0``, ``liquidity``, ``tickBitmap(word)`` and ``ticks(tick)`` exist on every pool.
The reads of one round go out together (the operator coalesces the calls of one event
loop turn into one JSON-RPC batch): the price and bitmap words in one round, the
initialized ticks those words mark in the next. A pool read before is read again in one
batch (:meth:`PoolReader.read_latest`): the head block, the views around the tick seen
last time and the ticks initialized there last time, closed by a second block number
that proves no block arrived in between. Calldata is built and decoded here by hand:
these are the hottest reads of the DEX layer.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from eth_utils.crypto import keccak

from chainops.core.errors import ChainopsError, ValidationError
from chainops.operators.dapps.uniswap.v3.math.tick_bitmap import position, ticks_in_word, word_range
from chainops.operators.dapps.uniswap.v3.pool import V3PoolState
from chainops.operators.evm.batching import AutoBatcher

# 2 words each side: at spacing 10 that is +-5120 ticks (a price move of ~1.7x), more
# than one swap crosses on a liquid pool, in one small batch; a swap that leaves the
# loaded words makes the reader extend them (see extend_to).
DEFAULT_WORD_RADIUS = 2


# keccak256 of the pool creation code: the same on every chain of the canonical deployments.
POOL_INIT_CODE_HASH = bytes.fromhex(
    "e34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54"
)


class EmptyAccount(ValidationError):
    """No contract at the address read (a pool that was never created)."""


def pool_address(factory: str, token_a: str, token_b: str, fee: int) -> str:
    """The pool's address as the factory creates it (CREATE2 over the sorted tokens and fee)."""
    t0, t1 = sorted((token_a.lower(), token_b.lower()), key=lambda t: int(t, 16))
    salt = keccak(bytes.fromhex(t0[2:].rjust(64, "0") + t1[2:].rjust(64, "0") + _int_arg(fee)))
    digest = keccak(b"\xff" + bytes.fromhex(factory[2:]) + salt + POOL_INIT_CODE_HASH)
    return "0x" + digest[12:].hex()


def _selector(signature: str) -> str:
    return "0x" + keccak(text=signature)[:4].hex()


SLOT0 = _selector("slot0()")
LIQUIDITY = _selector("liquidity()")
TICK_BITMAP = _selector("tickBitmap(int16)")
TICKS = _selector("ticks(int24)")
TOKEN0, TOKEN1, FEE, TICK_SPACING = (
    _selector(s) for s in ("token0()", "token1()", "fee()", "tickSpacing()")
)


def _int_arg(value: int) -> str:
    return (value % 2**256).to_bytes(32, "big").hex()


def _word(raw: str, index: int, *, signed: bool = False) -> int:
    start = 2 + 64 * index
    value = int(raw[start : start + 64], 16)
    return value - 2**256 if signed and value >= 2**255 else value


def _address(raw: str) -> str:
    return "0x" + raw[-40:]


@dataclass(frozen=True)
class PoolInfo:
    """What never changes about a pool: read once, cached by the caller."""

    address: str
    token0: str
    token1: str
    fee: int
    tick_spacing: int


@dataclass(frozen=True)
class _Plan:
    """The calls of one pool in a ``read_latest`` batch."""

    info: PoolInfo
    span: tuple[int, int]
    known: list[int]
    calls: list[tuple[str, list[Any]]]


class PoolReader:
    """Batched reads of V3 pools at a given block."""

    def __init__(self, batcher: AutoBatcher) -> None:
        self.batcher = batcher

    async def _call(self, to: str, data: str, block: int | str) -> str:
        tag = hex(block) if isinstance(block, int) else block
        result: str = await self.batcher.call("eth_call", [{"to": to, "data": data}, tag])
        return result

    async def info(self, address: str) -> PoolInfo:
        """A pool's tokens, fee and tick spacing (one batch)."""
        t0, t1, fee, spacing = await asyncio.gather(
            *(self._call(address, s, "latest") for s in (TOKEN0, TOKEN1, FEE, TICK_SPACING))
        )
        if t0 in ("0x", None):
            raise EmptyAccount(f"no contract at {address}")
        return PoolInfo(
            address, _address(t0), _address(t1), _word(fee, 0), _word(spacing, 0, signed=True)
        )

    async def _bitmaps(self, info: PoolInfo, low: int, high: int, block: int) -> list[str]:
        return list(
            await asyncio.gather(
                *(
                    self._call(info.address, TICK_BITMAP + _int_arg(w), block)
                    for w in range(low, high + 1)
                )
            )
        )

    async def _ticks(
        self, info: PoolInfo, ticks: list[int], block: int
    ) -> dict[int, tuple[int, int]]:
        raws = await asyncio.gather(
            *(self._call(info.address, TICKS + _int_arg(t), block) for t in ticks)
        )
        # ticks(t) returns (liquidityGross, liquidityNet, ...): the first two words.
        return {
            t: (_word(raw, 0), _word(raw, 1, signed=True))
            for t, raw in zip(ticks, raws, strict=True)
        }

    def _marked(self, info: PoolInfo, low: int, raws: list[str]) -> list[int]:
        return [
            t
            for i, raw in enumerate(raws)
            for t in ticks_in_word(low + i, int(raw, 16), info.tick_spacing)
        ]

    def _around(self, info: PoolInfo, tick: int, radius: int) -> tuple[int, int]:
        first, last = word_range(info.tick_spacing)
        centre = position(tick // info.tick_spacing)[0]
        return max(first, centre - radius), min(last, centre + radius)

    async def read(
        self,
        info: PoolInfo,
        block: int,
        *,
        hint_tick: int | None = None,
        radius: int = DEFAULT_WORD_RADIUS,
        ticks: bool = True,
    ) -> V3PoolState:
        """The pool at ``block``: price, liquidity and the ticks of the words near the price.

        With ``hint_tick`` (the tick seen last time) the bitmap words are read in the same
        batch as slot0: two rounds in all, three when the price has left them.
        """
        span = self._around(info, hint_tick, radius) if hint_tick is not None and ticks else None
        reads: list[Any] = [
            self._call(info.address, SLOT0, block),
            self._call(info.address, LIQUIDITY, block),
        ]
        if span is not None:
            reads.append(self._bitmaps(info, span[0], span[1], block))
        slot0, liquidity, *pages = await asyncio.gather(*reads)
        state = V3PoolState(
            address=info.address,
            token0=info.token0,
            token1=info.token1,
            fee=info.fee,
            tick_spacing=info.tick_spacing,
            sqrt_price_x96=_word(slot0, 0),
            tick=_word(slot0, 1, signed=True),
            liquidity=_word(liquidity, 0),
            block=block,
        )
        if not ticks:
            return state
        wanted = self._around(info, state.tick, radius)
        if span is None or not span[0] <= position(state.tick // info.tick_spacing)[0] <= span[1]:
            span = wanted
            raws = await self._bitmaps(info, span[0], span[1], block)
        else:
            raws = pages[0]
        state.add_words(
            span[0], span[1], await self._ticks(info, self._marked(info, span[0], raws), block)
        )
        return state

    async def extend_to(self, state: V3PoolState, info: PoolInfo, word: int) -> None:
        """Load the words from the loaded range up to ``word`` and as many again beyond
        (the span doubles each time, so a long swap needs few rounds)."""
        assert state.block is not None
        first, last = word_range(info.tick_spacing)
        low, high = state.words
        width = max(high - low + 1, 1)
        if word < low:
            new_low, new_high = max(first, min(word, low - width)), low - 1
        else:
            new_low, new_high = high + 1, min(last, max(word, high + width))
        raws = await self._bitmaps(info, new_low, new_high, state.block)
        state.add_words(
            new_low,
            new_high,
            await self._ticks(info, self._marked(info, new_low, raws), state.block),
        )

    # -- one batch for pools read before ----------------------------------------------------

    def _plan(self, info: PoolInfo, tick: int, known: list[int], radius: int) -> _Plan:
        span = self._around(info, tick, radius)
        inside = [t for t in known if span[0] <= position(t // info.tick_spacing)[0] <= span[1]]
        data = [SLOT0, LIQUIDITY]
        data += [TICK_BITMAP + _int_arg(w) for w in range(span[0], span[1] + 1)]
        data += [TICKS + _int_arg(t) for t in inside]
        calls = [("eth_call", [{"to": info.address, "data": d}, "latest"]) for d in data]
        return _Plan(info, span, inside, calls)

    async def read_latest(
        self,
        pools: list[tuple[PoolInfo, int, list[int]]],
        radius: int = DEFAULT_WORD_RADIUS,
    ) -> tuple[tuple[int, int], list[V3PoolState]]:
        """``((block, timestamp), states)`` of pools read before, given as (info, tick seen
        last time, ticks initialized then): one batch, and a second round only for what
        it shows has changed (new initialized ticks, a price that left the words)."""
        plans = [self._plan(info, tick, known, radius) for info, tick, known in pools]
        calls: list[tuple[str, list[Any]]] = [("eth_getBlockByNumber", ["latest", False])]
        for plan in plans:
            calls += plan.calls
        calls.append(("eth_blockNumber", []))
        results = await self.batcher.call_many(calls)
        for result in results:
            if isinstance(result, ChainopsError):
                raise result
        block, timestamp = int(results[0]["number"], 16), int(results[0]["timestamp"], 16)
        if int(results[-1], 16) != block:  # a block arrived during the batch: pin the reads
            states = await asyncio.gather(
                *(self.read(info, block, hint_tick=tick) for info, tick, _ in pools)
            )
            return (block, timestamp), list(states)
        finishing, start = [], 1
        for plan in plans:
            finishing.append(self._finish(plan, results[start : start + len(plan.calls)], block))
            start += len(plan.calls)
        return (block, timestamp), list(await asyncio.gather(*finishing))

    async def _finish(self, plan: _Plan, raws: list[Any], block: int) -> V3PoolState:
        info, (low, high) = plan.info, plan.span
        state = V3PoolState(
            address=info.address,
            token0=info.token0,
            token1=info.token1,
            fee=info.fee,
            tick_spacing=info.tick_spacing,
            sqrt_price_x96=_word(raws[0], 0),
            tick=_word(raws[0], 1, signed=True),
            liquidity=_word(raws[1], 0),
            block=block,
        )
        if not low <= position(state.tick // info.tick_spacing)[0] <= high:
            return await self.read(info, block)  # the price left the words read
        bitmaps = raws[2 : 2 + high - low + 1]
        seen = dict(zip(plan.known, raws[2 + high - low + 1 :], strict=True))
        marked = self._marked(info, low, bitmaps)
        ticks = {
            t: (_word(seen[t], 0), _word(seen[t], 1, signed=True)) for t in marked if t in seen
        }
        missing = [t for t in marked if t not in seen]
        if missing:
            ticks.update(await self._ticks(info, missing, block))
        state.add_words(low, high, ticks)
        return state
