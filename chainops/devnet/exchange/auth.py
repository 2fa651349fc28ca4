"""Signed-request checks: HMAC-SHA256 of the exact parameters, timestamp and recvWindow."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from decimal import Decimal
from urllib.parse import unquote_plus

from chainops.devnet.exchange import errors
from chainops.devnet.exchange import params as params_mod
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
    params: Mapping[str, str],
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
    # the payload as sent (percent-encoded) or decoded: clients sign either form
    forms = {signed, unquote_plus(signed, errors="replace")}
    if not any(hmac.compare_digest(sign(account.secret, f), signature) for f in forms):
        raise errors.bad_signature()
    try:
        ts = params_mod.integer(params, "timestamp", required=True)
    except errors.ApiError:
        raise errors.mandatory("timestamp") from None
    sent = params_mod.recv_window(params)
    window = Decimal(DEFAULT_RECV_WINDOW) if sent is None else sent
    if window > MAX_RECV_WINDOW:
        raise errors.recv_window_too_big()
    assert ts is not None
    if ts > server_ms + AHEAD_TOLERANCE_MS:
        raise errors.timestamp_ahead()
    if server_ms - ts > window:
        raise errors.bad_timestamp()
    return account
