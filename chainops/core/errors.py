"""The chainops error hierarchy.

Every error the toolkit raises on purpose is a :class:`ChainopsError`. The
subclasses say *what the caller should do*, not where the error came from:

==========================  ===========================================================
class                       meaning and the caller's usual action
==========================  ===========================================================
ValidationError             bad input, caught before anything was sent; fix the call
InvalidAmount               an amount that is negative, NaN, infinite or too precise
InvalidIdentifier           a malformed address, hash, pair or id
InvalidTransition           a state-machine transition that the table forbids (a bug)
ConfigurationError          missing tool, wrong chain id, unknown platform or operator
InsufficientFunds           the account cannot pay; top up, nothing was executed
NonceError                  nonce too low / gap / conflict; the allocator resyncs
  LeaseLost                 another worker took the nonce over; nothing sent: send again
RpcError                    a node or API call failed
  RpcTransientError         timeouts, 5xx, resets: safe to retry (reads) or re-send bytes
  RpcPermanentError         the request itself is wrong; retrying will not help
RateLimited                 the venue asked us to slow down (``retry_after`` seconds)
AuthenticationError         bad key, bad signature, missing permission
Rejected                    the venue refused the operation; it never executed
Reverted                    mined/executed and failed; ``reason`` is the decoded reason
SlippageExceeded            the price moved beyond the allowed slippage; nothing sent
NotFound                    the venue does not know the operation/object
UnknownOutcome              we cannot tell yet whether it executed: reconcile, never
                            retry blindly
DevnetError                 the local devnet (Anvil, world deployment) failed
JournalError                the durable store could not read or write
  JournalMismatch           it records history this node lacks (a reset node, another
                            chain with the same id): use a journal of this chain
==========================  ===========================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the operation modules import this one
    from chainops.core.operation import Operation
    from chainops.core.order import Order
    from chainops.core.transaction import Transaction


class ChainopsError(Exception):
    """Root of every error chainops raises on purpose."""


class ValidationError(ChainopsError, ValueError):
    """Bad input, rejected before anything was sent."""


class InvalidAmount(ValidationError):
    """An amount that is negative, NaN, infinite or has too many decimals."""


class InvalidIdentifier(ValidationError):
    """A malformed identifier: address, hash, trading pair, client id."""


class InvalidTransition(ChainopsError):
    """A state transition that the operation's state table forbids."""

    kind: str
    source: str
    target: str

    def __init__(self, kind: str, source: str, target: str) -> None:
        super().__init__(f"{kind}: invalid transition {source} -> {target}")
        self.kind = kind
        self.source = source
        self.target = target


class ConfigurationError(ChainopsError):
    """The toolkit is set up wrongly: missing binary, wrong chain, unknown platform."""


class InsufficientFunds(ChainopsError):
    """The account cannot pay for the operation."""


class NonceError(ChainopsError):
    """A nonce conflict: too low, a gap, or used outside this process."""


class LeaseLost(NonceError):
    """Another worker took over this nonce's lease: nothing was broadcast; send again."""


class RpcError(ChainopsError):
    """A node or API call failed."""


class RpcTransientError(RpcError):
    """Timeouts, HTTP 5xx, connection resets: the call may be retried."""


class RpcPermanentError(RpcError):
    """The request is wrong in itself; retrying cannot help."""


class RateLimited(RpcTransientError):
    """The venue asked us to slow down."""

    retry_after: float | None

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthenticationError(ChainopsError):
    """Bad credentials, bad signature or missing permission."""


class Rejected(ChainopsError):
    """The venue refused the operation; it never executed."""


class Reverted(ChainopsError):
    """The operation executed and failed (an EVM revert); ``reason`` is decoded."""

    reason: str | None

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class SlippageExceeded(ChainopsError):
    """The price moved past the allowed slippage; nothing was sent.

    ``order`` is the swap order it refused (recorded FAILED), once one exists.
    """

    order: Order | None

    def __init__(self, message: str, *, order: Order | None = None) -> None:
        super().__init__(message)
        self.order = order


class NotFound(ChainopsError):
    """The venue does not know the operation or object."""


class UnknownOutcome(ChainopsError):
    """It is not known yet whether the operation executed; reconcile, never retry blindly.

    ``operation`` is the order or transaction concerned, when there is one: it
    stays tracked, so the caller can wait on it again or reconcile it.
    """

    operation: Operation[Any] | None

    def __init__(self, message: str, *, operation: Operation[Any] | None = None) -> None:
        super().__init__(message)
        self.operation = operation

    @property
    def transaction(self) -> Transaction | None:
        """The transaction concerned, if the operation is one."""
        from chainops.core.transaction import Transaction  # here: that module imports this one

        return self.operation if isinstance(self.operation, Transaction) else None

    @property
    def order(self) -> Order | None:
        """The order concerned, if the operation is one."""
        from chainops.core.order import Order  # here: that module imports this one

        return self.operation if isinstance(self.operation, Order) else None


class DevnetError(ChainopsError):
    """The local devnet (Anvil process or world deployment) failed."""


class JournalError(ChainopsError):
    """The durable journal could not read or write."""


class JournalUnavailable(JournalError):
    """The journal's database server cannot be reached: nothing is sent until it answers."""


class JournalSchemaError(JournalError):
    """The journal's schema is newer than this code (upgrade chainops) or unreadable."""


class JournalMismatch(JournalError, ConfigurationError):
    """The journal records history the node does not have: a reset node, or another
    chain with the same id. Refused before anything is sent or replayed."""


__all__ = [
    "AuthenticationError",
    "ChainopsError",
    "ConfigurationError",
    "DevnetError",
    "InsufficientFunds",
    "InvalidAmount",
    "InvalidIdentifier",
    "InvalidTransition",
    "JournalError",
    "JournalMismatch",
    "JournalSchemaError",
    "JournalUnavailable",
    "LeaseLost",
    "NonceError",
    "NotFound",
    "RateLimited",
    "Rejected",
    "Reverted",
    "RpcError",
    "RpcPermanentError",
    "RpcTransientError",
    "SlippageExceeded",
    "UnknownOutcome",
    "ValidationError",
]
