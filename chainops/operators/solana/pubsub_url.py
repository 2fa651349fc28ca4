"""The PubSub websocket URL a Solana client derives from an RPC URL."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["default_ws_url"]


def default_ws_url(rpc_url: str) -> str:
    """The PubSub URL clients derive from an RPC URL: ws(s), and port + 1 if one is given."""
    parts = urlsplit(rpc_url)
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
    netloc = parts.netloc
    if parts.port is not None:
        host = netloc.rsplit(":", 1)[0]
        netloc = f"{host}:{parts.port + 1}"
    return urlunsplit((scheme, netloc, parts.path, parts.query, parts.fragment))
