"""Coalesce concurrent JSON-RPC calls into batches: one HTTP request per event-loop turn.

A hundred coroutines each calling ``eth_estimateGas`` in the same moment cost
one request, not a hundred; the same for ``eth_sendRawTransaction``. A lone
call waits no longer than one loop iteration.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from chainops.core.errors import ChainopsError
from chainops.core.ids import TxHash
from chainops.operators.evm.rpc import JsonRpcClient

# Large batches are fine on Anvil and geth; hosted providers cap batches near 1000.
MAX_BATCH = 500

_Pending = tuple[Any, "asyncio.Future[Any]"]


class _Queue:
    """Items waiting for the next flush, and the batch call that flushes them."""

    def __init__(
        self, flush: Callable[[list[Any]], Awaitable[Sequence[Any]]], max_batch: int
    ) -> None:
        self._flush_batch = flush
        self._max = max_batch
        self._items: list[_Pending] = []
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    def put(self, item: Any) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._items.append((item, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._spawn)
        return future

    def _spawn(self) -> None:
        task = asyncio.ensure_future(self._flush())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush(self) -> None:
        self._scheduled = False
        pending, self._items = self._items, []
        for start in range(0, len(pending), self._max):
            chunk = pending[start : start + self._max]
            futures = [future for _, future in chunk]
            try:
                results = await self._flush_batch([item for item, _ in chunk])
            except asyncio.CancelledError:
                for future in futures:
                    future.cancel()
                raise
            except Exception as exc:  # the whole request failed: every caller learns why
                results = [exc] * len(chunk)
            for future, result in zip(futures, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


class AutoBatcher:
    """Queues reads and raw sends and flushes each queue as one JSON-RPC batch."""

    def __init__(self, rpc: JsonRpcClient, *, max_batch: int = MAX_BATCH) -> None:
        self.rpc = rpc
        self._reads = _Queue(rpc.batch, max_batch)
        self._sends = _Queue(rpc.send_raw_batch, max_batch)

    async def call(self, method: str, params: list[Any]) -> Any:
        """One read, batched with whatever else is asked in the same loop turn."""
        return await self._reads.put((method, params))

    async def call_many(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Several reads in the shared batch; failures come back as exception objects."""
        futures = [self._reads.put(call) for call in calls]
        results = await asyncio.gather(*futures, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, ChainopsError):
                raise result  # a bug or a cancellation, not an answer from the node
        return list(results)

    async def send_raw(self, raw: bytes) -> TxHash:
        """Broadcast signed bytes, batched with the other sends of this loop turn."""
        result: TxHash = await self._sends.put(raw)
        return result

    async def drain(self) -> None:
        """Wait for the flushes already under way."""
        await self._reads.drain()
        await self._sends.drain()
