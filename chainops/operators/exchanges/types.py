"""Plain values the exchange layer hands around: balances, fees, venue views of orders."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from chainops.core.ids import TradingPair
from chainops.core.order import OrderSide, OrderType, OrderUpdate, TimeInForce
from chainops.operators.base import OperatorConfiguration

__all__ = [
    "Balance",
    "ConnectionState",
    "ExchangeConfiguration",
    "PublicTrade",
    "TradingFees",
    "VenueOrder",
]


@dataclass(frozen=True)
class Balance:
    """Free and locked (in open orders) amounts of one asset."""

    asset: str
    free: Decimal
    locked: Decimal

    @property
    def total(self) -> Decimal:
        return self.free + self.locked


@dataclass(frozen=True)
class ConnectionState:
    """One long-lived connection to a venue (a stream, the WebSocket API), as seen now."""

    connected: bool
    connects: int  # times it was opened: 1, plus one per reconnection


@dataclass(frozen=True, kw_only=True)
class PublicTrade:
    """A trade on the venue's public tape."""

    trading_pair: TradingPair
    trade_id: str
    price: Decimal
    amount: Decimal
    buyer_is_maker: bool
    timestamp: datetime


@dataclass(frozen=True)
class TradingFees:
    """Fee rates as fractions (0.001 = 0.1%)."""

    maker: Decimal
    taker: Decimal


@dataclass(frozen=True, kw_only=True)
class VenueOrder:
    """One order as the venue reports it."""

    client_id: str
    trading_pair: TradingPair
    side: OrderSide
    order_type: OrderType
    amount: Decimal
    price: Decimal | None
    time_in_force: TimeInForce
    executed: Decimal
    update: OrderUpdate
    stop_price: Decimal | None = None


class ExchangeConfiguration(OperatorConfiguration):
    """Settings of an exchange account: an API key with its HMAC ``api_secret``, or with the
    ``private_key`` of an Ed25519 or RSA key (PEM text or a file path)."""

    api_key: str = Field(min_length=1)
    api_secret: SecretStr | None = Field(default=None, description="HMAC secret key")
    private_key: SecretStr | None = Field(
        default=None, description="Ed25519 or RSA private key: PEM text or the path of a PEM file"
    )
    private_key_passphrase: SecretStr | None = Field(
        default=None, description="the passphrase of an encrypted private_key"
    )
    stream_url: str | None = Field(default=None, description="market streams base (ws://)")
    ws_api_url: str | None = Field(default=None, description="WebSocket API URL (ws://)")
    # the venue's default; a request older than this is refused, which bounds lost-order searches
    recv_window_ms: int = Field(default=5000, gt=0, le=60000)
    client_id_prefix: str = Field(default="co", max_length=19)
    user_stream: bool = True
    # orders over the WebSocket API when the venue has one (lower latency), REST otherwise
    order_entry: Literal["websocket", "rest"] = "websocket"
    reconcile_backoff: float = Field(default=0.2, gt=0, description="first retry delay, seconds")

    @field_validator("private_key", mode="before")
    @classmethod
    def _key_path(cls, value: Any) -> Any:
        # a Path names the PEM file; it is kept as text like a path given as str
        return os.fspath(value) if isinstance(value, os.PathLike) else value
