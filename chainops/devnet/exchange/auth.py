"""Signed-request checks: HMAC-SHA256 of the exact parameters, timestamp and recvWindow."""

from __future__ import annotations

import hashlib
import hmac

from chainops.devnet.exchange import errors
from chainops.devnet.exchange.accounts import Account

__all__ = ["sign", "verify"]

MAX_RECV_WINDOW = 60_000
DEFAULT_RECV_WINDOW = 5_000
AHEAD_TOLERANCE_MS = 1_000  # Binance refuses requests stamped more than 1 s in its future


def sign(secret: str, payload: str) -> str:
    """Hex HMAC-SHA256 of ``payload`` (the query string, the body, or both concatenated)."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def split_signature(payload: str) -> tuple[str, str | None]:
    """``payload`` without its trailing ``signature=`` parameter, and that signature."""
    head, sep, sig = payload.rpartition("signature=")
    if not sep or "&" in sig:
        return payload, None
    return head[:-1] if head.endswith("&") else head, sig


def verify(
    accounts: dict[str, Account],
    api_key: str | None,
    payload: str,
    params: dict[str, str],
    server_ms: int,
) -> Account:
    """The account of a correctly signed, timely request; an ApiError otherwise."""
    if not api_key:
        raise errors.bad_key_format()
    account = accounts.get(api_key)
    if account is None:
        raise errors.bad_key()
    signed, signature = split_signature(payload)
    if signature is None:
        raise errors.mandatory("signature")
    if not hmac.compare_digest(sign(account.secret, signed), signature):
        raise errors.bad_signature()
    stamp = params.get("timestamp")
    if stamp is None or not stamp.isdigit():
        raise errors.mandatory("timestamp")
    window_text = params.get("recvWindow", str(DEFAULT_RECV_WINDOW))
    if not window_text.isdigit():
        raise errors.illegal("recvWindow")
    window = int(window_text)
    if window > MAX_RECV_WINDOW:
        raise errors.recv_window_too_big()
    ts = int(stamp)
    if ts > server_ms + AHEAD_TOLERANCE_MS or server_ms - ts > window:
        raise errors.bad_timestamp()
    return account
