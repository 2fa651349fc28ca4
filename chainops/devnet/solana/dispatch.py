"""What every group of RPC methods shares: the handler shape, the chain, the context wrapper."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

from chainops.devnet.solana.localchain import LocalChain

__all__ = ["API_VERSION", "Handler", "MethodGroup", "with_context"]

API_VERSION = "2.2.0"

Handler = Callable[[list[Any]], Awaitable[Any]]


def with_context(slot: int, value: Any) -> dict[str, Any]:
    """``{"context": {...}, "value": value}`` as of ``slot``."""
    return {"context": {"slot": slot, "apiVersion": API_VERSION}, "value": value}


class MethodGroup(ABC):
    """RPC methods over one :class:`LocalChain`; ``handlers()`` names them."""

    def __init__(self, chain: LocalChain) -> None:
        self.chain = chain

    @abstractmethod
    def handlers(self) -> dict[str, Handler]:
        """The JSON-RPC method names this group answers, with their handlers."""
