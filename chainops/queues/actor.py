"""Typed publishers and actors on top of a transport.

An :class:`Actor` consumes one stream as a member of a group: it decodes each
delivery, sends what it cannot decode to the dead letters with the reason,
skips ids it has already acted on, calls its handler, then acknowledges (once
per fetched batch, in one request where the backend allows). A handler that
raises leaves the message pending, so it is delivered again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, Protocol

from chainops.queues.errors import MalformedMessage, QueueUnavailable
from chainops.queues.message import M, Message, MessageCodec
from chainops.queues.transport import (
    Delivery,
    StreamConsumer,
    Transport,
    check_consumer,
    check_group,
    check_seconds,
    check_stream,
)

__all__ = ["Actor", "Handler", "Publisher", "RetryLater", "SeenIds", "SeenStore"]

log = logging.getLogger(__name__)

Handler = Callable[[M], Awaitable[None]]
DeadHook = Callable[[Delivery, str], Awaitable[None]]


class RetryLater(Exception):
    """Raised by a handler to leave its message pending, to be delivered again later."""


class SeenStore(Protocol):
    """Which message ids were acted on (shared by the members of a group to be idempotent)."""

    async def seen(self, message_id: str) -> bool: ...

    async def mark(self, message_id: str) -> None: ...


class SeenIds:
    """In-memory, bounded: remembers the most recent ``capacity`` ids."""

    # Far more than any redelivery window holds, small enough to stay a few MB.
    def __init__(self, capacity: int = 100_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    async def seen(self, message_id: str) -> bool:
        return message_id in self._ids

    async def mark(self, message_id: str) -> None:
        self._ids[message_id] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)


class Publisher:
    """Encodes messages and appends them to one stream.

    A stream name the transports refuse (see ``transport.check_stream``) raises
    InvalidQueueName here, before anything is published.
    """

    def __init__(self, transport: Transport, stream: str, codec: MessageCodec[M]) -> None:
        self.transport, self.stream, self._codec = transport, check_stream(stream), codec

    async def publish(self, message: Message, *, check: bool = False) -> None:
        """Append ``message``; with ``check``, its bytes are first read back as a consumer
        will read them (MalformedMessage, nothing published, when they do not decode)."""
        data = self._codec.encode(message)
        if check:
            self._codec.decode(data)
        await self.transport.publish(self.stream, message.id, data)

    async def publish_many(self, messages: Iterable[Message]) -> None:
        """Publish in order, in as few requests as the backend allows."""
        encode = self._codec.encode
        await self.transport.publish_many(self.stream, [(m.id, encode(m)) for m in messages])


class Actor(Generic[M]):
    """A member of ``group`` on ``stream`` handing each new message to ``handler`` once."""

    def __init__(
        self,
        transport: Transport,
        stream: str,
        codec: MessageCodec[M],
        handler: Handler[M],
        *,
        group: str,
        name: str,
        seen: SeenStore | None = None,
        claim_after: float = 30.0,
        on_dead: DeadHook | None = None,
    ) -> None:
        """``on_dead(delivery, reason)`` runs after a message went to the dead letters.

        A stream, group or member name the transports refuse raises InvalidQueueName,
        and a ``claim_after`` that is not a positive number of seconds ValidationError, here.
        """
        self.transport, self.stream = transport, check_stream(stream)
        self.name = check_consumer(name)
        self.group = check_group(group)
        check_seconds(claim_after, "claim_after")
        self._codec, self._handler = codec, handler
        self.seen: SeenStore = seen if seen is not None else SeenIds()
        self._claim_after = claim_after
        self._on_dead = on_dead
        self.handled = 0
        self.dead = 0

    async def run(self, *, stop: asyncio.Event | None = None, poll: float = 0.5) -> None:
        """Consume until ``stop`` is set (or for ever)."""
        consumer = await self.transport.consumer(
            self.stream, self.group, self.name, claim_after=self._claim_after
        )
        try:
            while stop is None or not stop.is_set():
                try:
                    deliveries = await consumer.fetch(timeout=poll)
                except QueueUnavailable as exc:
                    # A restarting server: wait and read again; unacked messages stay pending.
                    log.warning("%s on %s: %s; retrying", self.name, self.stream, exc)
                    await asyncio.sleep(poll)
                    continue
                done: list[Delivery] = []
                try:
                    for delivery in deliveries:
                        if await self._one(delivery):
                            done.append(delivery)
                finally:
                    if done:
                        await self._ack(consumer, done)
        finally:
            await consumer.close()

    async def _ack(self, consumer: StreamConsumer, done: list[Delivery]) -> None:
        try:
            await consumer.ack_many(done)
        except QueueUnavailable as exc:  # unacked: redelivered later, and skipped as seen
            log.warning("%s could not ack %d on %s: %s", self.name, len(done), self.stream, exc)

    async def _one(self, delivery: Delivery) -> bool:
        """Act on one delivery; True when it is to be acknowledged."""
        try:
            message = self._codec.decode(delivery.data)
        except MalformedMessage as exc:
            log.warning("dead letter %s on %s: %s", delivery.message_id, self.stream, exc)
            try:
                await self.transport.dead_letter(
                    self.stream, delivery.message_id, delivery.data, str(exc)
                )
            except QueueUnavailable as down:  # left pending: dead-lettered on redelivery
                log.warning("%s could not dead-letter on %s: %s", self.name, self.stream, down)
                return False
            self.dead += 1
            if self._on_dead is not None:
                await self._on_dead(delivery, str(exc))
            return True
        if await self.seen.seen(message.id):
            return True
        try:
            await self._handler(message)
        except RetryLater as exc:
            log.info("%s left pending for redelivery: %s", message.id, exc)
            return False
        except Exception:
            log.exception("handler failed on %s; left pending for redelivery", message.id)
            return False
        await self.seen.mark(message.id)
        self.handled += 1
        return True
