"""Signed-request checks: the signature of the exact parameters, timestamp and recvWindow."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from urllib.parse import unquote_plus

from chainops.devnet.exchange import errors
from chainops.devnet.exchange import params as params_mod
from chainops.devnet.exchange.accounts import Account
from chainops.devnet.exchange.signatures import hmac_sign, valid_signature

__all__ = ["check_timestamp", "sign", "verify"]

MAX_RECV_WINDOW = 60_000
DEFAULT_RECV_WINDOW = 5_000
AHEAD_TOLERANCE_MS = 1_000  # Binance refuses requests stamped more than 1 s in its future


def sign(secret: str, payload: str) -> str:
    """Hex HMAC-SHA256 of ``payload`` (the query string, the body, or both concatenated)."""
    return hmac_sign(secret, payload)


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
    *,
    encoded: bool = True,
) -> Account:
    """The account of a correctly signed, timely request; an ApiError otherwise.

    ``encoded``: the payload is a query string or form body as sent (REST), so an
    RSA or Ed25519 signature in it is percent-encoded; the WebSocket API's is not.
    """
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
    if not valid_signature(
        account.key_type, account.verifying_key, forms, signature, encoded=encoded
    ):
        raise errors.bad_signature()
    check_timestamp(params, server_ms)
    return account


def check_timestamp(params: Mapping[str, str], server_ms: int) -> None:
    """A signed request's ``timestamp`` within its ``recvWindow``; an ApiError otherwise."""
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
