"""Redis Streams: consumer groups, XACK, and XAUTOCLAIM of a dead consumer's pending entries."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from chainops.extras import missing_module
from chainops.operators.turnqueue import settle
from chainops.queues.errors import QueueError, QueueUnavailable, UnsupportedQueueUrl, typed_errors
from chainops.queues.transport import DeadLetter, Delivery, StreamConsumer, Transport, redacted

try:
    import redis.asyncio as aioredis
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import RedisError, ResponseError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ModuleNotFoundError as exc:  # without the extra: one line naming it
    raise missing_module(exc, "queues", "redis", feature="the Redis Streams transport") from None

__all__ = ["RedisTransport"]

_DEAD = ".dead"
_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


def _typed(where: str) -> contextlib.AbstractContextManager[None]:
    """Redis errors as ours: a server gone is QueueUnavailable, a refusal QueueError."""
    return typed_errors(f"Redis {where}", _DOWN, RedisError)


class RedisTransport(Transport):
    """A stream per name, ``<name>.dead`` for its dead letters.

    Each request waits up to ``timeout`` seconds for the server (a blocking read its
    own wait plus ``timeout``), then raises :class:`QueueUnavailable`. What timed out
    may still have been done: a publish may or may not have been written, so publish
    it again (delivery is at least once; the message id tells a repeat).
    """

    def __init__(self, client: aioredis.Redis, url: str, *, timeout: float = 3.0) -> None:
        self._r, self.url, self._timeout = client, redacted(url), timeout
        self._waiting: list[tuple[str, str, bytes, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, url: str, *, timeout: float = 3.0) -> RedisTransport:
        """Connect and check the server answers; :class:`QueueUnavailable` when it does not
        within ``timeout`` seconds (or is no Redis server), :class:`QueueError` when it refuses.

        Afterwards ``timeout`` bounds every request too (see :class:`RedisTransport`).
        """
        try:
            client: aioredis.Redis = aioredis.Redis.from_url(
                url, socket_connect_timeout=timeout, health_check_interval=10
            )
        except ValueError as exc:
            raise UnsupportedQueueUrl(f"malformed events URL {redacted(url)}: {exc}") from None
        try:
            async with asyncio.timeout(timeout):
                await client.ping()
        except (*_DOWN, TimeoutError) as exc:
            await client.aclose()
            reason = str(exc) or f"no answer in {timeout:g} s"
            raise QueueUnavailable(f"Redis at {redacted(url)} did not answer: {reason}") from exc
        except RedisError as exc:  # a refusal (e.g. no such database), or not a Redis server
            await client.aclose()
            raise QueueError(f"Redis at {redacted(url)}: {exc}") from exc
        return cls(client, url, timeout=timeout)

    async def _publish(self, stream: str, message_id: str, data: bytes) -> None:
        """Appended in call order; publishes made while a request is out share the next one.

        Returns once the server wrote the entry; :class:`QueueUnavailable` when the request
        got no answer within ``timeout`` (written or not: see :class:`RedisTransport`).
        A publish queued behind a request already out waits for that one first.
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((stream, message_id, data, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await future

    async def _flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            pipe = self._r.pipeline(transaction=False)
            for stream, message_id, data, _ in batch:
                pipe.xadd(stream, {"id": message_id, "data": data})
            try:
                async with asyncio.timeout(self._timeout):
                    results: list[Any] = await pipe.execute(raise_on_error=False)
            except TimeoutError:
                results = [
                    QueueUnavailable(
                        f"Redis at {self.url}, publish to stream {stream}: no answer in "
                        f"{self._timeout:g} s (it may or may not have been written)"
                    )
                    for stream, *_ in batch
                ]
            except _DOWN as exc:
                results = [QueueUnavailable(f"Redis at {self.url}: {exc}") for _ in batch]
            except Exception as exc:  # each caller gets it; the flusher goes on
                results = [exc] * len(batch)
            for (stream, *_, future), result in zip(batch, results, strict=True):
                if isinstance(result, RedisError):
                    result = QueueError(f"Redis at {self.url}, stream {stream}: {result}")
                settle(future, result if isinstance(result, BaseException) else None)

    async def _publish_many(self, stream: str, items: Sequence[tuple[str, bytes]]) -> None:
        """One pipelined round trip for the whole batch (in order, not a transaction).

        On :class:`QueueUnavailable` any part of the batch may have been written.
        """
        pipe = self._r.pipeline(transaction=False)
        for message_id, data in items:
            pipe.xadd(stream, {"id": message_id, "data": data})
        async with self._request(f"publish to stream {stream}"):
            await pipe.execute()

    # Not redis-py's socket_timeout: it bounds each socket read, so it would cut a blocking
    # read's own wait short, and redis-py retries a command that timed out.
    @contextlib.asynccontextmanager
    async def _request(self, operation: str, *, wait: float = 0.0) -> AsyncIterator[None]:
        """One request: Redis errors as ours, and :class:`QueueUnavailable` when no answer
        comes within the timeout (plus ``wait``, a blocking read's own); redis-py then drops
        the connection it went out on."""
        seconds = self._timeout + wait
        try:
            async with asyncio.timeout(seconds):
                with _typed(f"at {self.url}, {operation}"):
                    yield
        except TimeoutError as exc:
            raise QueueUnavailable(
                f"Redis at {self.url}, {operation}: no answer in {seconds:g} s"
            ) from exc

    async def _consumer(
        self, stream: str, group: str, name: str, claim_after: float
    ) -> StreamConsumer:
        async with self._request(f"create group {group} on stream {stream}"):
            try:
                # "0": a group created after the first publish still sees every message.
                await self._r.xgroup_create(stream, group, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        idle_ms = max(1, round(claim_after * 1000))
        return _RedisConsumer(self, stream, group, name, idle_ms)

    async def _dead_letter(self, stream: str, message_id: str, data: bytes, reason: str) -> None:
        async with self._request(f"dead letter to stream {stream}"):
            await self._r.xadd(stream + _DEAD, {"id": message_id, "data": data, "reason": reason})

    async def _dead_letters(self, stream: str) -> list[DeadLetter]:
        async with self._request(f"dead letters of stream {stream}"):
            rows: Any = await self._r.xrange(stream + _DEAD)
        return [DeadLetter(f[b"id"].decode(), f[b"data"], f[b"reason"].decode()) for _, f in rows]

    async def _delete_stream(self, stream: str) -> bool:
        """One DEL of the stream and its dead letters (its consumer groups go with it)."""
        async with self._request(f"delete stream {stream}"):
            removed: int = await self._r.delete(stream, stream + _DEAD)
        return removed > 0

    async def close(self) -> None:
        if self._flusher is not None:
            with contextlib.suppress(Exception):
                await self._flusher
        await self._r.aclose()


class _RedisConsumer(StreamConsumer):
    def __init__(self, t: RedisTransport, stream: str, group: str, name: str, idle_ms: int):
        self._t, self._r, self._stream, self._group = t, t._r, stream, group
        self._name, self._idle_ms = name, idle_ms
        # Reclaiming costs a round trip: look for a dead peer's entries a few times per
        # idle period, not before every read.
        self._claim_every = min(idle_ms / 4000, 1.0)
        self._next_claim = 0.0

    def _delivery(self, entry_id: bytes, fields: dict[bytes, bytes], count: int) -> Delivery:
        async def ack() -> None:
            await self.ack_many([delivery])

        delivery = Delivery(
            fields.get(b"id", b"").decode(), fields.get(b"data", b""), count, ack, entry_id
        )
        return delivery

    async def ack_many(self, deliveries: list[Delivery]) -> None:
        """One XACK for the whole batch."""
        async with self._t._request(f"ack on stream {self._stream}"):
            await self._r.xack(self._stream, self._group, *(d.receipt for d in deliveries))

    async def _fetch(self, max_messages: int, timeout: float) -> list[Delivery]:
        """Each request waits up to the transport's timeout, the blocking read ``timeout``
        more; unanswered, :class:`QueueUnavailable` (entries a read took without answering
        are handed out again after ``claim_after``)."""
        try:
            return await self._read(max_messages, timeout)
        except QueueError as exc:
            if not isinstance(exc.__cause__, ResponseError) or "NOGROUP" not in str(exc.__cause__):
                raise
        # The stream and its group are gone (a server restarted without persistence, or
        # the stream deleted): the group is made again and reading goes on.
        async with self._t._request(f"create group {self._group} on stream {self._stream}"):
            with contextlib.suppress(ResponseError):  # BUSYGROUP: another consumer was first
                await self._r.xgroup_create(self._stream, self._group, id="0", mkstream=True)
        return await self._read(max_messages, timeout)

    async def _read(self, max_messages: int, timeout: float) -> list[Delivery]:
        if time.monotonic() >= self._next_claim:
            async with self._t._request(f"fetch from stream {self._stream} (claiming)"):
                claimed: Any = await self._r.xautoclaim(
                    self._stream, self._group, self._name, self._idle_ms, "0-0", count=max_messages
                )
            out = [self._delivery(eid, f, 2) for eid, f in claimed[1] if f]
            if out:
                return out  # and claim again next time: more may be waiting
            self._next_claim = time.monotonic() + self._claim_every
        out = []
        async with self._t._request(f"fetch from stream {self._stream}", wait=timeout):
            reply: Any = await self._r.xreadgroup(
                self._group,
                self._name,
                {self._stream: ">"},
                count=max_messages,
                block=max(1, int(timeout * 1000)),
            )
        for _, entries in reply or []:
            out.extend(self._delivery(eid, f, 1) for eid, f in entries if f)
        return out
