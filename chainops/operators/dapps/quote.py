"""The quote record behind every trade: what was expected, when, and the limits derived."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from chainops.core.assets import Token
from chainops.core.errors import ValidationError
from chainops.core.order import QuoteValue
from chainops.operators.dapps.slippage import Bps

# 10 minutes: long enough for a busy mempool, short enough that a stuck transaction
# cannot execute hours later at a stale price (the "infinite deadline" incidents).
DEFAULT_DEADLINE_SECONDS = 600


class TradeKind(StrEnum):
    EXACT_IN = "exact_in"
    EXACT_OUT = "exact_out"


@dataclass(frozen=True)
class Quote:
    """A priced trade at ``block``: raw amounts on the wire, Decimal views for people.

    ``limit`` is the minimum output (exact in) or maximum input (exact out).
    ``mid_price`` and ``execution_price`` are output per input in human units;
    ``price_impact`` is the fraction by which execution is worse than mid (fees included).
    """

    dex: str
    kind: TradeKind
    path: tuple[Token, ...]
    fees: tuple[int, ...]  # per hop: V3 fee tier, or 3000 for V2
    block: int
    amount_in: int
    amount_out: int
    limit: int
    slippage: Bps
    deadline: int  # unix seconds (chain time)
    mid_price: Decimal
    native_in: bool = False
    native_out: bool = False
    fee_on_transfer: bool = False
    pools: tuple[str, ...] = ()  # pool per hop, when known (matches Swap logs to hops)
    protocols: tuple[str, ...] = ()  # "v2"/"v3" per hop of a route mixing both
    native: str = "ETH"  # the chain's coin, as native_in/native_out name it (BNB, POL, ...)

    def __post_init__(self) -> None:
        if len(self.path) < 2 or len(self.fees) != len(self.path) - 1:
            raise ValidationError("a quote needs a path of at least two tokens and a fee per hop")

    @property
    def token_in(self) -> Token:
        return self.path[0]

    @property
    def token_out(self) -> Token:
        return self.path[-1]

    @property
    def min_out(self) -> int:
        return self.limit if self.kind is TradeKind.EXACT_IN else self.amount_out

    @property
    def max_in(self) -> int:
        return self.limit if self.kind is TradeKind.EXACT_OUT else self.amount_in

    @property
    def execution_price(self) -> Decimal:
        return self.token_out.from_raw(self.amount_out) / self.token_in.from_raw(self.amount_in)

    @property
    def price_impact(self) -> Decimal:
        if not self.mid_price:
            return Decimal(0)
        return max(Decimal(0), 1 - self.execution_price / self.mid_price)

    @property
    def symbols(self) -> tuple[str, ...]:
        head = self.native if self.native_in else self.path[0].symbol
        tail = self.native if self.native_out else self.path[-1].symbol
        return (head, *(t.symbol for t in self.path[1:-1]), tail)

    def record(self) -> dict[str, QuoteValue]:
        """The flat form kept on the Order (``order.quote``) and printed by the CLI."""
        return {
            "dex": self.dex,
            "kind": self.kind.value,
            "path": "->".join(self.symbols),
            "fees": ",".join(str(f) for f in self.fees),
            "block": self.block,
            "amount_in": self.token_in.from_raw(self.amount_in),
            "amount_out": self.token_out.from_raw(self.amount_out),
            "min_out": self.token_out.from_raw(self.min_out),
            "max_in": self.token_in.from_raw(self.max_in),
            "mid_price": self.mid_price,
            "execution_price": self.execution_price,
            "price_impact": self.price_impact,
            "slippage_bps": self.slippage.value,
            "deadline": self.deadline,
        }


def check_quote(value: object, dex: str) -> Quote:
    """``value`` as a Quote made by ``dex`` (a quote from another DApp is refused)."""
    if not isinstance(value, Quote):
        raise ValidationError(
            f"expected a Quote from quote_exact_in/out, not {type(value).__name__} {value!r}"
        )
    if value.dex != dex:
        raise ValidationError(f"a {value.dex} quote cannot be sent through {dex}")
    return value
