"""Open the transport an events URL names: ``memory://``, ``redis://…`` or ``nats://…``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from chainops.extras import require_extra
from chainops.queues.errors import UnsupportedQueueUrl
from chainops.queues.memory import MemoryTransport
from chainops.queues.transport import Transport, check_seconds, redacted

__all__ = ["open_configured_transport", "open_transport"]


async def open_transport(url: str | None = None, *, timeout: float = 3.0) -> Transport:
    """The transport for ``url`` (the embedded asyncio one when ``url`` is empty).

    A Redis or NATS URL without the ``queues`` extra raises MissingExtra (a
    ConfigurationError) naming it; a URL that is not one, a bad port or a
    ``timeout`` that is not a positive number of seconds raise ValidationError
    before anything is contacted.
    """
    if url is not None and not isinstance(url, str):
        raise UnsupportedQueueUrl(f"an events URL is a string, got {type(url).__name__}")
    check_seconds(timeout, "timeout")
    try:
        parts = urlsplit(url or "")
        parts.port  # noqa: B018 - parsing it is the check
    except ValueError as exc:
        raise UnsupportedQueueUrl(f"malformed events URL {redacted(url or '')}: {exc}") from None
    scheme = parts.scheme if url else "memory"
    if scheme == "memory":
        return MemoryTransport(url or "memory://")
    if scheme in ("redis", "rediss", "unix"):
        require_extra("queues", "redis", feature=f"a {scheme}:// events URL")
        from chainops.queues.redis_streams import RedisTransport

        return await RedisTransport.connect(url or "", timeout=timeout)
    if scheme in ("nats", "tls"):
        if not parts.hostname:
            raise UnsupportedQueueUrl(f"events URL {redacted(url or '')} names no host")
        require_extra("queues", "nats", feature=f"a {scheme}:// events URL")
        from chainops.queues.nats_jetstream import NatsTransport

        return await NatsTransport.connect(url or "", timeout=timeout)
    raise UnsupportedQueueUrl(
        f"unsupported events URL {redacted(url or '')!r}: use memory://, redis:// or nats://"
    )


async def open_configured_transport(
    config: str | Path | None = None, *, timeout: float = 3.0
) -> Transport:
    """The transport the configuration names (``events`` in the file or ``CHAINOPS_EVENTS``)."""
    from chainops.config.settings import load_settings

    return await open_transport(load_settings(config).events, timeout=timeout)
