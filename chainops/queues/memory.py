"""The embedded default: streams and consumer groups in one process's memory."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from chainops.queues.transport import DeadLetter, Delivery, StreamConsumer, Transport

__all__ = ["MemoryTransport"]


@dataclass
class _Pending:
    index: int
    owner: str
    since: float
    deliveries: int


@dataclass
class _Group:
    next_index: int = 0
    pending: dict[int, _Pending] = field(default_factory=dict)


@dataclass
class _Stream:
    entries: list[tuple[str, bytes]] = field(default_factory=list)
    groups: dict[str, _Group] = field(default_factory=dict)
    dead: list[DeadLetter] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class MemoryTransport(Transport):
    """Redis-Streams-like semantics over asyncio: same acks, same redelivery rules."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._streams: dict[str, _Stream] = {}

    def _stream(self, name: str) -> _Stream:
        return self._streams.setdefault(name, _Stream())

    async def _publish(self, stream: str, message_id: str, data: bytes) -> None:
        s = self._stream(stream)
        s.entries.append((message_id, data))
        s.changed.set()

    async def _consumer(
        self, stream: str, group: str, name: str, claim_after: float
    ) -> StreamConsumer:
        s = self._stream(stream)
        return _MemoryConsumer(s, s.groups.setdefault(group, _Group()), name, claim_after)

    async def _dead_letter(self, stream: str, message_id: str, data: bytes, reason: str) -> None:
        self._stream(stream).dead.append(DeadLetter(message_id, data, reason))

    async def _dead_letters(self, stream: str) -> list[DeadLetter]:
        return list(self._stream(stream).dead)

    async def _delete_stream(self, stream: str) -> bool:
        removed = self._streams.pop(stream, None)
        if removed is None:
            return False
        for group in removed.groups.values():  # an open consumer is handed nothing more
            group.pending.clear()
            group.next_index = len(removed.entries)
        removed.dead.clear()
        removed.changed.set()
        return True

    async def close(self) -> None:
        self._streams.clear()


class _MemoryConsumer(StreamConsumer):
    def __init__(self, stream: _Stream, group: _Group, name: str, claim_after: float) -> None:
        self._s, self._g, self._name, self._claim_after = stream, group, name, claim_after

    def _deliver(self, p: _Pending) -> Delivery:
        message_id, data = self._s.entries[p.index]

        async def ack() -> None:
            self._g.pending.pop(p.index, None)

        return Delivery(message_id, data, p.deliveries, ack)

    def _take(self, max_messages: int) -> list[Delivery]:
        now = time.monotonic()
        out: list[Delivery] = []
        for p in list(self._g.pending.values()):
            if len(out) >= max_messages:
                return out
            if now - p.since >= self._claim_after:
                p.owner, p.since, p.deliveries = self._name, now, p.deliveries + 1
                out.append(self._deliver(p))
        while len(out) < max_messages and self._g.next_index < len(self._s.entries):
            p = _Pending(self._g.next_index, self._name, now, 1)
            self._g.pending[p.index] = p
            self._g.next_index += 1
            out.append(self._deliver(p))
        return out

    async def _fetch(self, max_messages: int, timeout: float) -> list[Delivery]:
        out = self._take(max_messages)
        if out:
            return out
        self._s.changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._s.changed.wait(), timeout)
        return self._take(max_messages)
