"""What every group of RPC methods shares: the handler shape, the chain, the context wrapper
and the ``minContextSlot`` floor."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

from chainops.devnet.solana import params
from chainops.devnet.solana.clock import Commitment
from chainops.devnet.solana.faults import min_context_slot_not_reached
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

    def read_level(self, cfg: dict[str, Any]) -> Commitment:
        """The commitment ``cfg`` reads at, once its slot is at least ``minContextSlot``.

        A node answers -32016 rather than serve a view older than the caller has seen.
        """
        level = params.commitment(cfg)
        floor = params.min_context_slot(cfg)
        if floor is not None:
            slot = self.chain.slot_at(level)
            if slot < floor:
                raise min_context_slot_not_reached(slot)
        return level

    @abstractmethod
    def handlers(self) -> dict[str, Handler]:
        """The JSON-RPC method names this group answers, with their handlers."""
