"""The local Solana cluster: LiteSVM with slots and commitment, its in-process transport,
and a JSON-RPC + PubSub server in front of it for any client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chainops.devnet.solana.litesvm_transport import LiteSvmTransport
from chainops.devnet.solana.localchain import LocalChain

if TYPE_CHECKING:
    from chainops.devnet.solana.server import SolanaRpcServer

__all__ = ["LiteSvmTransport", "LocalChain", "SolanaRpcServer"]


def __getattr__(name: str) -> Any:
    # The server needs aiohttp; the in-process chain and transport do not.
    if name == "SolanaRpcServer":
        from chainops.devnet.solana.server import SolanaRpcServer

        return SolanaRpcServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
