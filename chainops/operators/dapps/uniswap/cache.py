"""Pool state that tracks the chain: V3 pool states and V2 reserves kept current from logs.

Each update costs one batch (the head block, and the block the states are at, to see a
reorg) and, when blocks were added, one ``eth_getLogs`` for every watched pool at once
(V3 Swap, Mint and Burn; V2 Sync). A Swap event carries the pool's price, liquidity and
tick afterwards; Mint and Burn move the ticks and the active liquidity as the pool does;
Sync carries a pair's reserves. A reorg of the block the states are at drops them all:
they are read again, at the new head, on their next use.

``start()`` follows the chain in the background (quotes then make no request at all);
without it, a quote through a cache brings it up to date first (a few requests, still
fewer than reading the pools again). Either way a quote records the block its state is
from, and its minimum protects the swap if the pool moves before inclusion.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from eth_utils.crypto import keccak

from chainops.core.errors import ChainopsError
from chainops.operators.dapps.uniswap.v3.pool import V3PoolState
from chainops.operators.evm.batching import AutoBatcher

log = logging.getLogger(__name__)


def _topic(signature: str) -> str:
    return "0x" + keccak(text=signature).hex()


V3_SWAP = _topic("Swap(address,address,int256,int256,uint160,uint128,int24)")
V3_MINT = _topic("Mint(address,address,int24,int24,uint128,uint256,uint256)")
V3_BURN = _topic("Burn(address,int24,int24,uint128,uint256,uint256)")
V2_SYNC = _topic("Sync(uint112,uint112)")
TOPICS = [V3_SWAP, V3_MINT, V3_BURN, V2_SYNC]
# One block on most chains; a follower polls no faster than this by default.
DEFAULT_POLL_INTERVAL = 1.0


def _signed(value: int, bits: int = 256) -> int:
    return value - (1 << bits) if value >= 1 << (bits - 1) else value


def _words(data: str) -> list[int]:
    raw = data[2:]
    return [int(raw[i : i + 64], 16) for i in range(0, len(raw), 64)]


@dataclass(frozen=True)
class Head:
    """The block the cached states are at."""

    number: int
    hash: str
    timestamp: int


class PoolCache:
    """Uniswap pool states of one chain, brought up to date from its logs."""

    def __init__(
        self, batcher: AutoBatcher, *, poll_interval: float = DEFAULT_POLL_INTERVAL
    ) -> None:
        self.batcher = batcher
        self.poll_interval = poll_interval
        self.head: Head | None = None
        self.reorgs = 0  # how often the states were dropped because their block vanished
        self._v3: dict[str, V3PoolState] = {}
        self._v2: dict[str, tuple[int, int]] = {}
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    # -- states -------------------------------------------------------------------------

    def v3(self, address: str) -> V3PoolState | None:
        return self._v3.get(address.lower())

    def put_v3(self, state: V3PoolState) -> None:
        """Keep ``state`` (read at the cache's head) current from now on."""
        self._v3[state.address.lower()] = state

    def v2(self, pair: str) -> tuple[int, int] | None:
        """(reserve0, reserve1) of ``pair`` at the head, if watched."""
        return self._v2.get(pair.lower())

    def put_v2(self, pair: str, reserves: tuple[int, int]) -> None:
        self._v2[pair.lower()] = reserves

    def clear(self) -> None:
        self._v3.clear()
        self._v2.clear()

    @property
    def following(self) -> bool:
        return self._task is not None and not self._task.done()

    # -- updates ------------------------------------------------------------------------

    async def current(self) -> Head:
        """The head the states are at: as followed, or brought up to date now."""
        if self.following and self.head is not None:
            return self.head
        return await self.update()

    async def update(self) -> Head:
        """Apply the logs of every block since the last update (or drop the states after
        a reorg); returns the new head."""
        async with self._lock:
            calls: list[tuple[str, list[Any]]] = [("eth_getBlockByNumber", ["latest", False])]
            if self.head is not None:
                calls.append(("eth_getBlockByNumber", [hex(self.head.number), False]))
            results = await self.batcher.call_many(calls)
            for result in results:
                if isinstance(result, ChainopsError):
                    raise result
            latest = results[0]
            head = Head(int(latest["number"], 16), latest["hash"], int(latest["timestamp"], 16))
            old = self.head
            if old is not None and (not results[1] or results[1]["hash"] != old.hash):
                self.reorgs += 1
                log.info("block %d was reorganised away: pool states dropped", old.number)
                self.clear()
            elif old is not None and head.number > old.number and (self._v3 or self._v2):
                await self._apply_logs(old.number + 1, head.number)
            elif old is not None and head.number < old.number:
                self.clear()  # the chain went back (a rollback): nothing cached is current
            for state in self._v3.values():
                state.block = head.number
            self.head = head
            return head

    async def _apply_logs(self, first: int, last: int) -> None:
        query = {
            "fromBlock": hex(first),
            "toBlock": hex(last),
            "address": sorted({*self._v3, *self._v2}),
            "topics": [TOPICS],
        }
        logs: list[dict[str, Any]] = await self.batcher.call("eth_getLogs", [query])
        logs.sort(key=lambda e: (int(e["blockNumber"], 16), int(e["logIndex"], 16)))
        for entry in logs:
            if entry.get("removed"):
                continue
            address = str(entry["address"]).lower()
            topic = entry["topics"][0]
            if topic == V2_SYNC and address in self._v2:
                r0, r1 = _words(entry["data"])[:2]
                self._v2[address] = (r0, r1)
                continue
            state = self._v3.get(address)
            if state is None:
                continue
            words = _words(entry["data"])
            if topic == V3_SWAP:
                state.on_swap(words[2], words[3], _signed(words[4]))
            elif topic in (V3_MINT, V3_BURN):
                lower = _signed(int(entry["topics"][2], 16))
                upper = _signed(int(entry["topics"][3], 16))
                amount = words[1] if topic == V3_MINT else words[0]
                state.on_liquidity(lower, upper, amount if topic == V3_MINT else -amount)

    # -- following ----------------------------------------------------------------------

    def start(self) -> None:
        """Follow the chain in the background: an update every ``poll_interval`` seconds."""
        if not self.following:
            self._task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _follow(self) -> None:
        while True:
            try:
                await self.update()
            except ChainopsError as exc:  # a node hiccup: the next turn retries
                log.warning("pool cache update failed: %s", exc)
            await asyncio.sleep(self.poll_interval)

    async def __aenter__(self) -> PoolCache:
        await self.update()
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
