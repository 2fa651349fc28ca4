"""Message queues between processes: typed messages, publishers, actors, backends.

The asyncio transport is the embedded default; Redis Streams and NATS JetStream
carry messages between processes and hosts (``pip install chainops[queues]``).
"""

from chainops.queues.actor import Actor, Handler, Publisher, SeenIds, SeenStore
from chainops.queues.connect import open_configured_transport, open_transport
from chainops.queues.errors import (
    MalformedMessage,
    QueueError,
    QueueUnavailable,
    UnsupportedQueueUrl,
)
from chainops.queues.memory import MemoryTransport
from chainops.queues.message import Message, MessageCodec, new_message_id
from chainops.queues.transport import DeadLetter, Delivery, StreamConsumer, Transport

__all__ = [
    "Actor",
    "DeadLetter",
    "Delivery",
    "Handler",
    "MalformedMessage",
    "MemoryTransport",
    "Message",
    "MessageCodec",
    "Publisher",
    "QueueError",
    "QueueUnavailable",
    "SeenIds",
    "SeenStore",
    "StreamConsumer",
    "Transport",
    "UnsupportedQueueUrl",
    "new_message_id",
    "open_configured_transport",
    "open_transport",
]
