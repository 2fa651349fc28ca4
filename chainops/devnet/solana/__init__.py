"""The local Solana cluster: LiteSVM with slots and commitment, its in-process transport,
and a JSON-RPC + PubSub server in front of it for any client.

Needs the ``solana`` extra; without it, importing this package raises
ModuleNotFoundError whose message names the extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

try:
    from chainops.devnet.solana.litesvm_transport import LiteSvmTransport
    from chainops.devnet.solana.localchain import LocalChain
except ModuleNotFoundError as exc:  # without the extra: one line naming it
    from chainops.extras import missing_module

    raise missing_module(exc, "solana", "solders", "solana", feature=__name__) from None

if TYPE_CHECKING:
    from chainops.devnet.solana.server import SolanaRpcServer

__all__ = ["LiteSvmTransport", "LocalChain", "SolanaRpcServer"]


def __getattr__(name: str) -> Any:
    # The server needs aiohttp; the in-process chain and transport do not.
    if name == "SolanaRpcServer":
        from chainops.devnet.solana.server import SolanaRpcServer

        return SolanaRpcServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
