"""Message queues between processes: typed messages, publishers, actors, backends.

The asyncio transport is the embedded default; Redis Streams and NATS JetStream
carry messages between processes and hosts (``pip install chainops[queues]``).
Operators are served over a queue by ``exchange_service.ExchangeService``,
``swap_service.SwapService`` and ``remote.OperatorService`` (EVM transactions);
``remote.OperatorClient`` drives them from a strategy.
"""

from chainops.queues.actor import Actor, Handler, Publisher, SeenIds, SeenStore
from chainops.queues.connect import open_configured_transport, open_transport
from chainops.queues.errors import (
    AmendRefused,
    InvalidQueueName,
    MalformedCommand,
    MalformedMessage,
    QueueError,
    QueueUnavailable,
    UnsupportedCommand,
    UnsupportedQueueUrl,
)
from chainops.queues.memory import MemoryTransport
from chainops.queues.message import Message, MessageCodec, new_message_id
from chainops.queues.transport import DeadLetter, Delivery, StreamConsumer, Transport

__all__ = [
    "Actor",
    "AmendRefused",
    "DeadLetter",
    "Delivery",
    "Handler",
    "InvalidQueueName",
    "MalformedCommand",
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
    "UnsupportedCommand",
    "UnsupportedQueueUrl",
    "new_message_id",
    "open_configured_transport",
    "open_transport",
]
