"""Coalesce concurrent JSON-RPC calls into batches: one HTTP request per event-loop turn.

A hundred coroutines each calling ``eth_estimateGas`` in the same moment cost
one request, not a hundred; the same for ``eth_sendRawTransaction``. A lone
call waits no longer than one loop iteration. Identical reads asked in the same
turn (a thousand sends each checking the sender's balance) share one entry of
the batch and its answer: they would read the same state anyway.
"""

from __future__ import annotations

import asyncio
from typing import Any

from chainops.core.errors import ChainopsError
from chainops.core.ids import TxHash
from chainops.operators.evm.rpc import JsonRpcClient
from chainops.operators.turnqueue import TurnQueue

# Large batches are fine on Anvil and geth; hosted providers cap batches near 1000.
MAX_BATCH = 500
# Reads of one turn are taken together (then sent in batches of max_batch), so that every
# caller resumes in the same turn: later steps (nonces, journal) then group as well.
_READS_PER_TURN = 20_000


class AutoBatcher:
    """Queues reads and raw sends and flushes each queue as one JSON-RPC batch."""

    def __init__(self, rpc: JsonRpcClient, *, max_batch: int = MAX_BATCH) -> None:
        self.rpc = rpc
        self.max_batch = max_batch
        self._reads = TurnQueue(self._read_batch, _READS_PER_TURN)
        self._sends = TurnQueue(rpc.send_raw_batch, max_batch)
        self.shared = 0  # reads answered by an identical one of the same batch

    async def call(self, method: str, params: list[Any]) -> Any:
        """One read, batched with whatever else is asked in the same loop turn."""
        return await self._reads.put((method, params))

    async def _read_batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Send each distinct read of the batch once; identical ones share its answer."""
        first: dict[tuple[Any, ...], int] = {}
        unique: list[tuple[str, list[Any]]] = []
        slots: list[int] = []
        for method, params in calls:
            key = _read_key(method, params)
            slot = first.get(key) if key is not None else None
            if slot is None:
                slot = len(unique)
                unique.append((method, params))
                if key is not None:
                    first[key] = slot
            slots.append(slot)
        self.shared += len(calls) - len(unique)
        answers: list[Any] = []
        for start in range(0, len(unique), self.max_batch):
            answers += await self.rpc.batch(unique[start : start + self.max_batch])
        return [answers[slot] for slot in slots]

    def call_soon(self, method: str, params: list[Any]) -> asyncio.Future[Any]:
        """:meth:`call`, queued now: the read joins this turn's batch before its caller
        awaits anything else."""
        return self._reads.put((method, params))

    async def call_many(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Several reads in the shared batch; failures come back as exception objects."""
        results = await self._reads.put_many(calls)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, ChainopsError):
                raise result  # a bug or a cancellation, not an answer from the node
        return list(results)

    async def send_raw(self, raw: bytes) -> TxHash:
        """Broadcast signed bytes, batched with the other sends of this loop turn."""
        result: TxHash = await self.send_raw_soon(raw)
        return result

    def send_raw_soon(self, raw: bytes) -> asyncio.Future[TxHash]:
        """Queue signed bytes for this turn's batch now; the future gives the hash.

        Queued at the call, not when a coroutine first runs: no loop turn is lost.
        """
        return self._sends.put(raw)

    async def drain(self) -> None:
        """Wait for the flushes already under way."""
        await self._reads.drain()
        await self._sends.drain()


def _read_key(method: str, params: list[Any]) -> tuple[Any, ...] | None:
    """A hashable identity of a read with plain parameters (None: never shared)."""
    for param in params:
        if not isinstance(param, str | int | bool | None):
            return None
    return (method, *params)
