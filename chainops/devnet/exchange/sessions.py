"""WebSocket API session authentication: session.logon, session.status, session.logout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chainops.devnet.exchange import errors
from chainops.devnet.exchange.accounts import Account
from chainops.devnet.exchange.signatures import ED25519

__all__ = ["SESSION_METHODS", "Session"]

SESSION_METHODS = frozenset({"session.logon", "session.status", "session.logout"})


@dataclass
class Session:
    """Which API key, if any, authorizes a connection's requests that carry no signature."""

    connected_since: int = 0
    api_key: str | None = None
    authorized_since: int | None = None

    def logon(self, account: Account, now: int) -> None:
        """Authenticate as ``account`` (replacing any earlier key); only Ed25519 keys may."""
        if account.key_type != ED25519:
            raise errors.logon_key_type(account.key_type)
        self.api_key, self.authorized_since = account.api_key, now

    def logout(self) -> None:
        self.api_key = self.authorized_since = None

    def status(self, now: int, *, rate_limits: bool, user_stream: bool) -> dict[str, Any]:
        """The reply of all three methods (``apiKey`` and ``authorizedSince`` null when
        not logged on)."""
        return {
            "apiKey": self.api_key,
            "authorizedSince": self.authorized_since,
            "connectedSince": self.connected_since,
            "returnRateLimits": rate_limits,
            "serverTime": now,
            "userDataStream": user_stream,
        }
