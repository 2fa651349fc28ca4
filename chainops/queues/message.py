"""Typed messages and their binary codec.

Every message is a tagged ``msgspec.Struct`` carrying an ``id``; the id is
what makes redelivery harmless: a consumer acts once per id. The codec knows
a closed set of message types; anything else is malformed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any, Generic, TypeVar, Union

import msgspec

from chainops.queues.errors import MalformedMessage

__all__ = ["Message", "MessageCodec", "new_message_id"]


def new_message_id() -> str:
    """A fresh, globally unique message id."""
    return uuid.uuid4().hex


class Message(msgspec.Struct, tag=True, kw_only=True, frozen=True):
    """Base of every queued message; subclasses are tagged with their class name."""

    id: str = msgspec.field(default_factory=new_message_id)
    sent_at_ns: int = msgspec.field(default_factory=time.time_ns)


M = TypeVar("M", bound=Message)


class MessageCodec(Generic[M]):
    """Encodes any message and decodes exactly the given message types."""

    def __init__(self, types: Iterable[type[M]]) -> None:
        self.types = tuple(types)
        if not self.types:
            raise ValueError("a codec needs at least one message type")
        union: Any = Union[self.types]  # noqa: UP007 - a runtime union of a tuple of types
        self._decoder: msgspec.msgpack.Decoder[Any] = msgspec.msgpack.Decoder(union)
        self._encoder = msgspec.msgpack.Encoder()

    def encode(self, message: Message) -> bytes:
        return self._encoder.encode(message)

    def decode(self, data: bytes) -> M:
        """The message in ``data``; :class:`MalformedMessage` saying why when it is not one."""
        try:
            decoded: M = self._decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise MalformedMessage(f"malformed or unknown message: {exc}") from exc
        return decoded
