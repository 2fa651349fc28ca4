"""The local Solana cluster: LiteSVM with slots and commitment, its in-process transport,
and a JSON-RPC + PubSub server in front of it for any client."""

from chainops.devnet.solana.litesvm_transport import LiteSvmTransport
from chainops.devnet.solana.localchain import LocalChain
from chainops.devnet.solana.server import SolanaRpcServer

__all__ = ["LiteSvmTransport", "LocalChain", "SolanaRpcServer"]
