"""NATS JetStream: a stream per name, durable pull consumers, explicit acks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlsplit

from chainops.extras import missing_module
from chainops.queues.errors import QueueError, QueueUnavailable, typed_errors
from chainops.queues.transport import DeadLetter, Delivery, StreamConsumer, Transport, redacted

try:
    from nats.aio.client import Client
    from nats.errors import ConnectionClosedError, NoServersError, OutboundBufferLimitError
    from nats.errors import Error as NatsError
    from nats.errors import TimeoutError as NatsTimeoutError
    from nats.js import JetStreamContext
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
    from nats.js.errors import BadRequestError, NoStreamResponseError, NotFoundError
except ModuleNotFoundError as exc:  # without the extra: one line naming it
    raise missing_module(exc, "queues", "nats", feature="the NATS JetStream transport") from None

__all__ = ["NatsTransport"]

log = logging.getLogger(__name__)

_DEAD = ".dead"
_DOWN = (NatsTimeoutError, TimeoutError, ConnectionClosedError, NoServersError, OSError)
_NO_STREAM_TRIES = 40  # 2 s of 50 ms waits for a stream another process is creating


def _stream_name(subject: str) -> str:
    """The JetStream stream of ``subject`` (a name ``check_stream`` accepted): one per subject.

    Stream names may not hold a '.'. A subject without '_' keeps the name it always
    had, each '.' made '_' (``ops.cmd`` is ``ops_cmd``); one with a '_' is written
    ``_`` followed by the subject with ``_`` as ``__`` and ``.`` as ``_-``, so that
    ``a_b`` (``_a__b``) and ``a.b`` (``a_b``) never share a stream. At most
    1 + 2 x 100 characters, within JetStream's 255.
    """
    if "_" not in subject:
        return subject.replace(".", "_")
    return "_" + subject.replace("_", "__").replace(".", "_-")


def _legacy_name(subject: str) -> str:
    """The name earlier versions gave the stream of ``subject`` (not one per subject)."""
    return subject.replace(".", "_")


def _typed(where: str) -> contextlib.AbstractContextManager[None]:
    """NATS errors as ours: a server gone is QueueUnavailable, a refusal QueueError."""
    return typed_errors(f"NATS {where}", _DOWN, NatsError)


class NatsTransport(Transport):
    """Subjects ``<name>`` and ``<name>.dead`` in one JetStream stream per name."""

    def __init__(self, nc: Client, url: str, *, timeout: float = 3.0) -> None:
        """``timeout``: how long each request waits for the server (also for publish acks)."""
        self._nc, self.url = nc, redacted(url)
        self._js: JetStreamContext = nc.jetstream(timeout=timeout)
        self._streams: dict[str, str] = {}  # subject -> the JetStream stream known to carry it
        self._ack_timeout = timeout

    @classmethod
    async def connect(cls, url: str, *, timeout: float = 3.0) -> NatsTransport:
        """Connect; :class:`QueueUnavailable` when no NATS server answers within ``timeout``.

        Afterwards each request to the server waits up to ``timeout`` too (a stream's
        first use looks it up, and may create it, before the operation's own request),
        so an operation on a server that went away fails within a few ``timeout``.
        """
        parts = urlsplit(url)
        shown = redacted(url)
        errors: list[str] = []

        async def on_error(exc: Exception) -> None:
            # One line per distinct error (nats-py's own handler logs a traceback per retry).
            text = str(exc) or type(exc).__name__
            if not errors or errors[-1] != text:
                log.warning("NATS at %s: %s", shown, text)
            errors.append(text)
            del errors[:-1]

        nc = Client()
        try:
            # nats-py retries a first connection as long as a lost one; probe once instead.
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(parts.hostname or "127.0.0.1", parts.port or 4222), timeout
            )
            writer.close()
            # Bounded: a listener that is no NATS server, or refuses us, is retried for ever.
            await asyncio.wait_for(
                nc.connect(
                    url,
                    connect_timeout=math.ceil(timeout),  # whole seconds; bounded below
                    # A server restarted mid-run is waited for, not given up on.
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,  # type: ignore[arg-type]  # seconds, a float
                    error_cb=on_error,
                ),
                timeout,
            )
        except (NoServersError, OSError, NatsTimeoutError, TimeoutError) as exc:
            with contextlib.suppress(Exception):
                await nc.close()
            reason = errors[-1] if errors else str(exc) or f"no answer in {timeout:g} s"
            raise QueueUnavailable(f"NATS at {shown} did not answer: {reason}") from exc
        return cls(nc, url, timeout=timeout)

    async def _ensure(self, subject: str) -> str:
        name = self._streams.get(subject)
        if name is None:
            name = _stream_name(subject)
            try:
                await self._js.stream_info(name)
            except NotFoundError:
                legacy = await self._legacy(subject)
                if legacy is None:
                    await self._create(name, subject)
                else:
                    name = legacy
            self._streams[subject] = name
        return name

    async def _legacy(self, subject: str) -> str | None:
        """The stream an earlier version made for ``subject`` under another name, if any."""
        name = _legacy_name(subject)
        if name == _stream_name(subject):
            return None
        try:
            info = await self._js.stream_info(name)
        except NotFoundError:
            return None
        return name if subject in (info.config.subjects or ()) else None

    async def _create(self, name: str, subject: str) -> None:
        try:
            await self._js.add_stream(name=name, subjects=[subject, subject + _DEAD])
        except BadRequestError as exc:
            # Another process may have created it between our look and our add: the
            # server then answers "subjects overlap" (10065) or "name in use" (10058).
            try:
                await self._js.stream_info(name)
            except NotFoundError:
                raise QueueError(f"NATS at {self.url} refused stream {name}: {exc}") from exc

    async def _acked(self, stream: str, send: Callable[[], Awaitable[object]]) -> None:
        """Runs ``send`` until the server acks; Nats-Msg-Id makes a repeat harmless."""
        for attempt in range(_NO_STREAM_TRIES):
            try:
                await self._ensure(stream)
                await send()
                return
            except NoStreamResponseError as exc:
                # No stream listens yet: another process is still creating it, or it was
                # deleted (the next _ensure creates it again).
                self._streams.pop(stream, None)
                if attempt == _NO_STREAM_TRIES - 1:
                    raise QueueUnavailable(f"NATS at {self.url}: no stream took {stream}") from exc
                await asyncio.sleep(0.05)
            except _DOWN as exc:
                raise QueueUnavailable(
                    f"NATS at {self.url}: {str(exc) or 'no answer in time'}"
                ) from exc
            except NatsError as exc:
                raise QueueError(f"NATS at {self.url}, stream {stream}: {exc}") from exc

    async def _publish(self, stream: str, message_id: str, data: bytes) -> None:
        # Nats-Msg-Id: the server drops a republished duplicate inside its window.
        headers = {"Nats-Msg-Id": message_id, "id": message_id}
        await self._acked(stream, lambda: self._js.publish(stream, data, headers=headers))

    async def _publish_many(self, stream: str, items: Sequence[tuple[str, bytes]]) -> None:
        """Sent in order without waiting in between; then every server ack is awaited."""

        async def send() -> None:
            acks = [
                await self._js.publish_async(stream, data, headers={"Nats-Msg-Id": mid, "id": mid})
                for mid, data in items
            ]
            await asyncio.wait_for(asyncio.gather(*acks), self._ack_timeout)

        await self._acked(stream, send)

    async def _consumer(
        self, stream: str, group: str, name: str, claim_after: float
    ) -> StreamConsumer:
        with _typed(f"at {self.url}, stream {stream}"):
            return await self._subscribe(stream, group, claim_after)

    async def _subscribe(self, stream: str, group: str, claim_after: float) -> StreamConsumer:
        sname = await self._ensure(stream)
        config = ConsumerConfig(
            durable_name=group,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=claim_after,
            filter_subject=stream,
        )
        sub = await self._js.pull_subscribe(stream, durable=group, stream=sname, config=config)
        return _NatsConsumer(sub)

    async def _dead_letter(self, stream: str, message_id: str, data: bytes, reason: str) -> None:
        headers = {"id": message_id, "reason": reason, "Nats-Msg-Id": "dead-" + message_id}
        await self._acked(stream, lambda: self._js.publish(stream + _DEAD, data, headers=headers))

    async def _dead_letters(self, stream: str) -> list[DeadLetter]:
        with _typed(f"at {self.url}, stream {stream}"):
            return await self._read_dead_letters(stream)

    async def _read_dead_letters(self, stream: str) -> list[DeadLetter]:
        sname = await self._ensure(stream)
        info = await self._js.stream_info(sname)
        out: list[DeadLetter] = []
        if not info.state.messages:
            return out  # an empty stream's sequence 0 is no message: get_msg refuses it
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                raw = await self._js.get_msg(sname, seq)
            except NotFoundError:
                continue
            if raw.subject == stream + _DEAD:
                h = raw.headers or {}
                out.append(DeadLetter(h.get("id", ""), raw.data or b"", h.get("reason", "")))
        return out

    async def _delete_stream(self, stream: str) -> bool:
        """Delete the JetStream stream that carries ``stream`` (and its dead letters).

        A stream of that name that carries other subjects is not this one, and is
        left alone; one an earlier version named otherwise (see ``_stream_name``) is
        deleted too.
        """
        self._streams.pop(stream, None)
        deleted = False
        with _typed(f"at {self.url}, stream {stream}"):
            for name in dict.fromkeys((_stream_name(stream), _legacy_name(stream))):
                try:
                    info = await self._js.stream_info(name)
                    if stream in (info.config.subjects or ()):
                        deleted = bool(await self._js.delete_stream(name)) or deleted
                except NotFoundError:
                    continue  # never created, or deleted meanwhile
        return deleted

    async def close(self) -> None:
        """Drain and close; a connection that is down (or closed already) is just closed."""
        try:
            await self._nc.drain()
        except (NatsError, OSError):
            with contextlib.suppress(NatsError, OSError):
                await self._nc.close()


class _NatsConsumer(StreamConsumer):
    def __init__(self, sub: JetStreamContext.PullSubscription) -> None:
        self._sub = sub

    async def _fetch(self, max_messages: int, timeout: float) -> list[Delivery]:
        try:
            msgs = await self._sub.fetch(max_messages, timeout=timeout)
        except (NatsTimeoutError, TimeoutError):  # nothing arrived in time
            return []
        out = []
        for m in msgs:
            meta = m.metadata
            mid = (m.headers or {}).get("id", "")
            out.append(Delivery(mid, m.data, meta.num_delivered, m.ack))
        return out

    async def ack_many(self, deliveries: list[Delivery]) -> None:
        """Each ack is a fire-and-forget publish; a closed connection is QueueUnavailable."""
        try:
            for delivery in deliveries:
                await delivery.ack()
        except (ConnectionClosedError, OutboundBufferLimitError) as exc:
            raise QueueUnavailable(f"NATS ack: {exc}") from exc

    async def close(self) -> None:
        await self._sub.unsubscribe()
